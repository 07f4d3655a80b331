"""A connection the database dropped (a restart) costs at most one clear 503, never a 500.

PostgreSQL connections are not tested before each use (config.engine_options): a request finds a dropped
one when its first statement fails. Ending the app's pooled connections with `pg_terminate_backend` is what
a restart does to them. SQLite has no server to restart.
"""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import BACKENDS
from training.web import CONNECTION_LOST_MESSAGE

VERIFY_PATH = "/verify/7KQ2-M9XD-4HRT-B3VW"  # a well-formed serial: looked up, not found


@pytest.fixture(params=[backend for backend in BACKENDS if backend == "postgresql"])
def backend(request) -> str:
    """PostgreSQL only: these tests are not collected on SQLite rather than skipped there."""
    return request.param


@pytest.fixture
def postgresql_app(app):
    return app


def drop_the_apps_connections(app) -> int:
    """End every other connection to the test database, waiting until each has ended; returns how many."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            others = connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            ).all()
            for pid in others:
                connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            return len(others)
    finally:
        engine.dispose()


def test_a_signed_in_page_after_a_restart_is_served_on_a_new_one(postgresql_app, client, auth, make_user, course):
    auth.login(make_user())
    assert client.get("/courses/test-course").status_code == 200
    assert drop_the_apps_connections(postgresql_app) >= 1
    response = client.get("/courses/test-course")
    assert response.status_code == 200
    assert "Test Course" in response.get_data(as_text=True)


def test_a_page_without_sign_in_after_a_restart_says_try_again_and_the_next_request_works(postgresql_app, client):
    before = client.get(VERIFY_PATH)
    assert before.status_code < 500
    assert drop_the_apps_connections(postgresql_app) >= 1
    lost = client.get(VERIFY_PATH)
    assert lost.status_code == 503
    assert "Retry-After" in lost.headers
    assert CONNECTION_LOST_MESSAGE in lost.get_data(as_text=True)
    again = client.get(VERIFY_PATH)
    assert again.status_code == before.status_code
    assert CONNECTION_LOST_MESSAGE not in again.get_data(as_text=True)
