"""Fixtures: a fresh database per test on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

Fixtures that create things return factory functions (`make_user(role="hr")`).
"""

import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from training import create_app
from training.auth.passwords import hash_password
from training.compliance.services import refresh_obligations
from training.config import normalise_database_url
from training.content.loader import load_content
from training.content.sync import sync_content
from training.extensions import db

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2id at full strength is slow by design

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
_pg_schema_ready = False


def _pg_uri() -> str:
    return normalise_database_url(TEST_DATABASE_URL)


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


@pytest.fixture
def app(backend, tmp_path, content_dirs, app_config):
    global _pg_schema_ready
    uri = f"sqlite:///{tmp_path / 'test.sqlite3'}" if backend == "sqlite" else _pg_uri()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret key",
            "SQLALCHEMY_DATABASE_URI": uri,
            "CONTENT_MODULES_DIR": str(content_dirs[0]),
            "CONTENT_QUIZZES_DIR": str(content_dirs[1]),
            "CERTIFICATE_STORAGE_DIR": str(tmp_path / "certificate-store"),
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
    # The app context is pushed only around set-up and tear-down: a context held open during the
    # test would be shared by every request of the test client (and with it `g` and the session).
    with app.app_context():
        if backend == "postgresql" and not _pg_schema_ready:
            db.drop_all()
            _pg_schema_ready = True
        db.create_all()  # tests only: the real schema comes from migrations (see test_migrations.py)
    yield app
    with app.app_context():
        db.session.remove()
        if backend == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    from training.auth.services import create_user

    counter = iter(range(1, 10_000))

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
        n = next(counter)
        with app.app_context():
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
    from training.compliance.models import Policy
    from training.compliance.services import RequirementInput, create_requirement
    from training.courses.models import Course

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
        from training.auth.services import create_user

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
