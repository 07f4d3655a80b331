"""Debug mode only in development, and an unhandled exception answered without its details (ASVS 13.4.2)."""

import logging

import pytest

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
