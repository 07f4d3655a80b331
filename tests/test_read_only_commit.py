"""A request whose transaction only read ends it with COMMIT; one that wrote and did not commit still rolls back.

psycopg forgets its prepared statements at every ROLLBACK, so the pages that only read end their transaction
with COMMIT (training/session_end.py). Nothing a request did not commit may be kept by that: not a statement
that wrote, not an ORM change never flushed.
"""

import pytest
from flask import make_response
from sqlalchemy import event, select, update

from training.auth.models import User
from training.extensions import db


@pytest.fixture
def transaction_ends(app):
    """The engine's commits and rollbacks while the test runs, in order."""
    ends: list[str] = []
    with app.app_context():
        engine = db.engine
    listeners = {name: (lambda *_args, name=name: ends.append(name)) for name in ("commit", "rollback")}
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    yield ends
    for name, listener in listeners.items():
        event.remove(engine, name, listener)


@pytest.fixture
def refusing_views(app):
    """Two views that change the signed-in person's name and answer 400 without committing: one with an UPDATE
    statement, one with an ORM change that is never flushed."""

    def rename_with_a_statement():
        db.session.execute(update(User).where(User.id == _person_id()).values(name="Renamed"))
        return make_response("refused", 400)

    def rename_in_memory():
        db.session.execute(select(User).where(User.id == _person_id())).scalar_one().name = "Renamed"
        return make_response("refused", 400)

    app.add_url_rule("/test/rename-with-a-statement", "rename_with_a_statement", rename_with_a_statement)
    app.add_url_rule("/test/rename-in-memory", "rename_in_memory", rename_in_memory)
    return app


def _person_id() -> int:
    from flask_login import current_user

    return current_user.id


def _name_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(User.name).where(User.id == user_id))


def test_a_page_that_only_reads_ends_with_commit(app, client, auth, make_user, course, transaction_ends):
    auth.login(make_user())
    client.get("/courses/test-course")
    transaction_ends.clear()
    assert client.get("/courses/test-course").status_code == 200
    assert transaction_ends == ["commit"]


@pytest.mark.parametrize("path", ["/test/rename-with-a-statement", "/test/rename-in-memory"])
def test_a_change_a_request_did_not_commit_is_not_kept(refusing_views, client, auth, make_user, path):
    person = make_user()
    auth.login(person)
    before = _name_of(refusing_views, person.id)
    assert client.get(path).status_code == 400
    assert _name_of(refusing_views, person.id) == before != "Renamed"
