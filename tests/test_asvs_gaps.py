"""ASVS 5.0 requirements that docs/security.md lists and no other test showed, through HTTP and the CLI."""

import hashlib

import pytest
from flask.json.tag import TaggedJSONSerializer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tests.api_fixtures import bearer, create_token_in_ui
from tests.conftest import Auth
from training import create_app
from training.extensions import db

HTTPS = "https://training.example.org"
SHARED_KEYS = ("SQLALCHEMY_DATABASE_URI", "CONTENT_MODULES_DIR", "CONTENT_QUIZZES_DIR", "CERTIFICATE_STORAGE_DIR")


@pytest.fixture
def sibling(app):
    """Build another app on the `app` fixture's database with other settings (production by default)."""
    made = []

    def build(**overrides):
        other = create_app(
            {"TESTING": True, "SECRET_KEY": "test secret key", "MFA_REQUIRED": False}
            | {key: app.config[key] for key in SHARED_KEYS}
            | overrides
        )
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def security_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "training.security" and r.levelname == "WARNING"]


# --- V3.4 Browser security headers --------------------------------------------------------------------


def test_every_kind_of_response_carries_the_browser_security_headers(sibling, course):
    """ASVS 3.4.1, 3.4.3, 3.4.4, 3.4.6: pages, JSON, static files, errors and redirects alike."""
    client = sibling().test_client()
    responses = {
        "page": client.get("/login", base_url=HTTPS),
        "redirect": client.get("/transcript", base_url=HTTPS),
        "not found": client.get("/no/such/page", base_url=HTTPS),
        "wrong method": client.get("/logout", base_url=HTTPS),
        "static file": client.get("/static/app.css", base_url=HTTPS),
        "json": client.get("/api/v1/openapi.json", base_url=HTTPS),
        "json error": client.get("/api/v1/compliance", base_url=HTTPS),
    }
    assert [r.status_code for r in responses.values()] == [200, 302, 404, 405, 200, 200, 401]
    for kind, response in responses.items():
        policy = csp(response)
        assert policy["object-src"] == "'none'", kind
        assert policy["base-uri"] == "'none'", kind
        assert policy["frame-ancestors"] == "'none'", kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", kind
        response.close()


# --- V2.4 Anti-automation ------------------------------------------------------------------------------


def test_costly_downloads_are_limited_per_person(app, client, auth, make_user, caplog):
    """ASVS 2.4.1, 15.2.2: exports, packets and certificate ZIPs share one budget per account."""
    app.config["EXPORT_RATE_LIMIT"] = "3 per minute"
    auth.login(make_user(role="hr"))
    downloads = ["/compliance/export.csv", "/certificates/export.zip", "/compliance/export.xlsx"]
    for path in downloads:
        with client.get(path) as response:
            assert response.status_code == 200, path
    assert client.get("/compliance/packet").status_code == 200, "the packet form itself costs nothing"
    refused = client.get("/compliance/export.csv")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "Too many requests" in refused.get_data(as_text=True)
    assert any(line.startswith("rate_limited ") for line in security_lines(caplog))
    other = app.test_client()
    Auth(other).login(make_user(role="hr"))
    assert other.get("/compliance/export.csv").status_code == 200, "another person has a budget of their own"


# --- V4.1 Generic web service security ---------------------------------------------------------------


def test_the_api_refuses_plain_http_instead_of_redirecting(app, sibling, make_user, caplog):
    """ASVS 4.1.2: only pages for people redirect to HTTPS; an API client over HTTP gets an error."""
    token = create_token_in_ui(app, make_user(role="hr").email)
    client = sibling().test_client()
    plain = client.get("/api/v1/compliance", base_url="http://training.example.org", headers=bearer(token))
    assert plain.status_code == 403 and "Location" not in plain.headers
    assert plain.json["error"]["code"] == "https_required"
    assert any(line.startswith("https_required ") for line in security_lines(caplog))
    assert client.get("/api/v1/compliance", base_url=HTTPS, headers=bearer(token)).status_code == 200
    page = client.get("/login", base_url="http://training.example.org")
    assert page.status_code == 302 and page.headers["Location"] == "https://training.example.org/login"


# --- V16.3 Security events ----------------------------------------------------------------------------


def test_a_form_without_a_valid_csrf_token_is_logged(client, caplog):
    """ASVS 16.3.3: an attempt to get round the CSRF check leaves a line for the log processor."""
    response = client.post("/login", data={"email": "a@example.org", "password": "whatever it is"})
    assert response.status_code == 400
    (line,) = security_lines(caplog)
    assert line.startswith('csrf_refused method="POST" path="/login" ip="127.0.0.1" reason=')
    assert "whatever it is" not in line, "form contents are never logged"


def test_reaching_a_rate_limit_is_logged_without_the_key(app, client, caplog):
    """ASVS 16.3.3: anti-automation refusals are logged, naming the limit but not the client's key."""
    app.config["VERIFY_RATE_LIMIT"] = "2 per minute"
    statuses = [client.get("/verify/0000-0000-0000-0000").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    (line,) = security_lines(caplog)
    assert line == 'rate_limited method="GET" path="/verify/0000-0000-0000-0000" ip="127.0.0.1" limit="2 per 1 minute"'


def test_a_line_break_in_a_logged_value_cannot_forge_a_second_line(client, caplog):
    """ASVS 16.4.1: logged values are JSON-quoted, so control characters stay inside one line."""
    assert client.post("/courses/x%0aforged_event%20ip=10.0.0.1/quiz", data={}).status_code == 400
    (line,) = security_lines(caplog)
    assert "\n" not in line and 'path="/courses/x\\nforged_event ip=10.0.0.1/quiz"' in line


# --- V11.4 Hashing -------------------------------------------------------------------------------------


def session_serializer(digest):
    signer = {"key_derivation": "hmac", "digest_method": digest}
    return URLSafeTimedSerializer("test secret key", "cookie-session", TaggedJSONSerializer(), signer_kwargs=signer)


def test_the_session_cookie_is_signed_with_hmac_sha256(client, auth, make_user):
    """ASVS 11.4.1: SHA-1 is not approved for HMAC; the cookie verifies with SHA-256 and not with SHA-1."""
    auth.login(make_user())
    cookie = client.get_cookie("session").value
    assert session_serializer(hashlib.sha256).loads(cookie)["_user_id"]
    with pytest.raises(BadSignature):
        session_serializer(hashlib.sha1).loads(cookie)
    forged = session_serializer(hashlib.sha1).dumps({"_user_id": "x", "_fresh": True})
    client.set_cookie("session", forged)
    assert client.get("/transcript").status_code == 302, "a cookie signed the old way signs nobody in"


# --- V16.5 Error handling ------------------------------------------------------------------------------


def test_rate_limits_still_hold_while_redis_is_unreachable(sibling):
    """ASVS 16.5.2: with the shared counter store down, limits are counted in memory, not turned into 500s."""
    nothing_listens = "redis://127.0.0.1:1/0"
    app = sibling(TRAINING_ENV="development", RATELIMIT_STORAGE_URI=nothing_listens, VERIFY_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert [client.get("/verify/0000-0000-0000-0000").status_code for _ in range(3)] == [404, 404, 429]


# --- V4.1 (continued) ---------------------------------------------------------------------------------


def test_text_responses_name_their_charset(client, auth, make_user, course):
    """ASVS 4.1.1: text bodies say UTF-8, once; JSON is application/json (UTF-8 by definition, RFC 8259)."""
    auth.login(make_user(role="admin"))
    assert client.get("/").content_type == "text/html; charset=utf-8"
    with client.get("/static/app.css") as stylesheet:
        assert stylesheet.content_type == "text/css; charset=utf-8"
    downloads = {
        "/compliance/export.csv": "text/csv; charset=utf-8",
        "/authoring/courses/test-course/export.gift": "text/plain; charset=utf-8",
        "/authoring/courses/test-course/export.yaml": "application/yaml; charset=utf-8",
    }
    for path, content_type in downloads.items():
        with client.get(path) as download:
            assert download.content_type == content_type, path
    assert client.get("/api/v1/openapi.json").content_type == "application/json"
    assert client.get("/no/such/page").content_type == "text/html; charset=utf-8"
