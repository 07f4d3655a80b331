"""A small organisation with one of every kind of record, for the access tests.

Every record that belongs to a person belongs to Olive Owner, a staff member of Emergency who
signs in as none of the roles below: so each role meets records that are someone else's.
The manager is Olive's department manager; the staff member is her colleague in the same department.
"""

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from tests.api_fixtures import complete_at
from tests.conftest import Auth
from tests.saved_worlds import built_once
from training import create_app
from training.api.tokens import create_token, revoke_token
from training.auth.models import Department, User, UserSession
from training.auth.sessions import start_session
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.compliance.models import Requirement
from training.content.models import Course, Question
from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.policies.management import VersionInput, create_policy, link_course
from training.quizzes.models import QuizAttempt
from training.sso.models import SsoIdentity

ROLES = ("anonymous", "staff", "manager", "hr", "author", "admin")
TOKEN_HOLDERS = ("token", "revoked token")
POLICY = "social-media"


def rule_key(rule) -> str:
    """`GET /path` for a rule that answers GET, `POST /path` for a POST-only rule."""
    return f"{'GET' if 'GET' in rule.methods else 'POST'} {rule.rule}"


# Built once, only to read its URL map: nothing is connected or written.
_URL_MAP_APP = create_app(
    {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "url map only", "TRAINING_ENV": "development"}
)
RULES = {rule_key(rule): rule for rule in _URL_MAP_APP.url_map.iter_rules() if rule.endpoint != "static"}


@dataclass(frozen=True)
class World:
    """Ids and names of the records, and the email and id of a user per role (anonymous: none)."""

    emails: dict[str, str]
    user_ids: dict[str, int]
    owner_id: int
    owner_employee_id: str
    other_department_person_id: int
    attempt_id: int
    serial: str
    course_id: int
    module_id: int
    question_id: int
    requirement_id: int
    department_id: int
    token_id: int
    token: str
    revoked_token: str
    owner_session_id: int = 0
    owner_sso_link_id: int = 0
    job_id: int = 0
    policy: str = POLICY

    def url_values(self, rule: str) -> dict[str, object]:
        """Values for a URL rule's variables; `slug` names a policy under /policies, a course elsewhere."""
        slug = self.policy if rule.startswith("/policies") else "test-course"
        values = {
            "slug": slug,
            "module_slug": "intro",
            "attempt_id": self.attempt_id,
            "serial": self.serial,
            "user_id": self.owner_id,
            "requirement_id": self.requirement_id,
            "number": 1,
            "course_id": self.course_id,
            "department_id": self.department_id,
            "token_id": self.token_id,
            "question_id": self.question_id,
            "module_id": self.module_id,
            "employee_id": self.owner_employee_id,
            "session_id": self.owner_session_id,
            "link_id": self.owner_sso_link_id,
            "job_id": self.job_id,
            "token": "not-a-reset-token",
            "name": "User",
            "schema_id": "urn:ietf:params:scim:schemas:core:2.0:User",
            "resource": "Groups",
            "rest": "1",
        }
        return values

    def path_for(self, app, rule) -> str:
        """The path of a werkzeug `Rule`, filled in with this world's records."""
        values = {name: value for name, value in self.url_values(rule.rule).items() if name in rule.arguments}
        with app.test_request_context():
            return url_for(rule.endpoint, **values, **(rule.defaults or {}))

    def client_for(self, app, who: str):
        """A test client of its own: signed in through /login as a role, not signed in ("anonymous"),
        or not signed in but sending an API token with every request ("token", "revoked token")."""
        client = app.test_client()
        if who in ("token", "revoked token"):
            secret = self.token if who == "token" else self.revoked_token
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        elif who != "anonymous":
            response = Auth(client).login(self.emails[who])
            assert response.status_code == 302, f"{who} could not sign in"
        return client


def build_world(app, make_user, make_requirement, saved: dict | None = None) -> World:
    """Create the organisation through the services; the `course` fixture must have synced test-course.

    With `saved` (the `saved_worlds` fixture), it is built once per module and restored for the
    other tests: call it before the test writes anything of its own, which the restore would replace.
    """
    if saved is not None:
        return built_once(saved, "access world", app, lambda: build_world(app, make_user, make_requirement))
    owner = make_user(name="Olive Owner", department="Emergency", employee_id="E100")
    outsider = make_user(name="Peter Pharmacy", department="Pharmacy", employee_id="P100")
    users = {
        "staff": make_user(role="staff", name="Sam Staff", department="Emergency"),
        "manager": make_user(role="manager", name="Mona Manager", department="Emergency"),
        "hr": make_user(role="hr", name="Hana HR"),
        "author": make_user(role="author", name="Arto Author"),
        "admin": make_user(role="admin", name="Ada Admin"),
    }
    complete_at(app, owner.id, utcnow())
    requirement_id = make_requirement("test-course")
    with app.app_context():
        hr = db.session.get(User, users["hr"].id)
        course = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        create_policy(hr, "Social media", POLICY, VersionInput(body="Do not post about patients."))
        link_course(hr, POLICY, course.id)
        start_session(db.session.get(User, owner.id), user_agent="Olive's phone")
        owner_session_id = db.session.execute(select(UserSession.id).where(UserSession.user_id == owner.id)).scalar()
        link = SsoIdentity(user_id=owner.id, protocol="oidc", issuer="https://idp.example", subject="olive")
        db.session.add(link)
        department_id = db.session.execute(select(Department.id).where(Department.name == "Emergency")).scalar_one()
        # The manager's audit packet of Emergency, still queued: his, HR's and admins' to see.
        job = Job(
            kind="audit-packet",
            key=f"audit-packet:{users['manager'].id}:department_id={department_id}:2026-01-01:2026-06-30",
            params={"department_id": department_id, "person": "", "from": "2026-01-01", "to": "2026-06-30"},
            requested_by_id=users["manager"].id,
        )
        db.session.add(job)
        db.session.commit()
        token = create_token(hr, "Payroll sync")
        revoked = create_token(hr, "Old payroll sync")
        revoke_token(hr, revoked.token.id)
        world = World(
            emails={role: user.email for role, user in users.items()},
            user_ids={role: user.id for role, user in users.items()},
            owner_id=owner.id,
            owner_employee_id="E100",
            other_department_person_id=outsider.id,
            attempt_id=db.session.execute(select(QuizAttempt.id).where(QuizAttempt.user_id == owner.id)).scalar_one(),
            serial=display_serial(
                db.session.execute(select(Certificate.serial).where(Certificate.user_id == owner.id)).scalar_one()
            ),
            course_id=course.id,
            module_id=course.modules[0].id,
            question_id=db.session.execute(select(Question.id).where(Question.key == "tc-q1")).scalar_one(),
            requirement_id=db.session.get(Requirement, requirement_id).id,
            department_id=department_id,
            token_id=token.token.id,
            token=token.secret,
            revoked_token=revoked.secret,
            owner_session_id=owner_session_id,
            owner_sso_link_id=link.id,
            job_id=job.id,
        )
    return world


# --- the database as data, to prove a request changed nothing ---------------------------------------

# Tables that legitimately change on any request: sign-ins start sessions, refusals are audited.
UNWATCHED_TABLES = frozenset({"user_session", "audit_event"})

Snapshot = dict[str, dict[tuple, dict[str, object]]]


def snapshot(app) -> Snapshot:
    """Every row of every watched table, by primary key."""
    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            if table.name in UNWATCHED_TABLES:
                continue
            key = [column.name for column in table.primary_key.columns]
            rows = db.session.execute(select(table)).mappings().all()
            tables[table.name] = {tuple(row[name] for name in key): dict(row) for row in rows}
        db.session.remove()
        return tables


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list]]:
    """What differs, per table: keys of rows added and removed, and (key, changed columns) of rows changed."""
    found = {}
    for name, old in before.items():
        new = after[name]
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = [
            (key, sorted(column for column in old[key] if old[key][column] != new[key][column]))
            for key in sorted(set(old) & set(new))
            if old[key] != new[key]
        ]
        if added or removed or changed:
            found[name] = {"added": added, "removed": removed, "changed": changed}
    return found
