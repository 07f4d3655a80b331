"""Debug mode only in development, and an unhandled exception answered without its details (ASVS 13.4.2)."""

import logging
import re

import pytest

from tests.conftest import PASSWORD
from training import create_app

SETTINGS = {"SECRET_KEY": "test secret key", "SQLALCHEMY_DATABASE_URI": "sqlite://", "MFA_REQUIRED": False}


@pytest.mark.parametrize("environment", ["production", None])
def test_flask_debug_is_refused_outside_development(monkeypatch, environment):
    """None: TRAINING_ENV unset, which means production."""
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.delenv("TRAINING_ENV", raising=False)
    settings = SETTINGS if environment is None else SETTINGS | {"TRAINING_ENV": environment}
    with pytest.raises(RuntimeError, match="Debug mode is only allowed with TRAINING_ENV=development"):
        create_app(settings)


def test_debug_in_the_settings_is_refused_outside_development(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="Debug mode"):
        create_app(SETTINGS | {"TRAINING_ENV": "production", "DEBUG": True})


def test_development_may_run_the_debugger(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app(SETTINGS | {"TRAINING_ENV": "development"}).debug is True


def test_production_runs_without_debug_by_default(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app(SETTINGS | {"TRAINING_ENV": "production"})
    assert app.debug is False and app.testing is False


@pytest.fixture
def crashing_app(monkeypatch):
    """A production app (not testing, exceptions not propagated) with routes that raise."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app(SETTINGS | {"TRAINING_ENV": "production", "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    def crash():
        raise RuntimeError("secret detail: /srv/training/instance/key at 0x7f3a")

    app.add_url_rule("/crash", "crash", crash)
    app.add_url_rule("/api/v1/crash", "api_crash", crash)
    return app


def test_an_unhandled_exception_shows_the_generic_page_without_a_traceback(crashing_app, caplog):
    caplog.set_level(logging.ERROR)
    response = crashing_app.test_client().get("/crash", base_url="https://localhost")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "Go to My training" in page
    assert "secret detail" not in page and "Traceback" not in page and "RuntimeError" not in page
    assert "secret detail" in caplog.text, "the exception is logged for the operators"


def test_an_unhandled_exception_in_the_api_is_the_json_error_shape(crashing_app):
    response = crashing_app.test_client().get("/api/v1/crash", base_url="https://localhost")
    assert response.status_code == 500
    assert response.json == {"error": {"code": "internal_error", "message": response.json["error"]["message"]}}
    assert "secret detail" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "referrer", ["https://[::1/", "https://127.0.0.1:8055.evil.example/", "https://localhost:99999/"]
)
@pytest.mark.parametrize(("path", "signed_in"), [("/login", False), ("/logout", True), ("/account/password", True)])
def test_a_malformed_referrer_on_an_https_form_is_a_refused_csrf_check_not_a_500(
    app, make_user, caplog, referrer, path, signed_in
):
    """Flask-WTF's origin check raised ValueError on these Referer headers (a 500); now they get
    the 400 of any refused CSRF check, and the security log records it."""
    client = app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/"}}
    if signed_in:
        data = {"email": make_user().email, "password": PASSWORD, "csrf_token": token_on(client, "/login", https)}
        assert client.post("/login", data=data, **https).status_code == 302
    token = token_on(client, "/login" if path == "/login" else "/account/password", https)
    with caplog.at_level(logging.WARNING):
        response = client.post(
            path, data={"csrf_token": token}, base_url="https://localhost", headers={"Referer": referrer}
        )
    assert response.status_code == 400
    assert "This form has expired or was not sent by this site." in response.get_data(as_text=True)
    assert any("csrf_refused" in record.getMessage() for record in caplog.records)


def token_on(client, path: str, request: dict) -> str:
    page = client.get(path, **request).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
