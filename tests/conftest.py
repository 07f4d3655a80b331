"""Fixtures: a fresh database per test on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

Fixtures that create things return factory functions (`make_user(role="hr")`).

The schema is made once per test process, not once per test: on SQLite a template file is made
with `create_all` and copied for each test; on PostgreSQL the tables are created once and emptied
after each test. The test apps share one engine per database and one cache of compiled templates.

Under pytest-xdist (`-n 2`) each worker has a PostgreSQL database of its own,
`<TEST_DATABASE_URL's database>_<worker>`, and TEST_DATABASE_URL is rewritten to name it, so that
scratch databases named after it (tests/test_migrations.py, test_demo.py, ...) never collide.
"""

import os
import re
import shutil
import textwrap
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
from jinja2 import BytecodeCache
from sqlalchemy import Engine, create_engine, func, make_url, select, text

from training import create_app
from training.auth.passwords import TEST_PASSWORD_HASHER, hash_password
from training.compliance.obligations import refresh_obligations
from training.config import normalise_database_url
from training.content.loader import load_content
from training.content.sync import sync_content
from training.extensions import db

PASSWORD = "correct horse battery staple"
# The settings every test app starts from; a test module adds to them by overriding `app_config`.
# Test apps hash passwords with argon2id at its cheapest (tests/test_passwords.py checks that every
# other app uses the OWASP parameters), so this hash is cheap to verify too.
# Certificates' PDFs are rendered on first download, not at completion, except in tests marked
# `renders_certificates_at_completion`: WeasyPrint is the costliest step of completing a course.
TEST_SETTINGS = {
    "TESTING": True,
    "PASSWORD_HASHING_FOR_TESTS_ONLY": True,
    "CERTIFICATE_RENDER_AT_COMPLETION": False,
    "JOBS_IN_PROCESS": False,  # tests run queued jobs themselves (JobQueue.drain)
    "JOBS_RENDER_PROCESSES": 1,  # transcripts rendered in the job's own process (one test spawns two)
}
_PASSWORD_HASH = hash_password(PASSWORD, hasher=TEST_PASSWORD_HASHER)


UNIT_TESTS = Path(__file__).resolve().parent / "unit"


def pytest_collection_modifyitems(items):
    """Every unit test belongs to the smoke subset (`make test-fast`), beside the modules marked `smoke`."""
    for item in items:
        if item.path.is_relative_to(UNIT_TESTS):
            item.add_marker(pytest.mark.smoke)


def _database_of_this_worker(url: str | None) -> str | None:
    """Under pytest-xdist, the worker's own database beside the one named (test -> test_gw0)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


_SHARED_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_DATABASE_URL = _database_of_this_worker(_SHARED_DATABASE_URL)
if TEST_DATABASE_URL:
    os.environ["TEST_DATABASE_URL"] = TEST_DATABASE_URL  # what subprocesses started by tests see
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def _pg_uri() -> str:
    return normalise_database_url(TEST_DATABASE_URL)


def redis_test_url(first_database: int) -> str:
    """A Redis database of this worker's own: `first_database`, plus the worker's number under
    pytest-xdist (`make test` runs at most 4 workers, so a test's databases are first..first+3)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    return f"redis://127.0.0.1:6379/{first_database + worker}"


def scratch_database_name(purpose: str) -> str:
    """A PostgreSQL database name for a test's own scratch database, unique to this worker."""
    return f"{make_url(TEST_DATABASE_URL).database}_{purpose}"


@pytest.fixture(scope="session", autouse=True)
def _worker_database():
    """Under pytest-xdist, create this worker's PostgreSQL database when it does not exist yet."""
    if TEST_DATABASE_URL == _SHARED_DATABASE_URL:
        return
    name = make_url(TEST_DATABASE_URL).database
    admin = create_engine(normalise_database_url(_SHARED_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file with the empty schema, made once per test process; each test gets a copy."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    app = create_app(TEST_SETTINGS | {"SECRET_KEY": "schema only", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()  # tests only: the real schema comes from migrations (see test_migrations.py)
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema():
    """The PostgreSQL test database with the empty schema, made once per test process; emptied after each test.

    Yields the function that empties it, on one connection pool kept for the process: DELETE per
    table and every sequence restarted, with triggers off (the audit table refuses DELETE
    otherwise); for these small tables that is many times faster than TRUNCATE.
    """
    app = create_app(TEST_SETTINGS | {"SECRET_KEY": "schema only", "SQLALCHEMY_DATABASE_URI": _pg_uri()})
    with app.app_context():
        db.drop_all()
        db.create_all()  # tests only: the real schema comes from migrations (see test_migrations.py)
        with db.engine.connect() as conn:
            sequences = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
            restarts = [f'ALTER SEQUENCE "{name}" RESTART' for (name,) in sequences]
        deletes = [f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables)]
        db.engine.dispose()
    empty_tables = "; ".join(["SET LOCAL session_replication_role = replica", *deletes, *restarts])
    engine = create_engine(_pg_uri())

    def empty_the_database():
        with engine.begin() as conn:
            conn.exec_driver_sql(empty_tables)
        engine.dispose()  # no connection left open between tests

    yield empty_the_database
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def content_dirs(tmp_path) -> tuple[Path, Path]:
    modules, quizzes = tmp_path / "content" / "modules", tmp_path / "content" / "quizzes"
    modules.mkdir(parents=True)
    quizzes.mkdir(parents=True)
    return modules, quizzes


@pytest.fixture
def app_config() -> dict:
    """Settings on top of the test defaults; a test module overrides this fixture to change them."""
    return {}


class SharedTemplateBytecode(BytecodeCache):
    """Jinja's compiled templates kept for the whole test process: every test's app has a Jinja
    environment of its own, which would otherwise parse and compile each template again. Entries
    are keyed by template name and a checksum of its source, as Jinja's own bytecode caches are."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedTemplateBytecode()


@pytest.fixture(scope="session", autouse=True)
def _one_engine_per_database():
    """Apps made by the `app` fixture share one SQLAlchemy engine per database URL and engine
    options, so that statements compiled for one test are not compiled again for the next (an
    engine keeps its compiled statements; a new app would otherwise make a new, empty engine).
    The engine's connections are closed at the end of every test (`app` disposes its pool), and
    an app made otherwise (SHARED_TEST_ENGINE unset) gets an engine of its own, as deployed."""
    shared: dict[str, Engine] = {}
    make_engine = db._make_engine

    def shared_engine(bind_key, options, app):
        if not app.config.get("SHARED_TEST_ENGINE"):
            return make_engine(bind_key, options, app)
        key = repr(sorted((name, repr(value)) for name, value in options.items()))
        if key not in shared:
            shared[key] = make_engine(bind_key, options, app)
        return shared[key]

    db._make_engine = shared_engine
    yield
    del db._make_engine
    for engine in shared.values():
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_database_path(tmp_path_factory) -> Path:
    """Where each test's SQLite database is: the same path for every test of this process (the
    engine is shared), with a fresh copy of the template put there before each test."""
    return tmp_path_factory.mktemp("database") / "test.sqlite3"


@pytest.fixture
def database_uri(request, backend) -> str:
    """A database with the empty schema for this test: a copy of the SQLite template, or the
    PostgreSQL test database, emptied again when the test ends."""
    if backend == "sqlite":
        path = request.getfixturevalue("sqlite_database_path")
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    request.addfinalizer(request.getfixturevalue("pg_schema"))
    return _pg_uri()


@pytest.fixture
def app(request, database_uri, tmp_path, content_dirs, app_config):
    rendering = {"CERTIFICATE_RENDER_AT_COMPLETION": True} if _renders_at_completion(request) else {}
    app = create_app(
        TEST_SETTINGS
        | rendering
        | {
            "SHARED_TEST_ENGINE": True,
            "SECRET_KEY": "test secret key",
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "CONTENT_MODULES_DIR": str(content_dirs[0]),
            "CONTENT_QUIZZES_DIR": str(content_dirs[1]),
            "CERTIFICATE_STORAGE_DIR": str(tmp_path / "certificate-store"),
            "JOBS_RESULT_DIR": str(tmp_path / "exports"),
            "PUBLIC_BASE_URL": "https://training.example.org",
            # Plain HTTP through the test client; tests/test_security_headers.py covers production.
            "TRAINING_ENV": "development",
            "MFA_REQUIRED": False,
            # Rate-limit counts in this app's own memory, even when REDIS_URL is set: no test sees
            # another's counts (each create_app gives the limiter fresh storage).
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        | app_config
    )
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    # The app context is pushed only around tear-down: a context held open during the test would be
    # shared by every request of the test client (and with it `g` and the session).
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _renders_at_completion(request) -> bool:
    return request.node.get_closest_marker("renders_certificates_at_completion") is not None


@pytest.fixture(scope="module")
def saved_worlds() -> dict:
    """Worlds built once for the tests of a module and restored for each (tests/saved_worlds.py)."""
    return {}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    from training.auth.users import create_user

    counter = None

    def next_number() -> int:
        """1, 2, 3, ...; after a world restored from tests/saved_worlds.py, on from its last person."""
        nonlocal counter
        if counter is None:
            from training.auth.models import User

            counter = count(1 + (db.session.execute(select(func.max(User.id))).scalar() or 0))
        return next(counter)

    def make(
        role="staff",
        email=None,
        name=None,
        department=None,
        job_title="Registered Nurse",
        active=True,
        employee_id=None,
        hire_date=None,
    ):
        with app.app_context():
            n = next_number()
            user = _create(n, role, email, name, department, job_title, active)
            if employee_id is not None or hire_date is not None:
                user.employee_id, user.hire_date = employee_id, hire_date
                refresh_obligations([user.id])
                db.session.commit()
            return UserRecord.of(user)

    def _create(n, role, email, name, department, job_title, active):
        user = create_user(
            email or f"{role}{n}@example.org",
            name or f"{role.title()} Person {n}",
            PASSWORD,
            role=role,
            department=department,
            job_title=job_title,
            password_hash=_PASSWORD_HASH,
        )
        if not active:
            user.active = False
            db.session.commit()
        return user

    return make


@pytest.fixture
def make_requirement(app):
    """Require a course (by slug) or a policy (`policy=slug`) as an HR rule would; returns its id."""
    from training.auth.models import Department, User
    from training.compliance.requirements import RequirementInput, create_requirement
    from training.content.models import Course
    from training.policies.models import Policy

    def make(course=None, *, policy=None, department=None, job_title="", due_within_days=30, recertify_months=None):
        with app.app_context():
            if course is not None:
                item = f"course:{db.session.execute(select(Course.id).where(Course.slug == course)).scalar_one()}"
            else:
                item = f"policy:{db.session.execute(select(Policy.id).where(Policy.slug == policy)).scalar_one()}"
            department_id = (
                db.session.execute(select(Department.id).where(Department.name == department)).scalar_one()
                if department
                else None
            )
            actor = db.session.execute(select(User).where(User.role.in_(("hr", "admin"))).limit(1)).scalar()
            actor = actor or _rule_maker()
            data = RequirementInput(item, department_id, job_title, due_within_days, recertify_months)
            return create_requirement(actor, data).id

    def _rule_maker():
        from training.auth.users import create_user

        return create_user("rules@example.org", "Rule Maker", PASSWORD, role="hr", password_hash=_PASSWORD_HASH)

    return make


@dataclass(frozen=True)
class UserRecord:
    """A plain copy of a user, usable after the app context that created it has closed."""

    id: int
    email: str
    name: str
    role: str

    @classmethod
    def of(cls, user):
        return cls(user.id, user.email, user.name, user.role)


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Auth:
    """Signs in through the real /login form, CSRF token and all."""

    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password=PASSWORD, next_path=None):
        email = getattr(user_or_email, "email", user_or_email)
        url = "/login" + (f"?next={next_path}" if next_path else "")
        token = csrf_token(self.client, "/login")
        data = {"email": email, "password": password, "csrf_token": token}
        if next_path:
            data["next"] = next_path
        return self.client.post(url, data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/")})

    def post(self, path, data=None, token_from="/", **kwargs):
        """POST a form with a valid CSRF token taken from a page this user can see."""
        data = dict(data or {})
        data.setdefault("csrf_token", csrf_token(self.client, token_from))
        return self.client.post(path, data=data, **kwargs)


@pytest.fixture
def auth(client):
    return Auth(client)


# --- content ------------------------------------------------------------------------------------

COURSE_YAML = """\
title: {title}
summary: A short course used by the tests.
pass_mark: {pass_mark}
questions_per_attempt: {per_attempt}
certificate_validity_months: 12
estimated_minutes: 20
"""


def question_yaml(qid: str, qtype: str = "single", prompt: str | None = None) -> str:
    if qtype == "true_false":
        options = [("True", True), ("False", False)]
    elif qtype == "multiple":
        options = [("Alpha right", True), ("Beta right", True), ("Gamma wrong", False), ("Delta wrong", False)]
    else:
        options = [("Right answer", True), ("Wrong answer one", False), ("Wrong answer two", False)]
    lines = [
        f"- id: {qid}",
        f"  type: {qtype}",
        "  scenario: |",
        f"    A situation on the ward for {qid}.",
        f"  prompt: {prompt or 'What should you do in ' + qid + '?'}",
        "  options:",
    ]
    for text_, correct in options:
        lines += [
            f'    - text: "{text_}"',
            f"      correct: {'true' if correct else 'false'}",
            f"      feedback: Feedback for {text_.lower()}.",
        ]
    lines += [
        "  explanation: The general lesson.",
        "  tags: [photos]",
        "  references:",
        "    - 45 CFR 164.502(b) minimum necessary",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_course(content_dirs):
    """Write a course folder and its bank into the test content directories."""
    modules_dir, quizzes_dir = content_dirs

    def write(
        slug="test-course",
        title="Test Course",
        modules=("Intro", "Photos"),
        questions=(("tc-q1", "single"), ("tc-q2", "multiple"), ("tc-q3", "true_false")),
        pass_mark=60,
        per_attempt=None,
    ):
        course_dir = modules_dir / slug
        course_dir.mkdir(exist_ok=True)
        for old in course_dir.glob("*.md"):
            old.unlink()
        per_attempt = per_attempt or len(questions)
        (course_dir / "course.yaml").write_text(
            COURSE_YAML.format(title=title, pass_mark=pass_mark, per_attempt=per_attempt)
        )
        for index, module_title in enumerate(modules, start=1):
            slug_part = module_title.lower().replace(" ", "-")
            (course_dir / f"{index:02d}-{slug_part}.md").write_text(
                textwrap.dedent(f"""\
                ---
                title: {module_title}
                ---
                ## About {module_title}

                Text of the {module_title} module.
                """)
            )
        (quizzes_dir / f"{slug}.yaml").write_text("".join(question_yaml(q, t) for q, t in questions))
        return course_dir

    return write


@pytest.fixture
def sync(app, content_dirs):
    """Load the test content directories into the database; returns the report."""

    def run():
        with app.app_context():
            return sync_content(load_content(content_dirs[0], content_dirs[1]))

    return run


@pytest.fixture
def course(write_course, sync):
    """A synced three-question course (single, multiple, true/false) with two modules: its slug."""
    write_course()
    sync()
    return "test-course"
