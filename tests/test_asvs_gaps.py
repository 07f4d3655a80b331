"""ASVS 5.0 requirements that docs/security.md lists and no other test showed, through HTTP and the CLI."""

import hashlib
import ipaddress
import json
import re
import socket
import ssl
import stat
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask.json.tag import TaggedJSONSerializer
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from tests.api_fixtures import bearer, create_token_in_ui
from tests.conftest import PASSWORD, Auth, csrf_token
from tests.helpers import PLAIN_EMAIL_FIELDS, header_field_names, smtp_server
from training import create_app
from training.audit.models import AuditEvent
from training.auth.models import User
from training.authoring.transfer.bankfile import parse_yaml_bank
from training.config import load_config
from training.extensions import db
from training.mail import MailSettings, MailUnavailable, SmtpTransport, build_message

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


def session_serializer(digest, signed_at: datetime | None = None):
    """The app's session cookie format; `signed_at` makes cookies that claim to be signed then."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int((signed_at or datetime.now(UTC)).timestamp())

    options = {"key_derivation": "hmac", "digest_method": digest}
    return URLSafeTimedSerializer(
        "test secret key", "cookie-session", TaggedJSONSerializer(), signer=Signer, signer_kwargs=options
    )


# --- V1 Encoding and sanitization ---------------------------------------------------------------------


# Markup, quotes and an ampersand; line and paragraph separators are refused in names since 17.2
# (tests/test_staff.py), so they cannot reach a page or the API through a person's name.
HOSTILE_NAME = '<img src=x onerror=alert(1)> "Eve" & O\'Brien</script>'


def test_markup_in_a_name_is_escaped_on_pages(client, auth, make_user):
    """ASVS 1.2.1: Jinja escapes text for HTML wherever a page shows it."""
    auth.login(make_user(name=HOSTILE_NAME))
    html = client.get("/").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt; &#34;Eve&#34; &amp; O&#39;Brien&lt;/script&gt;" in html
    assert "<img src=x" not in html and "Brien</script>" not in html


def test_the_api_returns_any_text_intact_as_json(app, client, make_user):
    """ASVS 1.2.3: JSON is built by the serializer, so quotes, tags and ampersands stay data."""
    make_user(name=HOSTILE_NAME, employee_id="E9")
    token = create_token_in_ui(app, make_user(role="hr").email)
    response = client.get("/api/v1/people/E9/transcript", headers=bearer(token))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["data"]["name"] == HOSTILE_NAME


def test_search_text_is_data_not_sql(app, client, make_user):
    """ASVS 1.2.4: queries are built by SQLAlchemy with bound parameters; LIKE wildcards are escaped too."""
    make_user(name="Alice Adams", employee_id="E1")
    token = create_token_in_ui(app, make_user(role="hr").email)
    for text in ("' OR '1'='1", "%' --", "_", "%"):
        response = client.get("/api/v1/compliance", query_string={"q": text}, headers=bearer(token))
        assert response.status_code == 200 and response.json["meta"]["total"] == 0, text
    found = client.get("/api/v1/compliance", query_string={"q": "alice"}, headers=bearer(token))
    assert found.json["meta"]["total"] == 1


class Recording:
    """A mail server's view of what it received: envelope recipients and the message as sent."""

    def __init__(self):
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def mail_server():
    handler = Recording()
    with smtp_server(handler) as port:
        yield handler, MailSettings(server="127.0.0.1", port=port, use_tls=False, sender="t@example.org")


@pytest.mark.parametrize(
    ("name", "subject", "shown_name", "shown_subject"),
    [
        (
            "Eve\r\nBcc: everyone@example.net",
            "Reminder\nBcc: more@example.net",
            "Eve Bcc: everyone@example.net",
            "Reminder Bcc: more@example.net",
        ),
        (
            "Eve =?utf-8?q?=0D=0ABcc:_enc@evil.example?=",
            "Digest for =?utf-8?q?=0D=0ABcc:_enc@evil.example?=",
            "Eve =?utf-8?q?=0D=0ABcc:_enc@evil.example?=",
            "Digest for =?utf-8?q?=0D=0ABcc:_enc@evil.example?=",
        ),
        ('a"b', "Reminder", 'a"b', "Reminder"),
        ("<x@y>", "<x@y>, <z@y>", "<x@y>", "<x@y>, <z@y>"),
        ("Smith, John", "Team: Smith, John", "Smith, John", "Team: Smith, John"),
        ("Zoë =?utf-8?b?DQpCY2M6IHhAeQ==?=", "Zoë\u2028Bcc: x@y", "Zoë =?utf-8?b?DQpCY2M6IHhAeQ==?=", "Zoë Bcc: x@y"),
        (
            "Okafor, Nia (Charge Nurse); " * 7,
            "Digest =?x?q?y?= for Ward 7, " * 6,
            ("Okafor, Nia (Charge Nurse); " * 7).strip(),
            ("Digest =?x?q?y?= for Ward 7, " * 6).strip(),
        ),
    ],
    ids=["line-breaks", "encoded-words", "quote", "angle-brackets", "comma", "non-ascii", "long"],
)
def test_mail_headers_cannot_be_injected_through_a_name_or_subject(
    mail_server, name, subject, shown_name, shown_subject
):
    """ASVS 1.3.3, 1.3.11: a name or subject reaches the mail server as header text that decodes to
    itself on one line: line breaks removed, and encoded words (=?...?=), which a decoder would turn
    into line breaks, encoded in turn; never an extra header or recipient."""
    server, settings = mail_server
    message = build_message("Training <training@example.org>", name, "eve@example.org", subject, "Body text")
    with SmtpTransport(settings) as transport:
        transport.send(message)

    ((recipients, raw),) = server.received
    assert recipients == ["eve@example.org"]
    assert sorted(header_field_names(raw)) == PLAIN_EMAIL_FIELDS
    received = message_from_bytes(raw, policy=email_policy.default)
    (address,) = received["To"].addresses
    assert (address.display_name, address.addr_spec) == (shown_name, "eve@example.org")
    assert received["Subject"] == shown_subject
    assert all(len(line) <= 998 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n")), "RFC 5322 2.1.1"


def test_template_syntax_in_course_text_is_shown_as_text(client, auth, make_user, write_course, sync):
    """ASVS 1.3.7: author text is Markdown data, never compiled as a Jinja template."""
    course_dir = write_course()
    (course_dir / "01-intro.md").write_text("---\ntitle: Intro\n---\nTotal: {{ 7 * 7 }} {% if true %}yes{% endif %}\n")
    sync()
    auth.login(make_user())
    html = client.get("/courses/test-course/modules/intro").get_data(as_text=True)
    assert "Total: {{ 7 * 7 }} {% if true %}yes{% endif %}" in html
    assert "Total: 49" not in html


def test_yaml_tags_that_build_python_objects_are_refused(tmp_path):
    """ASVS 1.5.2: uploaded and shipped YAML is read with a safe loader; object tags are errors, never run."""
    marker = tmp_path / "ran"
    bank = f"- !!python/object/apply:os.system ['touch {marker}']\n"
    parsed = parse_yaml_bank(bank)
    assert parsed.questions == () and "not valid YAML" in parsed.problems[0].message
    assert not marker.exists()


# --- V2.4 Anti-automation -----------------------------------------------------------------------------


def test_costly_downloads_are_limited_per_person(app, client, auth, make_user, caplog):
    """ASVS 2.4.1, 15.2.2: exports, packets and certificate ZIPs share one budget per account."""
    app.config["EXPORT_RATE_LIMIT"] = "3 per minute"
    auth.login(make_user(role="hr"))
    with client.get("/compliance/export.csv") as response:
        assert response.status_code == 200
    token = csrf_token(client, "/")
    assert client.post("/compliance/export.xlsx", data={"csrf_token": token}).status_code == 303
    assert client.post("/certificates/export", data={"csrf_token": token}).status_code == 303
    assert client.get("/compliance/packet").status_code == 200, "the packet form itself costs nothing"
    refused = client.get("/compliance/export.csv")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "Too many requests" in refused.get_data(as_text=True)
    assert any(line.startswith("rate_limited ") for line in security_lines(caplog))
    other = app.test_client()
    Auth(other).login(make_user(role="hr"))
    assert other.get("/compliance/export.csv").status_code == 200, "another person has a budget of their own"


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


def test_no_origin_is_granted_cross_origin_access(app, client, make_user):
    """ASVS 3.4.2: no response names an allowed origin, so other sites cannot read answers in a browser."""
    token = create_token_in_ui(app, make_user(role="hr").email)
    evil = {"Origin": "https://evil.example.net"}
    responses = [
        client.get("/api/v1/compliance", headers=evil | bearer(token)),
        client.options("/api/v1/compliance", headers=evil | {"Access-Control-Request-Method": "GET"}),
        client.get("/verify/0000-0000-0000-0000.json", headers=evil),
        client.get("/login", headers=evil),
    ]
    for response in responses:
        granted = [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]
        assert not granted, response.request.path


# --- V4.1 Generic web service security ----------------------------------------------------------------


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


def test_forwarded_headers_count_only_from_trusted_proxies(app, sibling, make_user):
    """ASVS 4.1.3, 15.3.4: X-Forwarded-For is ignored without a proxy, and only the proxy's own entry
    counts behind one; audit records and rate limits use that address."""
    hr = make_user(role="hr")

    def recorded_address(some_app, name) -> str:
        client = some_app.test_client()
        client.environ_base.update({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9"})
        Auth(client).login(hr)
        client.post(
            "/settings/api-tokens", data={"name": name, "csrf_token": csrf_token(client, "/settings/api-tokens")}
        )
        with some_app.app_context():
            events = select(AuditEvent).where(AuditEvent.action == "api_token.created")
            return next(e.ip_address for e in db.session.execute(events).scalars() if e.details["name"] == name)

    assert recorded_address(app, "No proxy") == "10.0.0.2"
    behind_one = sibling(TRAINING_ENV="development", TRUSTED_PROXY_COUNT=1)
    assert recorded_address(behind_one, "One proxy") == "203.0.113.9", "the client's own entry is not believed"


# --- V5.4 File download -------------------------------------------------------------------------------


def test_download_file_names_are_made_by_the_server(client, auth, make_user):
    """ASVS 5.4.1, 5.4.2: a file name built from a person's record keeps only ASCII letters, digits, dashes."""
    person = make_user(name='Zoë "O\'Brien"; filename=evil.html', employee_id='E/7 "x"')
    auth.login(person)
    response = client.get(f"/compliance/people/{person.id}/transcript.pdf")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r"attachment; filename=transcript-e-7-x-zoe-o-brien-filename-evil-html-\d{4}-\d\d-\d\d\.pdf", disposition
    )


# --- V9 Self-contained tokens -------------------------------------------------------------------------


def test_a_session_cookie_older_than_its_lifetime_is_not_accepted(app, client, auth, make_user):
    """ASVS 9.2.1: the cookie's signed timestamp is checked against PERMANENT_SESSION_LIFETIME."""
    auth.login(make_user())
    contents = session_serializer(hashlib.sha256).loads(client.get_cookie("session").value)
    lifetime = app.permanent_session_lifetime
    recent = session_serializer(hashlib.sha256, datetime.now(UTC) - lifetime + timedelta(minutes=5)).dumps(contents)
    client.set_cookie("session", recent)
    assert client.get("/transcript").status_code == 200
    stale = session_serializer(hashlib.sha256, datetime.now(UTC) - lifetime - timedelta(minutes=5)).dumps(contents)
    client.set_cookie("session", stale)
    assert client.get("/transcript").status_code == 302


# --- V11 Cryptography ---------------------------------------------------------------------------------


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


def test_a_password_hash_with_weaker_settings_is_upgraded_at_sign_in(app, auth, make_user):
    """ASVS 11.2.2, 11.4.2: argon2id settings can be raised; old hashes move to them at the next sign-in."""
    app.config["PASSWORD_HASHING_FOR_TESTS_ONLY"] = False  # as in every app not made by the tests
    user = make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user.id).password_hash = weak
        db.session.commit()
    assert auth.login(user).status_code == 302
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and stored != weak


# --- V12.3 Service to service communication -----------------------------------------------------------


def self_signed(tmp_path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


class Accepting:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_the_mail_client_refuses_a_server_certificate_it_cannot_verify(tmp_path):
    """ASVS 12.3.1, 12.3.2: STARTTLS with certificate and host name checks; an untrusted server gets nothing."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Accepting(), hostname="127.0.0.1", port=port, tls_context=self_signed(tmp_path))
    controller.start()
    try:
        transport = SmtpTransport(MailSettings(server="127.0.0.1", port=port, use_tls=True, sender="t@example.org"))
        message = build_message("t@example.org", "Nia", "nia@example.org", "Reminder", "Body text")
        with pytest.raises(MailUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            transport.send(message)
    finally:
        controller.stop()


# --- V13 Configuration --------------------------------------------------------------------------------


def test_the_development_secret_key_is_random_and_private(tmp_path, monkeypatch):
    """ASVS 13.3.1, 11.5.1: SECRET_KEY comes from the environment; without it, a 256-bit random key is
    generated once into instance/ (never the source tree), readable by its owner only."""
    monkeypatch.setenv("SECRET_KEY", "from the environment")
    assert load_config(str(tmp_path))["SECRET_KEY"] == "from the environment"
    monkeypatch.delenv("SECRET_KEY")
    first = load_config(str(tmp_path / "a"))["SECRET_KEY"]
    assert len(first) == 64 and int(first, 16) and first != load_config(str(tmp_path / "b"))["SECRET_KEY"]
    assert first == load_config(str(tmp_path / "a"))["SECRET_KEY"], "kept, so sessions survive a restart"
    assert stat.S_IMODE((tmp_path / "a" / "secret_key").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "path",
    [
        "/.git/config",
        "/.git/HEAD",
        "/static/",
        "/static/../app.py",
        "/static/%2e%2e/.git/config",
        "/instance/secret_key",
    ],
)
def test_source_control_files_secrets_and_directory_listings_are_not_served(client, path):
    """ASVS 13.4.1, 13.4.3: only files inside training/static are served, and never a folder listing."""
    assert client.get(path).status_code == 404
    with client.get("/static/app.css") as served:
        assert served.status_code == 200


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/compliance", "/static/app.css"])
def test_trace_is_not_supported(client, path):
    """ASVS 13.4.4: TRACE is not a method of any route."""
    assert client.open(path, method="TRACE").status_code == 405


# --- V14 Data protection ------------------------------------------------------------------------------


def test_api_tokens_are_accepted_in_the_authorization_header_only(app, client, make_user):
    """ASVS 14.2.1: a token in the query string (where logs and proxies would keep it) does not work."""
    token = create_token_in_ui(app, make_user(role="hr").email)
    for name in ("access_token", "token", "api_key"):
        assert client.get("/api/v1/compliance", query_string={name: token}).status_code == 401, name
    assert client.get("/api/v1/compliance", headers=bearer(token)).status_code == 200


def test_signing_out_leaves_nothing_of_the_session_in_the_cookie(client, auth, make_user):
    """ASVS 14.3.1: nothing of the signed-in session stays in the browser after signing out."""
    auth.login(make_user())
    assert client.get("/transcript").headers["Cache-Control"] == "no-store"
    assert "_user_id" in session_serializer(hashlib.sha256).loads(client.get_cookie("session").value)
    auth.logout()
    left = session_serializer(hashlib.sha256).loads(client.get_cookie("session").value)
    assert set(left) == {"_flashes"}, "only the 'You have signed out' message is left"


def test_the_session_cookie_holds_no_personal_data(client, auth, make_user):
    """ASVS 14.3.3: the cookie carries a random session token, not who the person is."""
    user = make_user(name="Nia Okafor", email="nia.okafor@example.org")
    auth.login(user)
    contents = json.dumps(session_serializer(hashlib.sha256).loads(client.get_cookie("session").value))
    assert "Okafor" not in contents and "nia.okafor" not in contents and f'"{user.id}"' not in contents


# --- V15.3 Defensive coding ---------------------------------------------------------------------------


def test_form_fields_are_read_from_the_body_only(client, make_user):
    """ASVS 15.3.7: a credential in the query string does not count as the form's field."""
    user = make_user()
    response = client.post(
        "/login",
        query_string={"email": user.email, "password": PASSWORD},
        data={"csrf_token": csrf_token(client, "/login")},
    )
    assert response.status_code == 422
    assert client.get("/transcript").status_code == 302


def test_extra_form_fields_cannot_set_other_attributes(app, auth, make_user):
    """ASVS 15.3.3: a service takes the fields of its form's dataclass; anything else posted is ignored."""
    hr = make_user(role="hr")
    nurse = make_user(email="nia@example.org", name="Nia Okafor", employee_id="E100")
    auth.login(hr)
    form = {
        "employee_id": "E100",
        "name": "Nia Okafor",
        "email": "nia@example.org",
        "department": "",
        "new_department": "",
        "job_title": "Charge Nurse",
        "hire_date": "2024-03-31",
        "manager_email": "",
        "role": "staff",
    }
    extra = {"active": "false", "password_hash": "x", "totp_secret": "x", "id": str(hr.id), "created_at": "2000-01-01"}
    response = auth.post(f"/staff/{nurse.id}/edit", form | extra, token_from=f"/staff/{nurse.id}/edit")
    assert response.status_code == 302
    with app.app_context():
        person = db.session.get(User, nurse.id)
        assert person.job_title == "Charge Nurse", "the form's own fields were saved"
        assert person.active and person.password_hash != "x" and person.totp_secret is None
        assert person.created_at.year != 2000
        assert db.session.get(User, hr.id).email == hr.email


# --- V16.3 Security events ----------------------------------------------------------------------------


def test_audit_events_say_who_what_when_in_utc_and_from_where(app, make_user):
    """ASVS 16.2.1, 16.2.2: each audit row has the actor, action, subject, client address and a UTC time."""
    hr = make_user(role="hr")
    before = datetime.now(UTC)
    create_token_in_ui(app, hr.email)
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "api_token.created")).scalar_one()
    assert (event.actor_id, event.subject_type, event.ip_address) == (hr.id, "api_token", "127.0.0.1")
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= event.occurred_at <= datetime.now(UTC)


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


# --- V16.5 Error handling -----------------------------------------------------------------------------


def test_an_unexpected_error_is_a_generic_page_and_is_logged(app, client, caplog):
    """ASVS 16.5.1, 16.3.4: the person sees the site's own 500 page; the log gets the traceback."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail: SELECT password_hash FROM user")

    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong" in body
    assert "password_hash" not in body and "Traceback" not in body and "RuntimeError" not in body
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info[0] is RuntimeError


def test_rate_limits_still_hold_while_redis_is_unreachable(sibling):
    """ASVS 16.5.2: with the shared counter store down, limits are counted in memory, not turned into 500s."""
    nothing_listens = "redis://127.0.0.1:1/0"
    app = sibling(TRAINING_ENV="development", RATELIMIT_STORAGE_URI=nothing_listens, VERIFY_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert [client.get("/verify/0000-0000-0000-0000").status_code for _ in range(3)] == [404, 404, 429]
