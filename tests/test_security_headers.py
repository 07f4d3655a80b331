"""Cookies and response headers in production and in development (ASVS 3.3, 3.4, 14.3.2)."""

import re

import pytest

from tests.conftest import PASSWORD
from training import create_app
from training.extensions import db

HTTPS = "https://training.example.org"


@pytest.fixture
def production_app(app):
    """Makes apps on the same database as `app`, configured as production (the default TRAINING_ENV)."""
    keys = ("SQLALCHEMY_DATABASE_URI", "CONTENT_MODULES_DIR", "CONTENT_QUIZZES_DIR", "CERTIFICATE_STORAGE_DIR")
    made = []

    def make(**settings):
        production_app = create_app(
            {"TESTING": True, "SECRET_KEY": "test secret key", "MFA_REQUIRED": False}
            | {key: app.config[key] for key in keys}
            | settings
        )
        assert production_app.config["TRAINING_ENV"] == "production"
        made.append(production_app)
        return production_app

    yield make
    for production_app in made:
        with production_app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def production(production_app):
    """Production without an https PUBLIC_BASE_URL (the default is the development address)."""
    return production_app()


def sign_in(client, user, base_url):
    token = csrf_token_at(client, base_url)
    return client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        base_url=base_url,
        headers={"Referer": f"{base_url}/login"},  # over HTTPS, Flask-WTF checks the referrer too
    )


def csrf_token_at(client, base_url):
    html = client.get("/login", base_url=base_url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_production_redirects_plain_http_to_https(production):
    response = production.test_client().get("/login", base_url="http://training.example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://training.example.org/login"


@pytest.mark.parametrize(
    ("public_base_url", "redirected_to"),
    [
        ("https://training.example.org", "https://training.example.org"),
        ("https://hospital.example/training/", "https://hospital.example/training"),
    ],
)
def test_the_https_redirect_goes_to_the_public_base_url_whatever_host_the_client_sends(
    production_app, public_base_url, redirected_to
):
    """ASVS 3.7.2, 4.1.2: Talisman alone rebuilt the request's own URL, so `Host: evil.example` sent
    the person to https://evil.example. The path and query are kept, under PUBLIC_BASE_URL's path."""
    client = production_app(PUBLIC_BASE_URL=public_base_url).test_client()
    for options in ({"base_url": "http://evil.example"}, {"headers": {"Host": "evil.example:8080"}}):
        response = client.get("/courses/fire-safety?tab=modules&next=%2Fhome", **options)
        assert response.status_code == 302, options
        assert response.headers["Location"] == f"{redirected_to}/courses/fire-safety?tab=modules&next=%2Fhome"
    assert client.get("/", base_url="http://evil.example").headers["Location"] == f"{redirected_to}/"
    healthz = client.get("/healthz", base_url="http://evil.example")
    assert healthz.status_code in (200, 503) and "Location" not in healthz.headers, "/healthz is exempt"
    api = client.get("/api/v1/compliance", base_url="http://evil.example")
    assert api.status_code == 403 and api.json["error"]["code"] == "https_required"
    forwarded = client.get("/login", base_url="http://evil.example", headers={"X-Forwarded-Proto": "https"})
    assert forwarded.status_code == 200, "X-Forwarded-Proto is honoured as documented (4.1.3, Decisions)"


def test_without_an_https_public_base_url_an_invalid_host_is_refused_not_redirected(production):
    """Without a configured address the redirect keeps the request's host, but one that is not a
    host name (Werkzeug reads it as empty) gets a 400 rather than a redirect to `https:///login`."""
    assert production.config["PUBLIC_BASE_URL"].startswith("http://")
    client = production.test_client()
    for host in ("evil.example/path", "bad host", "evil.example:99999"):
        response = client.get("/login", headers={"Host": host})
        assert response.status_code == 400, host
        assert "Location" not in response.headers
    assert client.get("/login", headers={"Host": "training.example.org"}).headers["Location"] == (
        "https://training.example.org/login"
    )


def test_production_session_cookie_is_host_prefixed_secure_httponly_lax(production, make_user):
    client = production.test_client()
    response = sign_in(client, make_user(), HTTPS)
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes
    assert "domain" not in attributes, "a __Host- cookie may not name a domain"
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert client.get("/transcript", base_url=HTTPS).status_code == 200, "the __Host- cookie signs the user in"


def test_production_headers(production):
    response = production.test_client().get("/login", base_url=HTTPS)
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]


def test_pages_with_personal_records_are_not_cached(production, make_user):
    client = production.test_client()
    sign_in(client, make_user(), HTTPS)
    for path in ("/", "/transcript", "/certificates"):
        assert client.get(path, base_url=HTTPS).headers["Cache-Control"] == "no-store", path


def test_the_site_icon_is_public_and_cached_for_a_week_without_a_session(production, make_user):
    client = production.test_client()
    for signed_in in (False, True):
        if signed_in:
            sign_in(client, make_user(), HTTPS)
        response = client.get("/favicon.ico", base_url=HTTPS)
        assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
        assert response.data.startswith(b"\x00\x00\x01\x00")  # an ICO file
        assert response.headers["Cache-Control"] == "public, max-age=604800"
        assert "Set-Cookie" not in response.headers
        response.close()


def test_development_serves_plain_http_with_an_ordinary_cookie(app, client, make_user, auth):
    response = auth.login(make_user())
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_an_unknown_environment_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("TRAINING_ENV", "staging")
    with pytest.raises(ValueError, match="TRAINING_ENV must be production or development"):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_https_form_posts_from_another_site_are_refused(production, make_user):
    client = production.test_client()
    user = make_user()
    token = csrf_token_at(client, HTTPS)
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        base_url=HTTPS,
        headers={"Referer": "https://evil.example.net/login"},
    )
    assert response.status_code == 400


def test_csrf_token_is_required_in_production(production, make_user):
    client = production.test_client()
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, base_url=HTTPS)
    assert response.status_code == 400
    assert "__Host-session=" not in " ".join(response.headers.getlist("Set-Cookie"))
