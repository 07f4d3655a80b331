"""ASVS 5.0 requirements that docs/security.md lists and no other test showed, through HTTP and the CLI."""

import pytest

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
