"""Production serving: `/healthz`, request ids, JSON-lines logs, and gunicorn started as `make serve` starts it."""

import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from training import create_app
from training.audit.models import AuditEvent
from training.extensions import db
from training.health import expected_migration_heads
from training.serving import startup_problems

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HEAD = sorted(expected_migration_heads())[0]
MB = 1024 * 1024


@pytest.fixture
def stamp(app):
    """Record a schema version as `flask db stamp` would; the table is dropped afterwards (PostgreSQL keeps it)."""

    def stamp_as(revision):
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("DELETE FROM alembic_version"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})

    yield stamp_as
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_healthz_is_ok_when_the_database_is_at_the_code_s_migration(client, stamp):
    stamp(HEAD)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "checks": {
            "database": {"ok": True, "message": "answers"},
            "migrations": {"ok": True, "message": f"at {HEAD}"},
            "storage": {"ok": True, "message": "writable"},
        },
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_fails_when_the_database_is_behind_and_says_what_to_run(client, stamp):
    stamp("0005")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "failing"
    assert response.json["checks"]["migrations"] == {
        "ok": False,
        "message": f"the database is at 0005, this code expects {HEAD}: run `flask db upgrade`",
    }
    assert response.json["checks"]["database"]["ok"] is True


def test_healthz_fails_on_a_database_never_migrated(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no schema version" in response.json["checks"]["migrations"]["message"]


def test_healthz_fails_when_storage_cannot_be_written_and_does_not_name_the_path(app, client, stamp, tmp_path):
    stamp(HEAD)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app.config["CERTIFICATE_STORAGE_DIR"] = str(blocker / "certificates")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"] == {"ok": False, "message": "cannot write to CERTIFICATE_STORAGE_DIR"}
    assert str(tmp_path) not in response.get_data(as_text=True)


def test_healthz_fails_when_storage_has_less_free_space_than_the_minimum(app, client, stamp):
    """A disk nearly full fails the check before writes start failing, with the figures and no path.
    The minimum is set above the disk's whole size, so the real free space is always below it."""
    stamp(HEAD)
    folder = Path(app.config["CERTIFICATE_STORAGE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    minimum = shutil.disk_usage(folder).total // MB + 1
    app.config["STORAGE_MIN_FREE_MB"] = minimum
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "failing"
    storage = response.json["checks"]["storage"]
    assert storage["ok"] is False
    figures = re.fullmatch(
        rf"less free space than the {minimum} MB minimum: CERTIFICATE_STORAGE_DIR has (\d+) MB free, "
        r"STAFF_IMPORT_DIR has \d+ MB free, AUTHORING_IMPORT_DIR has \d+ MB free",
        storage["message"],
    )
    assert figures, storage["message"]
    assert abs(int(figures.group(1)) - shutil.disk_usage(folder).free // MB) < 1024, "the real free space"
    assert str(folder) not in response.get_data(as_text=True)
    app.config["STORAGE_MIN_FREE_MB"] = 0
    assert client.get("/healthz").json["checks"]["storage"] == {"ok": True, "message": "writable"}


def test_the_storage_free_space_minimum_comes_from_the_environment_and_is_checked(monkeypatch, tmp_path):
    settings = _isolated_settings(tmp_path)
    assert create_app(settings).config["STORAGE_MIN_FREE_MB"] == 100
    monkeypatch.setenv("STORAGE_MIN_FREE_MB", "2048")
    assert create_app(settings).config["STORAGE_MIN_FREE_MB"] == 2048
    for bad in ("lots", "-1", "1.5", "", "2000000"):
        monkeypatch.setenv("STORAGE_MIN_FREE_MB", bad)
        with pytest.raises(ValueError, match="STORAGE_MIN_FREE_MB must be a whole number"):
            create_app(settings)


def test_healthz_writes_nothing_sets_no_cookie_and_needs_no_sign_in(app, client, stamp):
    stamp(HEAD)
    with app.app_context():
        events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for method in (client.get, client.head):
        response = method("/healthz")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    storage = Path(app.config["CERTIFICATE_STORAGE_DIR"])
    assert not [p for p in storage.iterdir() if p.name.startswith(".healthz-")]


def test_healthz_answers_plain_http_in_production_where_every_page_redirects(tmp_path):
    app = create_app(_isolated_settings(tmp_path) | {"TRAINING_ENV": "production"})
    client = app.test_client()
    assert client.get("/login").status_code == 302
    assert client.get("/healthz").status_code in (200, 503)


def test_healthz_reports_a_database_that_does_not_answer_without_its_error(tmp_path, caplog):
    settings = _isolated_settings(tmp_path) | {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"
    }
    app = create_app(settings)
    with caplog.at_level(logging.ERROR, logger="training.health"):
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == {"ok": False, "message": "the database did not answer"}
    assert response.json["checks"]["migrations"]["ok"] is False
    assert "127.0.0.1:9" not in response.get_data(as_text=True)
    assert "the database did not answer" in caplog.text  # the detail is in the log instead


def test_every_response_carries_a_request_id_and_a_proxy_s_id_is_kept(client):
    own = client.get("/login").headers["X-Request-ID"]
    assert len(own) == 32 and own != client.get("/login").headers["X-Request-ID"]
    assert client.get("/login", headers={"X-Request-ID": "lb-7f3a9c21"}).headers["X-Request-ID"] == "lb-7f3a9c21"


@pytest.mark.parametrize("offered", ["short", "x" * 65, "bad id with spaces", "line\u2028break-0001"])
def test_a_request_id_that_does_not_look_like_one_is_replaced(client, offered):
    returned = client.get("/login", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    assert returned != offered and len(returned) == 32


def test_the_error_page_shows_the_reference_to_quote(client):
    response = client.get("/no-such-page", headers={"X-Request-ID": "ref-12345678"})
    assert response.status_code == 404
    assert "reference <code>ref-12345678</code>" in response.get_data(as_text=True)


@pytest.fixture
def json_log_app(tmp_path):
    app = create_app(_isolated_settings(tmp_path) | {"LOG_FORMAT": "json"})
    yield app
    _remove_json_handlers()


def _remove_json_handlers():
    for logger in (logging.getLogger("training"), logging.getLogger("flask-limiter")):
        for handler in [h for h in logger.handlers if h.get_name() == "training-json-lines"]:
            logger.removeHandler(handler)


def test_losing_redis_is_logged_as_a_json_line(json_log_app):
    limiter_log = logging.getLogger("flask-limiter")
    handler = next(h for h in limiter_log.handlers if h.get_name() == "training-json-lines")
    handler.setStream(written := io.StringIO())
    limiter_log.warning("Rate limit storage unreachable - falling back to in-memory storage")
    line = json.loads(written.getvalue())
    assert (line["logger"], line["level"]) == ("flask-limiter", "warning")
    assert "falling back" in line["message"]


def test_app_logs_are_json_lines_carrying_the_request_id(json_log_app):
    handler = next(h for h in logging.getLogger("training").handlers if h.get_name() == "training-json-lines")
    handler.setStream(written := io.StringIO())
    client = json_log_app.test_client()
    response = client.post("/login", data={"email": "a@example.org"}, headers={"X-Request-ID": "req-json-0001"})
    assert response.status_code == 400  # no CSRF token: a security event is logged
    event = next(json.loads(line) for line in written.getvalue().splitlines() if "training.security" in line)
    assert event["request_id"] == "req-json-0001"
    assert event["level"] == "warning"
    assert event["message"].startswith("csrf_refused")


def test_log_format_defaults_to_json_in_production_and_text_in_development(tmp_path):
    settings = _isolated_settings(tmp_path)
    assert create_app(settings | {"TRAINING_ENV": "production"}).config["LOG_FORMAT"] == "json"
    assert create_app(settings).config["LOG_FORMAT"] == "text"
    with pytest.raises(ValueError, match="LOG_FORMAT must be json or text"):
        create_app(settings | {"LOG_FORMAT": "xml"})
    _remove_json_handlers()


def test_production_serving_needs_a_shared_secret_key_and_postgresql():
    production = {"TRAINING_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite:///x.sqlite3"}
    problems = startup_problems(production, environ={})
    assert len(problems) == 2
    assert problems[0].startswith("SECRET_KEY is not set")
    assert "postgresql://" in problems[1]
    ready = production | {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/training"}
    assert startup_problems(ready, environ={"SECRET_KEY": "k" * 64}) == []
    assert startup_problems(production | {"TRAINING_ENV": "development"}, environ={}) == []


def _isolated_settings(tmp_path) -> dict:
    return {
        "SECRET_KEY": "serving test key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'serving.sqlite3'}",
        "CERTIFICATE_STORAGE_DIR": str(tmp_path / "certificates"),
        "STAFF_IMPORT_DIR": str(tmp_path / "staff-imports"),
        "AUTHORING_IMPORT_DIR": str(tmp_path / "question-imports"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "TRAINING_ENV": "development",
    }


# Gunicorn itself, started with the project's gunicorn.conf.py as `make serve` does.


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn_env(tmp_path, port: int) -> dict:
    return os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "CERTIFICATE_STORAGE_DIR": str(tmp_path / "certificates"),
        "STAFF_IMPORT_DIR": str(tmp_path / "staff-imports"),
        "AUTHORING_IMPORT_DIR": str(tmp_path / "question-imports"),
        "SECRET_KEY": "gunicorn test key",
        "TRAINING_ENV": "development",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "FLASK_APP": "app.py",
        "PYTHONWARNINGS": "ignore",
    }


def _gunicorn(env) -> list[str]:
    return [str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py"]


def test_gunicorn_refuses_to_start_on_a_database_that_is_not_upgraded(tmp_path):
    env = _gunicorn_env(tmp_path, _free_port())
    result = subprocess.run(_gunicorn(env), cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any("cannot serve: migrations: the database has no schema version" in e["message"] for e in errors)


def test_gunicorn_serves_the_app_with_json_access_lines_carrying_the_request_id(tmp_path):
    port = _free_port()
    env = _gunicorn_env(tmp_path, port)
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, "db", "upgrade"], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(_gunicorn(env), cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz")
        assert health["status"] == "ok"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/login?next=/secret", headers={"X-Request-ID": "e2e-req-0042"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own server on loopback
            assert response.status == 200
            assert response.headers["X-Request-ID"] == "e2e-req-0042"
    finally:
        server.terminate()
        stdout, _ = server.communicate(timeout=30)
    access = [json.loads(line) for line in stdout.decode().splitlines() if line.startswith("{")]
    line = next(entry for entry in access if entry.get("request_id") == "e2e-req-0042")
    assert line["logger"] == "gunicorn.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/login", 200)
    assert "secret" not in json.dumps(line)  # no query string in the access log
    assert line["duration_ms"] > 0


def _wait_for(url: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own server on loopback
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
