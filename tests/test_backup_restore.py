"""The monthly restore drill of docs/operations.md, automated, on PostgreSQL.

A realistic organisation is built in a scratch database by the real commands (`flask db upgrade`,
`flask content sync`, `flask demo`, `flask reminders send`) and the app's own services (two-step
sign-in, a policy attested to, a revoked certificate, an API token, an extra attempt, a reset
link). It is backed up with the real `pg_dump --format=custom`, restored with `pg_restore` into an
empty database, its certificate storage is copied beside it, and gunicorn serves the copy as
`make serve` would, in production mode behind a pretend reverse proxy. Then every table's rows, the
schema's constraints and triggers, sign-in (with a two-step code), the transcript, a certificate's
verification and its PDF are checked against the original.

Needs TEST_DATABASE_URL (PostgreSQL) and the pg_dump and pg_restore programs; the scratch
databases `<test database>_backup_source` and `<test database>_backup_restored` are dropped at the
end, even on failure.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import TEST_DATABASE_URL, scratch_database_name
from training import create_app
from training.api.tokens import create_token
from training.auth import mfa, totp
from training.auth.models import User
from training.auth.reset import request_reset
from training.certificates.models import Certificate
from training.certificates.revocation import revoke_certificate
from training.certificates.serials import display_serial
from training.certificates.storage import CertificateStore
from training.config import normalise_database_url
from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.policies.management import VersionInput, create_policy, link_course
from training.policies.reading import attest, open_policy
from training.quizzes.allowances import grant_allowance, new_idempotency_key
from training.scim.tokens import create_token as create_scim_token
from training.sso.identity import IdpIdentity, person_for_identity
from training.sso.saml.models import SamlAssertionUsed
from training.sso.settings import sso_rules

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="the backup and restore drill needs PostgreSQL: set TEST_DATABASE_URL"
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SOURCE_DB = scratch_database_name("backup_source") if TEST_DATABASE_URL else ""
RESTORED_DB = scratch_database_name("backup_restored") if TEST_DATABASE_URL else ""
SECRET_KEY = "restore drill secret key, kept with the backups"
LEARNER_PASSWORD = "a restore drill passphrase"
PUBLIC_HOST = "training.example.org"
# What an nginx in front of the app sends (docs/operations.md); TRUSTED_PROXY_COUNT=1 believes it.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC_HOST, "X-Forwarded-For": "203.0.113.7"}


def libpq_url(database: str) -> str:
    """TEST_DATABASE_URL pointed at another database, in the plain form pg_dump and psql accept."""
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def engine_url(database: str) -> str:
    """The same for SQLAlchemy, with the psycopg 3 driver the app uses."""
    return normalise_database_url(libpq_url(database))


# --- the drill ------------------------------------------------------------------------------------


@dataclass
class Drill:
    """What the drill made and measured; the tests below check it."""

    folder: Path
    source_storage: Path
    restored_storage: Path
    learner_email: str = ""
    hr_email: str = ""
    hr_password: str = ""
    hr_totp_secret: str = ""
    valid_serial: str = ""
    revoked_serial: str = ""
    tables_before: dict = field(default_factory=dict)
    tables_after: dict = field(default_factory=dict)
    schema_before: dict = field(default_factory=dict)
    schema_after: dict = field(default_factory=dict)
    base_url: str = ""


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    folder = tmp_path_factory.mktemp("restore-drill")
    made = Drill(folder, folder / "source" / "certificates", folder / "restored" / "certificates")
    admin = create_engine(engine_url(make_url(TEST_DATABASE_URL).database), isolation_level="AUTOCOMMIT")
    server = None
    try:
        for name in (SOURCE_DB, RESTORED_DB):
            _recreate_database(admin, name)
        _build_the_organisation(made)
        dump = folder / "training.dump"
        _run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={libpq_url(SOURCE_DB)}"])
        made.tables_before, made.schema_before = table_checksums(SOURCE_DB), schema_objects(SOURCE_DB)
        _run(["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={libpq_url(RESTORED_DB)}", str(dump)])
        copy_storage(made.source_storage, made.restored_storage)
        made.tables_after, made.schema_after = table_checksums(RESTORED_DB), schema_objects(RESTORED_DB)
        server, made.base_url = _serve_the_restored_copy(made)
        yield made
    finally:
        if server is not None:
            server.terminate()
            server.communicate(timeout=30)
        for name in (SOURCE_DB, RESTORED_DB):
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _recreate_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))


def _storage_settings(storage: Path) -> dict:
    """The three folders the app writes to, side by side as on a server's shared storage."""
    return {
        "CERTIFICATE_STORAGE_DIR": str(storage),
        "STAFF_IMPORT_DIR": str(storage.parent / "staff-imports"),
        "AUTHORING_IMPORT_DIR": str(storage.parent / "question-imports"),
    }


def _source_env(made: Drill) -> dict:
    """The source site's environment for `flask` commands (development: the demo refuses production)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MAIL_SERVER", "FLASK_DEBUG")}
    return (
        env
        | _storage_settings(made.source_storage)
        | {
            "DATABASE_URL": libpq_url(SOURCE_DB),
            "SECRET_KEY": SECRET_KEY,
            "TRAINING_ENV": "development",
            "FLASK_APP": "app.py",
        }
    )


def _run(command: list[str], env: dict | None = None, stdin: str | None = None) -> str:
    program = str(BIN / command[0]) if command[0] == "flask" else command[0]
    result = subprocess.run(
        [program, *command[1:]], cwd=PROJECT_ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{' '.join(command[:3])} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_the_organisation(made: Drill) -> None:
    env = _source_env(made)
    _run(["flask", "db", "upgrade"], env)
    _run(["flask", "content", "sync"], env)
    accounts = {line.split()[0]: line.split() for line in _run(["flask", "demo", "--seed", "7"], env).splitlines()}
    made.hr_email, made.hr_password = accounts["hr"][1], accounts["hr"][-1]
    app = create_app({"SQLALCHEMY_DATABASE_URI": engine_url(SOURCE_DB), "SECRET_KEY": SECRET_KEY} | _app_settings(made))
    with app.app_context():
        valid, revoked = _two_valid_certificates()
        made.valid_serial, made.revoked_serial = valid.serial, revoked.serial
        made.learner_email = db.session.get(User, valid.user_id).email
    _run(["flask", "users", "set-password", made.learner_email], env, stdin=LEARNER_PASSWORD + "\n")
    with app.app_context():
        made.hr_totp_secret = _add_what_people_do(made)
        db.session.remove()
    _sign_in_on_the_source(app, made.learner_email)
    with app.app_context():
        db.engine.dispose()
    _run(["flask", "reminders", "send"], env)


def _app_settings(made: Drill) -> dict:
    return _storage_settings(made.source_storage) | {
        "TRAINING_ENV": "development",
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "",
    }


def _two_valid_certificates() -> tuple[Certificate, Certificate]:
    """Two certificates of different people that are valid today: one to verify, one to revoke."""
    now = utcnow()
    found = db.session.execute(
        select(Certificate).where(Certificate.expires_at > now).order_by(Certificate.user_id, Certificate.id)
    ).scalars()
    first = next(found)
    second = next(c for c in found if c.user_id != first.user_id)
    return first, second


def _add_what_people_do(made: Drill) -> str:
    """HR turns on two-step sign-in, publishes a policy linked to a course that the learner reads and
    attests to, revokes a certificate, creates an API token and a SCIM token, the learner signs in once
    through single sign-on, HR grants an extra attempt; someone asks for a password reset. Returns HR's
    TOTP secret."""
    hr = db.session.execute(select(User).where(User.email == made.hr_email)).scalar_one()
    learner = db.session.execute(select(User).where(User.email == made.learner_email)).scalar_one()
    secret = totp.new_secret()
    enrolled_at = time.time() - totp.STEP_SECONDS  # the code used now is a step older than any used later
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mfa, "clock", lambda: enrolled_at)
        mfa.enable(hr, secret, pyotp.TOTP(secret).at(enrolled_at), made.hr_password)
    policy = create_policy(
        hr,
        "Social media and patient privacy",
        "",
        VersionInput(body="Never post about patients, even without their names.", min_reading_seconds=0),
    )
    course = db.session.execute(
        select(Certificate.course_id).where(Certificate.serial == made.valid_serial)
    ).scalar_one()
    link_course(hr, policy.slug, course)
    version = open_policy(learner.id, policy.slug).version
    attest(learner, policy.slug, version.id)
    revoke_certificate(hr, made.revoked_serial, "Issued in error (restore drill)")
    create_token(hr, "HR information system")
    create_scim_token(hr, "Entra ID provisioning")
    _sign_in_through_the_identity_provider(learner)
    grant_allowance(hr, learner, course, 1, "Restore drill: one more attempt", key=new_idempotency_key())
    request_reset(made.learner_email)
    _a_finished_background_job(hr)
    _a_name_corrected_by_hand(made)
    return secret


def _a_name_corrected_by_hand(made: Drill) -> None:
    """A name corrected with SQL beside the app (a database administrator's fix): the trigger on "user" notes the
    person in person_word_pending, where they wait for the next commit that writes people (or `flask compliance
    reconcile --fix`) to have their search words rewritten; the restore keeps that list too."""
    db.session.connection().execute(
        text(
            'UPDATE "user" SET name = upper(name) WHERE id = '
            '(SELECT min(id) FROM "user" WHERE email NOT IN (:hr_email, :learner_email))'
        ),
        {"hr_email": made.hr_email, "learner_email": made.learner_email},
    )
    db.session.commit()


def _a_finished_background_job(hr: User) -> None:
    """A job row as a finished export leaves it (the job table is restored with the rest)."""
    finished = utcnow()
    db.session.add(
        Job(
            kind="drill",
            key="drill:export",
            requested_by_id=hr.id,
            params={"department_id": None},
            status="done",
            done_count=3,
            total_count=3,
            tries=1,
            result_name="drill.zip",
            started_at=finished,
            finished_at=finished,
            expires_at=finished + timedelta(hours=24),
        )
    )
    db.session.commit()


def _sign_in_through_the_identity_provider(learner: User) -> None:
    """The learner's first single sign-on links them by verified email; the SAML assertion that
    carried it is kept until it expires (replay protection)."""
    identity = IdpIdentity("saml", "https://idp.drill.example", "learner-7", learner.email, True, learner.name)
    person_for_identity(identity, sso_rules({"SSO_LINK_BY_EMAIL": "1"}))
    expires = utcnow() + timedelta(hours=1)
    db.session.add(SamlAssertionUsed(issuer=identity.issuer, assertion_id="_drill-1", not_on_or_after=expires))
    db.session.commit()


def _sign_in_on_the_source(app, email: str) -> None:
    """A signed-in session (a user_session row and sign-in audit events), through the real form."""
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    response = client.post("/login", data={"email": email, "password": LEARNER_PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def copy_storage(source: Path, target: Path) -> None:
    """The certificate storage copied as docs/operations.md says (rsync -a), or copied file by file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("rsync"):
        _run(["rsync", "-a", f"{source}/", f"{target}/"])
    else:
        shutil.copytree(source, target)


def _restored_env(made: Drill) -> dict:
    """The restored site's environment: production, the same SECRET_KEY, behind one proxy."""
    env = {k: v for k, v in _source_env(made).items() if k != "TRAINING_ENV"}
    return (
        env
        | _storage_settings(made.restored_storage)
        | {
            "DATABASE_URL": libpq_url(RESTORED_DB),
            "TRUSTED_PROXY_COUNT": "1",
            "PUBLIC_BASE_URL": f"https://{PUBLIC_HOST}",
        }
    )


def _serve_the_restored_copy(made: Drill) -> tuple[subprocess.Popen, str]:
    """gunicorn with gunicorn.conf.py on the restored database, as `make serve` runs it in production.

    Its start-up check (gunicorn.conf.py's `on_starting`) must pass first: a production secret key,
    PostgreSQL, the schema at this code's migration and writable storage.
    """
    port = _free_port()
    env = _restored_env(made) | {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESS_LOG": "",
    }
    log = made.folder / "gunicorn.log"
    with log.open("wb") as written:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=written,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=5):  # noqa: S310 - our own server on loopback
                return server, base_url
        except urllib.error.HTTPError:
            return server, base_url  # it answers; the test of /healthz says what
        except OSError:
            if server.poll() is not None:
                raise AssertionError(f"gunicorn refused to serve the restored copy:\n{log.read_text()}") from None
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- comparing databases --------------------------------------------------------------------------


def _query(database: str, sql: str, **params) -> list:
    engine = create_engine(engine_url(database))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def table_checksums(database: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and an MD5 of all its rows (as text, sorted): equal sums, equal rows."""
    tables = [
        row[0]
        for row in _query(
            database,
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
    ]
    sums = {}
    for table in tables:
        count, digest = _query(
            database,
            f"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM \"{table}\" t",
        )[0]
        sums[table] = (count, digest)
    return sums


def schema_objects(database: str) -> dict[str, list]:
    """What else a restore must bring back: constraints, indexes, triggers and sequence positions.

    Constraints are compared by name and kind: PostgreSQL prints a restored CHECK's `IN (...)` list
    with different casts, the same condition in other words.
    """
    return {
        "constraints": _query(
            database,
            "SELECT conrelid::regclass::text, conname, contype FROM pg_constraint"
            " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
        ),
        "indexes": _query(
            database, "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"
        ),
        "triggers": _query(
            database,
            "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE NOT tgisinternal ORDER BY 1, 2",
        ),
        "sequences": _query(
            database, "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
        ),
    }


# --- a browser's worth of HTTP, through the pretend proxy -----------------------------------------


class Visitor:
    """Cookies and CSRF tokens by hand: the production cookie is `__Host-` and Secure, which a cookie
    jar would not send over the loopback's plain HTTP even though the app was told (by the proxy's
    headers) that the visitor uses HTTPS."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> tuple[int, dict, bytes]:
        return self._send(urllib.request.Request(self.base_url + path))  # noqa: S310 - loopback

    def post(self, path: str, form: dict, token_from: str | None = None) -> tuple[int, dict, bytes]:
        form = dict(form)
        form["csrf_token"] = self.csrf_token(token_from or path)
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method="POST")  # noqa: S310 - loopback
        request.add_header("Referer", f"https://{PUBLIC_HOST}{token_from or path}")  # checked over HTTPS
        return self._send(request)

    def csrf_token(self, path: str) -> str:
        _, _, page = self.get(path)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.decode())[1]

    def _send(self, request: urllib.request.Request) -> tuple[int, dict, bytes]:
        for name, value in PROXY_HEADERS.items():
            request.add_header(name, value)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = _NO_REDIRECTS.open(request, timeout=30)
        except urllib.error.HTTPError as refusal:
            response = refusal
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return response.status, dict(response.headers), response.read()


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)


def sign_in(visitor: Visitor, email: str, password: str) -> str:
    status, headers, _ = visitor.post("/login", {"email": email, "password": password}, token_from="/login")
    assert status == 302, f"sign-in of {email} answered {status}"
    return headers["Location"]


# --- the checks -----------------------------------------------------------------------------------


def test_every_table_has_the_same_rows_after_restore(drill):
    assert drill.tables_after == drill.tables_before
    empty = sorted(table for table, (rows, _) in drill.tables_before.items() if rows == 0)
    assert empty == [], f"the drill should exercise every table; empty: {empty}"


def test_constraints_indexes_triggers_and_sequences_are_restored(drill):
    assert drill.schema_after == drill.schema_before
    triggers = [name for _, name, _ in drill.schema_after["triggers"]]
    assert "audit_event_append_only" in triggers and "audit_event_no_truncate" in triggers


def test_the_restored_app_passes_its_start_up_check_and_health_check(drill):
    status, headers, body = Visitor(drill.base_url).get("/healthz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"
    assert headers["X-Request-ID"]


def test_a_demo_person_signs_in_and_sees_their_transcript(drill):
    visitor = Visitor(drill.base_url)
    assert sign_in(visitor, drill.learner_email, LEARNER_PASSWORD) == "/"
    status, _, page = visitor.get("/transcript")
    assert status == 200
    assert display_serial(drill.valid_serial) in page.decode(), "the learner's certificate is on the transcript"


def test_two_step_sign_in_still_works_because_the_secret_key_came_with_the_backup(drill):
    visitor = Visitor(drill.base_url)
    assert sign_in(visitor, drill.hr_email, drill.hr_password) == "/login/two-step"
    code = pyotp.TOTP(drill.hr_totp_secret).now()
    status, headers, _ = visitor.post("/login/two-step", {"code": code})
    assert status == 302 and headers["Location"] == "/"
    assert visitor.get("/compliance")[0] == 200


def test_without_the_secret_key_the_two_step_secrets_cannot_be_read(drill):
    sealed = _query(RESTORED_DB, 'SELECT totp_secret FROM "user" WHERE email = :email', email=drill.hr_email)[0][0]
    assert totp.SecretBox(SECRET_KEY, ()).decrypt(sealed) == drill.hr_totp_secret
    assert totp.SecretBox("a new key, the old one lost", ()).decrypt(sealed) is None


def test_a_certificate_verifies_and_its_pdf_is_the_original_file(drill):
    visitor = Visitor(drill.base_url)
    status, _, page = visitor.get(f"/verify/{drill.valid_serial}")
    assert status == 200 and "This certificate is valid" in page.decode()
    status, _, page = visitor.get(f"/verify/{drill.revoked_serial}")
    assert status == 200 and "This certificate was revoked" in page.decode()

    original = CertificateStore(drill.source_storage).path_for(drill.valid_serial)
    copied = CertificateStore(drill.restored_storage).path_for(drill.valid_serial)
    copied_before = copied.stat()
    sign_in(visitor, drill.learner_email, LEARNER_PASSWORD)
    status, headers, pdf = visitor.get(f"/certificates/{drill.valid_serial}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf).hexdigest() == hashlib.sha256(original.read_bytes()).hexdigest()
    recorded = _query(
        RESTORED_DB,
        "SELECT f.sha256 FROM certificate_file f JOIN certificate c ON c.id = f.certificate_id WHERE c.serial = :s",
        s=drill.valid_serial,
    )
    assert [row[0] for row in recorded] == [hashlib.sha256(pdf).hexdigest()]
    assert copied.stat().st_ino == copied_before.st_ino, "served from the copied storage, not rendered again"


def test_every_certificate_file_is_in_the_copied_storage(drill):
    """The check docs/operations.md gives for a restore: nothing missing, nothing rendered again."""
    output = _run(["flask", "certificates", "render-missing", "--here"], _restored_env(drill))
    certificates = drill.tables_before["certificate"][0]
    assert output.strip() == f"Checked {certificates} certificate(s); rendered 0."


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'edited'", "DELETE FROM audit_event", "TRUNCATE audit_event"]
)
def test_the_audit_record_stays_append_only_after_restore(drill, statement):
    engine = create_engine(engine_url(RESTORED_DB))
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()
    assert _query(RESTORED_DB, "SELECT count(*) FROM audit_event")[0][0] >= drill.tables_before["audit_event"][0]
