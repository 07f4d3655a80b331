"""Every form in the app, sent hostile data: never a 500, and a refused request changes nothing.

The POST rules come from the URL map, so a new form cannot be forgotten: TARGETS says who signs
in, which real records fill the URL, and which page shows the form. The form's field names and
choices are read from that page's HTML (buttons and quiz answers included, which no WTForms class
lists), and hypothesis sends them back with hostile values: huge strings, NUL bytes, lone
surrogates and invalid UTF-8, right-to-left marks, markup, SQL-ish text, numbers out of range,
invalid dates and choices, lists where one value is expected, missing and extra fields, as
url-encoded or multipart bodies, with random files on upload forms. The CSRF token is always
the valid one, so the request reaches the route. Forms that exist only in some state get it from
Seed, through the real pages: a sign-in waiting for its second step, a reset link from a real
email, an account with two-step sign-in on (codes made for a clock the test moves).

After each request: the status is below 500, and when it is a 4xx every table is as it was (row
count and a checksum of every row). Not compared, because a refused request may rightly touch
them (see docs/security/robustness.md):
- audit_event: refused attempts may be recorded (a failed sign-in, a denied action); the record
  is append-only and is what should change;
- user_session.last_seen_at: any signed-in request may mark the session as used (idle timeout).
  The rest of user_session is compared: a refused request starts or ends no session.

Rate limits stay on; their counters are cleared before each example, so every example reaches
the route instead of a 429 (the limits have tests of their own).
"""

import hashlib
import io
import os
import random
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes, urlsplit

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from tests.api_fixtures import complete_at
from tests.conftest import PASSWORD, Auth, csrf_token, question_yaml
from tests.helpers import smtp_server
from tests.test_password_reset import NEW_PASSWORD, Inbox, token_from
from training.auth import mfa
from training.extensions import db, limiter

# FUZZ_EXAMPLES=500 explores: that many random examples per form instead of the same 30 each run.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
EXPLORE = "FUZZ_EXAMPLES" in os.environ
OVERSIZED = 2 * 1024 * 1024 + 1
IGNORED = {"audit_event": None, "user_session": {"last_seen_at"}}  # None: the whole table


# --- the targets: every POST rule, who may use it, its records and the page with its form -------


@dataclass(frozen=True)
class Target:
    """Who signs in, the form's URL and the page that shows the form, as templates filled from
    Seed attributes ({course} -> seed.course).

    `page` may instead be a function of (seed, client) returning the HTML with the form, for forms
    that appear only after another POST (an import's apply step). `good` are values that make the
    form valid where the page leaves a field empty; each example changes a few fields of that valid
    form (or none), so hostile values also reach the services behind the validation. `tick` ticks
    the first choice of every checkbox (quiz answers). `fresh` re-reads records and form before
    each example (a submitted attempt is used up), `good` values included (a code works once);
    `new_client` signs in a new client each time (sign-in and sign-out end the old session).
    `two_step`: the role's account has two-step sign-in on, and signs in with a code.
    """

    role: str | None
    url: str
    page: str | Callable
    good: dict = field(default_factory=dict)
    tick: bool = False
    fresh: bool = False
    new_client: bool = False
    two_step: bool = False


def _ending_other_sessions(seed, client) -> str:
    """The confirmation is offered only while another session is open."""
    assert seed.other_session
    return client.get("/account/sessions?end=others").get_data(as_text=True)


def _staged_staff_import(seed, client) -> str:
    data = {"file": (io.BytesIO(STAFF_CSV), "staff.csv"), "csrf_token": csrf_token(client, "/staff/import")}
    return client.post("/staff/import", data=data).get_data(as_text=True)


def _staged_question_import(seed, client) -> str:
    path = f"/authoring/courses/{seed.course}/import"
    data = {
        "file": (io.BytesIO(QUESTIONS_YAML), "bank.yaml"),
        "status": "draft",
        "csrf_token": csrf_token(client, path),
    }
    return client.post(path, data=data).get_data(as_text=True)


def _waiting_for_a_code(seed, client) -> str:
    """The admin (two-step sign-in on) typed the password: the sign-in waits for the second step."""
    seed.start_two_step_sign_in(client)
    return client.get("/login/two-step").get_data(as_text=True)


def _waiting_for_a_recovery_code(seed, client) -> str:
    seed.start_two_step_sign_in(client)
    return client.get("/login/recovery").get_data(as_text=True)


def _reset_link_followed(seed, client) -> str:
    """A reset link from a real email, followed: the form waits, with the link in the session."""
    token = seed.emailed_reset_token(client)
    assert client.get(f"/password/reset/{token}").status_code == 302
    return client.get("/password/reset").get_data(as_text=True)


def certificate_list(seed, client) -> str:
    """The certificate list once there is a certificate (the export's button shows only then)."""
    assert seed.serial
    return client.get("/certificates").get_data(as_text=True)


STAFF_CSV = (
    b"employee_id,name,email,department,job_title,hire_date,manager_email\n"
    b"F100,Fuzz Person,fuzz.person@example.org,Ward 1,Nurse,2020-01-06,\n"
)
QUESTIONS_YAML = question_yaml("fz-q1").encode()
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
SAMPLE_FILES = [STAFF_CSV, QUESTIONS_YAML, PDF]
NEW_QUESTION = {
    "prompt": "Who may see a patient's photo?",
    "explanation": "Only the care team.",
    "options-0-text": "The care team",
    "options-0-correct": "y",
    "options-0-feedback": "Right: they need it.",
    "options-1-text": "Anyone on the ward",
    "options-1-feedback": "No: only those who need it.",
}
NEW_COURSE = {
    "slug": "fire-safety",
    "title": "Fire safety",
    "summary": "Exits, alarms and extinguishers.",
    "pass_mark": "80",
    "questions_per_attempt": "5",
    "certificate_validity_months": "12",
    "estimated_minutes": "20",
}
NEW_PERSON = {"name": "Nia New", "email": "nia.new@example.org", "employee_id": "N001", "hire_date": "2024-03-01"}

TARGETS = {
    "/login": Target(None, "/login", "/login", {"email": "{admin_email}", "password": PASSWORD}, new_client=True),
    "/login/two-step": Target(None, "/login/two-step", _waiting_for_a_code, {"code": "{totp_code}"}, new_client=True),
    "/login/recovery": Target(
        None, "/login/recovery", _waiting_for_a_recovery_code, {"code": "{recovery_code}"}, new_client=True
    ),
    "/password/forgot": Target(None, "/password/forgot", "/password/forgot", {"email": "{admin_email}"}),
    "/password/reset": Target(
        None,
        "/password/reset",
        _reset_link_followed,
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        new_client=True,
    ),
    "/account/password": Target("admin", "/account/password", "/account/password"),
    "/account/sessions/end-others": Target("admin", "/account/sessions/end-others", _ending_other_sessions),
    "/account/sessions/<int:session_id>/end": Target(
        "admin", "/account/sessions/{other_session}/end", "/account/sessions?end={other_session}"
    ),
    "/account/two-step/setup": Target("admin", "/account/two-step/setup", "/account/two-step/setup"),
    "/account/two-step/recovery-codes": Target(
        "admin",
        "/account/two-step/recovery-codes",
        "/account/two-step",
        {"regenerate-password": PASSWORD},
        two_step=True,
    ),
    "/account/two-step/disable": Target(
        "admin",
        "/account/two-step/disable",
        "/account/two-step",
        {"disable-password": PASSWORD, "disable-code": "{totp_code}"},
        two_step=True,
        fresh=True,
    ),
    "/staff/<int:user_id>/two-step/reset": Target(
        "admin", "/staff/{two_step_person}/two-step/reset", "/staff/{two_step_person}/edit", fresh=True
    ),
    "/staff/<int:user_id>/sign-out": Target("admin", "/staff/{leaver}/sign-out", "/staff/{leaver}/edit"),
    "/logout": Target("admin", "/logout", "/", new_client=True),
    "/courses/<slug>/modules/<module_slug>/complete": Target(
        "admin", "/courses/{course}/modules/intro/complete", "/courses/{course}/modules/intro"
    ),
    "/courses/<slug>/quiz": Target("admin", "/courses/{course}/quiz", "/courses/{course}"),
    "/attempts/<int:attempt_id>": Target("admin", "/attempts/{attempt}", "/attempts/{attempt}", tick=True, fresh=True),
    "/certificates/<serial>/revoke": Target(
        "admin", "/certificates/{serial}/revoke", "/certificates/{serial}", {"reason": "Issued to the wrong person."}
    ),
    "/certificates/export": Target("admin", "/certificates/export", certificate_list),
    "/compliance/export.xlsx": Target("admin", "/compliance/export.xlsx", "/compliance/people"),
    "/verify/<serial>": Target(None, "/verify/{serial}", "/verify/{serial}", {"pdf": ("certificate.pdf", PDF)}),
    "/compliance/people/<int:user_id>/allowances": Target(
        "admin",
        "/compliance/people/{learner}/allowances",
        "/compliance/people/{learner_with_attempt_limit}",
        {"course": "{course_id}", "reason": "A system outage during the last attempt."},
    ),
    "/compliance/requirements": Target(
        "admin", "/compliance/requirements", "/compliance/requirements", {"item": "course:{course_id}"}
    ),
    "/compliance/requirements/<int:requirement_id>/retire": Target(
        "admin", "/compliance/requirements/{requirement}/retire", "/compliance/requirements"
    ),
    "/compliance/packet": Target(
        "admin", "/compliance/packet", "/compliance/packet", {"person": "{learner_employee_id}"}
    ),
    "/policies/<slug>/attest": Target("admin", "/policies/{policy}/attest", "/policies/{policy}", {"agree": "y"}),
    "/policies/manage/new": Target(
        "admin", "/policies/manage/new", "/policies/manage/new", {"title": "Hand hygiene", "body": "Wash your hands."}
    ),
    "/policies/manage/<slug>/publish": Target(
        "admin",
        "/policies/manage/{policy}/publish",
        "/policies/manage/{policy}/publish",
        {"body": "Do not post about patients or their families.", "change_summary": "Families too."},
    ),
    "/policies/manage/<slug>/courses": Target(
        "admin", "/policies/manage/{policy}/courses", "/policies/manage/{policy}"
    ),
    "/policies/manage/<slug>/courses/<int:course_id>/unlink": Target(
        "admin", "/policies/manage/{linked_policy}/courses/{course_id}/unlink", "/policies/manage/{linked_policy}"
    ),
    "/policies/manage/<slug>/retire": Target("admin", "/policies/manage/{policy}/retire", "/policies/manage/{policy}"),
    "/settings/api-tokens": Target("admin", "/settings/api-tokens", "/settings/api-tokens", {"name": "Payroll sync"}),
    "/settings/scim-tokens": Target(
        "admin", "/settings/scim-tokens", "/settings/scim-tokens", {"name": "Entra ID provisioning"}
    ),
    "/settings/scim-tokens/<int:token_id>/revoke": Target(
        "admin", "/settings/scim-tokens/{scim_token}/revoke", "/settings/scim-tokens"
    ),
    "/staff/<int:user_id>/sso/<int:link_id>/unlink": Target(
        "admin", "/staff/{leaver}/sso/{sso_link}/unlink", "/staff/{leaver}/edit"
    ),
    "/settings/api-tokens/<int:token_id>/revoke": Target(
        "admin", "/settings/api-tokens/{api_token}/revoke", "/settings/api-tokens"
    ),
    "/staff/new": Target("admin", "/staff/new", "/staff/new", NEW_PERSON),
    "/staff/<int:user_id>/edit": Target(
        "admin", "/staff/{learner}/edit", "/staff/{learner}/edit", {"hire_date": "2021-05-04"}
    ),
    "/staff/<int:user_id>/deactivate": Target("admin", "/staff/{leaver}/deactivate", "/staff/{leaver}/deactivate"),
    "/staff/<int:user_id>/reactivate": Target("admin", "/staff/{former}/reactivate", "/staff/{former}/edit"),
    "/staff/departments": Target("admin", "/staff/departments", "/staff/departments", {"name": "Pharmacy"}),
    "/staff/departments/<int:department_id>/rename": Target(
        "admin", "/staff/departments/{department}/rename", "/staff/departments"
    ),
    "/staff/import": Target("admin", "/staff/import", "/staff/import", {"file": ("staff.csv", STAFF_CSV)}),
    "/staff/import/apply": Target("admin", "/staff/import/apply", _staged_staff_import),
    "/authoring/courses/new": Target("admin", "/authoring/courses/new", "/authoring/courses/new", NEW_COURSE),
    "/authoring/courses/<slug>/settings": Target(
        "admin", "/authoring/courses/{course}/settings", "/authoring/courses/{course}/settings"
    ),
    "/authoring/courses/<slug>/publish": Target(
        "admin", "/authoring/courses/{course}/publish", "/authoring/courses/{course}/settings", {"action": "unpublish"}
    ),
    "/authoring/courses/<slug>/modules/new": Target(
        "admin",
        "/authoring/courses/{course}/modules/new",
        "/authoring/courses/{course}/modules/new",
        {"title": "Fire exits", "body": "## Exits\n\nKnow where they are."},
    ),
    "/authoring/modules/<int:module_id>/edit": Target(
        "admin", "/authoring/modules/{module_id}/edit", "/authoring/modules/{module_id}/edit"
    ),
    "/authoring/modules/<int:module_id>/move": Target(
        "admin", "/authoring/modules/{module_id}/move", "/authoring/courses/{course}/modules", {"direction": "down"}
    ),
    "/authoring/modules/<int:module_id>/status": Target(
        "admin", "/authoring/modules/{module_id}/status", "/authoring/courses/{course}/modules", {"action": "retire"}
    ),
    "/authoring/courses/<slug>/questions/new": Target(
        "admin", "/authoring/courses/{course}/questions/new", "/authoring/courses/{course}/questions/new", NEW_QUESTION
    ),
    "/authoring/questions/<int:question_id>/edit": Target(
        "admin", "/authoring/questions/{question}/edit", "/authoring/questions/{question}/edit"
    ),
    "/authoring/questions/<int:question_id>/preview": Target(
        "admin", "/authoring/questions/{question}/preview", "/authoring/questions/{question}/preview"
    ),
    "/authoring/questions/<int:question_id>/status": Target(
        "admin", "/authoring/questions/{question}/status", "/authoring/questions/{question}", {"action": "retire"}
    ),
    "/authoring/courses/<slug>/import": Target(
        "admin",
        "/authoring/courses/{course}/import",
        "/authoring/courses/{course}/import",
        {"file": ("bank.yaml", QUESTIONS_YAML)},
    ),
    "/authoring/courses/<slug>/import/apply": Target(
        "admin", "/authoring/courses/{course}/import/apply", _staged_question_import
    ),
}


# --- records the targets need, made on first use ------------------------------------------------


class TotpClock:
    """The clock two-step sign-in checks codes against (`training.auth.mfa.clock`, replaced by the
    `seed` fixture): each code the seed makes is for the next 30-second step, as a code works once."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def next_step(self) -> None:
        self.now += 30


class Seed:
    """Real records for the URLs and forms: a course, people, a certificate, a policy, ...

    And the states some forms exist in: accounts with two-step sign-in on (their secrets and
    recovery codes kept here), a sign-in waiting for its second step, a reset link from an email.
    """

    def __init__(self, app, make_user, course):
        self.app, self.make_user, self.course = app, make_user, course
        self.users = {}
        self.clock = TotpClock()
        self.secrets: dict[int, str] = {}
        self.recovery_codes: dict[int, list[str]] = {}
        self.cleanup = ExitStack()

    def close(self) -> None:
        self.cleanup.close()

    @property
    def admin_email(self) -> str:
        return self.user("admin").email

    @property
    def known_values(self) -> list[str]:
        self.user("admin")
        return [PASSWORD, "Ward 1", "L001", *(user.email for user in self.users.values())]

    def user(self, role):
        if role not in self.users:
            self.users[role] = self.make_user(role=role, department="Ward 1")
        return self.users[role]

    def _run(self, work):
        with self.app.app_context():
            result = work()
            db.session.commit()
            return result

    @cached_property
    def learner(self) -> int:
        return self.make_user(name="Lena Learner", department="Ward 1", employee_id="L001").id

    @property
    def learner_employee_id(self) -> str:
        assert self.learner
        return "L001"

    @cached_property
    def other_session(self) -> int:
        """A second session of the admin's, on another device, for the form that ends one."""
        from training.auth.models import User, UserSession
        from training.auth.sessions import start_session

        admin_id = self.user("admin").id
        with self.app.test_request_context():
            start_session(db.session.get(User, admin_id), user_agent="Firefox on Windows")
            return db.session.execute(select(func.max(UserSession.id)).where(UserSession.user_id == admin_id)).scalar()

    @cached_property
    def leaver(self) -> int:
        return self.make_user(name="Leo Leaver", department="Ward 1", employee_id="L002").id

    @cached_property
    def former(self) -> int:
        return self.make_user(name="Fay Former", department="Ward 1", employee_id="L003", active=False).id

    @cached_property
    def department(self) -> int:
        from training.auth.models import Department

        self.user("admin")
        return self._run(lambda: db.session.execute(select(Department.id).where(Department.name == "Ward 1")).scalar())

    @cached_property
    def course_id(self) -> int:
        from training.content.models import Course

        return self._run(lambda: db.session.execute(select(Course.id).where(Course.slug == self.course)).scalar())

    @cached_property
    def module_id(self) -> int:
        from training.content.models import TrainingModule

        query = select(TrainingModule.id).where(
            TrainingModule.course_id == self.course_id, TrainingModule.slug == "intro"
        )
        return self._run(lambda: db.session.execute(query).scalar())

    @cached_property
    def question(self) -> int:
        from training.content.models import Question

        return self._run(lambda: db.session.execute(select(Question.id).where(Question.key == "tc-q1")).scalar())

    @property
    def attempt(self) -> int:
        """The signed-in admin's open attempt, a new one once the last was submitted."""
        from training.content.models import Course
        from training.courses.services import start_quiz

        def start():
            course = db.session.execute(select(Course).where(Course.slug == self.course)).scalar_one()
            return start_quiz(self.user("admin").id, course, rng=random.Random(0)).id

        return self._run(start)

    @cached_property
    def learner_with_attempt_limit(self) -> int:
        """The learner, once the course has an attempt limit (allowances are only for such courses)."""
        from training.content.models import Course

        self._run(lambda: db.session.execute(update(Course).values(max_attempts=3)))
        return self.learner

    @cached_property
    def serial(self) -> str:
        from training.certificates.models import Certificate
        from training.certificates.serials import display_serial
        from training.db import utcnow

        complete_at(self.app, self.learner, utcnow())
        query = select(Certificate.serial).where(Certificate.user_id == self.learner)
        return display_serial(self._run(lambda: db.session.execute(query).scalar_one()))

    @cached_property
    def requirement(self) -> int:
        from training.compliance.requirements import RequirementInput, create_requirement

        actor = self.user("admin")

        def make():
            from training.auth.models import User

            return create_requirement(
                db.session.get(User, actor.id), RequirementInput(f"course:{self.course_id}", None, "", 30, None)
            ).id

        return self._run(make)

    def _policy(self, slug: str, linked: bool) -> str:
        from training.auth.models import User
        from training.policies.management import VersionInput, create_policy, link_course

        actor = self.user("admin")

        def make():
            user = db.session.get(User, actor.id)
            data = VersionInput(body="Do not post about patients.", min_reading_seconds=0)
            create_policy(user, slug.replace("-", " ").title(), slug, data)
            if linked:
                link_course(user, slug, self.course_id)

        self._run(make)
        return slug

    @cached_property
    def policy(self) -> str:
        return self._policy("social-media", linked=False)

    @cached_property
    def linked_policy(self) -> str:
        return self._policy("photo-consent", linked=True)

    @cached_property
    def api_token(self) -> int:
        from training.api.tokens import create_token
        from training.auth.models import User

        actor = self.user("admin")
        return self._run(lambda: create_token(db.session.get(User, actor.id), "Payroll sync").token.id)

    @cached_property
    def scim_token(self) -> int:
        from training.auth.models import User
        from training.scim.tokens import create_token

        actor = self.user("admin")
        return self._run(lambda: create_token(db.session.get(User, actor.id), "Okta provisioning").token.id)

    @cached_property
    def sso_link(self) -> int:
        """The leaver's link to an identity at the organisation's identity provider."""
        from training.sso.models import SsoIdentity

        def add_link() -> int:
            link = SsoIdentity(user_id=self.leaver, protocol="oidc", issuer="https://idp.example", subject="leo")
            db.session.add(link)
            db.session.flush()
            return link.id

        return self._run(add_link)

    # --- two-step sign-in and password reset

    def two_step_on(self, user_id: int) -> None:
        """Turn the account's two-step sign-in on, if it is off, with a new secret kept here.

        As the setup page does (`mfa.enable`): this ends the account's sessions, so sign in after.
        """
        from training.auth import totp
        from training.auth.models import User

        def enrol():
            user = db.session.get(User, user_id)
            if not mfa.is_enabled(user):
                secret = totp.new_secret()
                self.recovery_codes[user_id] = mfa.enable(user, secret, self._code(secret), PASSWORD)
                self.secrets[user_id] = secret

        self._run(enrol)

    def _code(self, secret: str) -> str:
        self.clock.next_step()
        return pyotp.TOTP(secret).at(mfa.clock())

    def code_for(self, user_id: int) -> str:
        """A code from the account's authenticator app, not used yet."""
        return self._code(self.secrets[user_id])

    @property
    def totp_code(self) -> str:
        return self.code_for(self.user("admin").id)

    @property
    def recovery_code(self) -> str:
        """One of the admin's recovery codes not used yet (new ones once all are used)."""
        from training.auth import totp
        from training.auth.models import RecoveryCode, User

        admin_id = self.user("admin").id

        def unused() -> list[str]:
            used = set(
                db.session.execute(
                    select(RecoveryCode.code_hash).where(
                        RecoveryCode.user_id == admin_id, RecoveryCode.used_at.is_not(None)
                    )
                ).scalars()
            )
            left = [code for code in self.recovery_codes[admin_id] if totp.recovery_code_hash(code) not in used]
            if not left:
                self.recovery_codes[admin_id] = left = mfa.regenerate_recovery_codes(
                    db.session.get(User, admin_id), PASSWORD
                )
            return left

        return self._run(unused)[0]

    def sign_in(self, client, role: str, two_step: bool = False) -> None:
        """Sign in through the form; with `two_step`, the account has two-step sign-in on and
        signs in with its password and a code."""
        user = self.user(role)
        if two_step:
            self.two_step_on(user.id)
        response = Auth(client).login(user.email, PASSWORD)
        if two_step:
            assert response.headers["Location"] == "/login/two-step"
            code = {"code": self.code_for(user.id), "csrf_token": csrf_token(client, "/login/two-step")}
            response = client.post("/login/two-step", data=code)
        assert response.status_code == 302, f"signing in as {role}: {response.status_code}"

    def start_two_step_sign_in(self, client) -> None:
        """The admin, with two-step sign-in on, types the password: the second step is pending."""
        self.two_step_on(self.user("admin").id)
        response = Auth(client).login(self.admin_email, PASSWORD)
        assert response.headers["Location"] == "/login/two-step"

    @property
    def two_step_person(self) -> int:
        """Someone whose two-step sign-in is on (again, after an admin's reset turned it off)."""
        self.two_step_on(self.person_with_a_phone)
        return self.person_with_a_phone

    @cached_property
    def person_with_a_phone(self) -> int:
        return self.make_user(name="Tom Twostep", department="Ward 1", employee_id="L004").id

    @cached_property
    def forgetful_email(self) -> str:
        return self.make_user(name="Fern Forgot", department="Ward 1", employee_id="L005").email

    @cached_property
    def inbox(self) -> Inbox:
        """A real SMTP server on loopback that the app sends its emails to, until the test ends."""
        inbox = Inbox()
        port = self.cleanup.enter_context(smtp_server(inbox))
        self.app.config.update(
            MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM="Training <training@example.org>"
        )
        return inbox

    def emailed_reset_token(self, client) -> str:
        """Ask for a reset link for Fern on the forgot-password form; the token from the email."""
        sent = len(self.inbox.messages)
        data = {"email": self.forgetful_email, "csrf_token": csrf_token(client, "/password/forgot")}
        assert client.post("/password/forgot", data=data).status_code == 200
        return token_from(self.inbox.wait(sent + 1)[-1])


class SeedValues(dict):
    def __init__(self, seed):
        super().__init__()
        self.seed = seed

    def __missing__(self, key):
        return getattr(self.seed, key)


# --- reading a page's forms ---------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str
    values: list[str] = field(default_factory=list)  # what the page would send
    choices: list[str] = field(default_factory=list)  # every value the page offers


class FormParser(HTMLParser):
    """The POST forms of a page: action, and each named field with its values and choices."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page, self.forms, self.form, self.select, self.textarea = page, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.form = (urlsplit(a.get("action") or self.page).path, {})
        elif self.form is None:
            return
        elif tag in ("input", "button") and a.get("name"):
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            item = self._field(a["name"], kind)
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            item.choices.append(value)
            if kind not in ("checkbox", "radio", "submit", "file") or "checked" in a:
                item.values.append(value)
        elif tag == "select" and a.get("name"):
            self.select = self._field(a["name"], "select")
        elif tag == "option" and self.select is not None:
            self.select.choices.append(a.get("value", ""))
            if "selected" in a:
                self.select.values.append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.textarea = self._field(a["name"], "textarea")
            self.textarea.values.append("")

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            self.forms.append(self.form)
            self.form = None
        elif tag == "select":
            if self.select is not None and not self.select.values and self.select.choices:
                self.select.values.append(self.select.choices[0])
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            text = self.textarea.values[-1] + data
            self.textarea.values[-1] = text.removeprefix("\r\n") if not self.textarea.values[-1] else text

    def _field(self, name: str, kind: str) -> Field:
        fields = self.form[1]
        if name not in fields:
            fields[name] = Field(name, kind)
        return fields[name]


def form_fields(html: str, page: str, action: str) -> dict[str, Field]:
    """The fields of every POST form on the page that posts to `action`, merged."""
    parser = FormParser(page)
    parser.feed(html)
    forms = [fields for path, fields in parser.forms if path == action]
    assert forms, f"no form on {page} posts to {action}"
    merged: dict[str, Field] = {}
    for fields in forms:
        for name, item in fields.items():
            known = merged.setdefault(name, Field(name, item.kind))
            known.values += [v for v in item.values if v not in known.values]
            known.choices += [c for c in item.choices if c not in known.choices]
    return merged


# --- hostile values -----------------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n\r\n",
    "\t",
    "\u202eevil\u202c",
    "\u2066\u200f\u200b",
    "\ufeff",
    "\ud800",
    "e\u0301",
    "\ufb01",
    "\u0130",
    "\u01c4",
    "\uff21\uff44\uff4d\uff49\uff4e",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{ 7 * 7 }}",
    "' OR '1'='1' --",
    "1; DROP TABLE user; --",
    "%00",
    "%",
    "../../../../etc/passwd",
    '=HYPERLINK("http://x")',
    "true",
    "null",
    "[]",
    "admin",
    "published",
    "retire",
    "course:1",
    "policy:99999999999",
]
HOSTILE_NUMBERS = [
    "",
    "-1",
    "0",
    "-0",
    "+5",
    " 7 ",
    "1.5",
    "1e3",
    "1e309",
    "NaN",
    "inf",
    "0x10",
    "1_000",
    "-2147483649",
    "2147483648",
    "9223372036854775808",
    "9" * 40,
    "\u00b2",
    "\u0663",
    "\uff11\uff12",
    "\U0001d7d9",
]
HOSTILE_DATES = [
    "",
    "0001-01-01",
    "0001-01-02",
    "9999-12-31",
    "9999-12-01",
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "10000-01-01",
    "0000-00-00",
    "-2024-01-01",
    "2024-1-1",
    "2024-01-01T00:00",
    "24/11/2026",
    "\uff12\uff10\uff12\uff14-01-01",
]
HOSTILE_EMAILS = [
    "a@b",
    "@",
    "a@b@c",
    " ADMIN1@EXAMPLE.ORG ",
    "x@[127.0.0.1]",
    "\u00fc\u00f1\u00ee@example.org",
    "user+tag@example.org",
    "a" * 250 + "@example.org",
    "admin1@example.org\x00",
    "admin1@example.org\r\nBcc: x@example.org",
]
HOSTILE_BY_KIND = {"number": HOSTILE_NUMBERS, "date": HOSTILE_DATES, "email": HOSTILE_EMAILS}


class Blob:
    """A long run of one byte, shown by its size in hypothesis's reports instead of in full."""

    def __init__(self, size: int, byte: bytes = b"A"):
        self.size, self.byte = size, byte

    def __bytes__(self) -> bytes:
        return self.byte * self.size

    def __repr__(self) -> str:
        return f"Blob({self.size}, {self.byte!r})"


HUGE = st.sampled_from([1_000, 70_000, 600_000]).map(Blob)
WEIRD_BYTES = st.binary(max_size=40)


def _encode(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


hostile_value = st.one_of(
    st.sampled_from(HOSTILE_TEXT + HOSTILE_NUMBERS + HOSTILE_DATES + HOSTILE_EMAILS).map(_encode),
    st.text(st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co"]), max_size=40).map(_encode),
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: str(n).encode()),
    HUGE,
    WEIRD_BYTES,
)
hostile_name = st.one_of(
    st.sampled_from(["q-1", "q-", "options-99-text", "options-0-correct", "id", "role", "__proto__", "", "\x00"]),
    st.text(max_size=12),
).map(_encode)


def file_contents() -> st.SearchStrategy[bytes]:
    def spliced(sample: bytes, cell: str, codec: str) -> bytes:
        lines = sample.decode("utf-8", "replace").splitlines()
        lines.insert(1, cell + "," + ",".join(lines[-1].split(",")[1:]))
        return "\n".join(lines).encode(codec, "replace")

    cells = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))
    return st.one_of(
        st.sampled_from(SAMPLE_FILES),
        st.binary(max_size=2_000),
        st.builds(spliced, st.sampled_from(SAMPLE_FILES), cells, st.sampled_from(["utf-8", "utf-16", "latin-1"])),
        st.sampled_from([Blob(10_000, b"\x00"), Blob(1_500_000, b"a"), b"\xef\xbb\xbf" + STAFF_CSV]),
    )


hostile_filename = st.one_of(
    st.sampled_from(["staff.csv", "bank.yaml", "bank.gift", "certificate.pdf", "", "../../x.csv", "a\x00.csv"]),
    st.text(max_size=30),
).map(_encode)


def kind_of(item: Field) -> str:
    """number, date or email (the values the field expects), or text."""
    if item.kind in HOSTILE_BY_KIND:
        return item.kind
    if item.choices and all(choice.isdigit() for choice in item.choices if choice):
        return "number"
    return "text"


def field_values(item: Field, known: list[str]) -> st.SearchStrategy[list]:
    """A changed field: a hostile value, a choice, nothing, or several values where one is expected.

    Numbers, dates and emails (by input type, or by the page's choices) get values near their own
    edges more often. `known` are values that mean something here (real emails, the password).
    """
    if item.kind == "file":
        upload = st.tuples(hostile_filename, file_contents())
        return st.one_of(upload.map(lambda f: [f]), st.just([]), st.lists(upload, min_size=2, max_size=2))
    kind = kind_of(item)
    own = st.sampled_from(HOSTILE_BY_KIND[kind]) if kind in HOSTILE_BY_KIND else st.sampled_from(HOSTILE_TEXT)
    single = st.one_of(own, own, hostile_value, st.sampled_from(item.choices + known))
    return st.one_of(single.map(lambda v: [v]), st.just([]), st.lists(single, min_size=2, max_size=3))


def form_data(fields: dict[str, Field], baseline: dict[str, list], known: list[str]) -> st.SearchStrategy[list]:
    """(name, value) pairs: the valid form with up to four fields changed, and up to two extra fields.

    The CSRF token (and a prefixed form's own token) is left as it is, so requests reach the route.
    """
    names = [name for name in fields if not name.endswith("csrf_token")]
    changed = st.lists(st.sampled_from(names), unique=True, max_size=4) if names else st.just([])
    changes = changed.flatmap(
        lambda chosen: st.tuples(*(field_values(fields[n], known).map(lambda vs, n=n: (n, vs)) for n in chosen))
    )
    extra = st.one_of(st.just([]), st.lists(st.tuples(hostile_name, hostile_value), min_size=1, max_size=2))

    def assemble(changes, extras):
        values = baseline | dict(changes)
        return [(name, value) for name in values for value in values[name]] + extras

    return st.builds(assemble, changes, extra)


def _as_bytes(value) -> bytes:
    if isinstance(value, str):
        return _encode(value)
    return bytes(value)


def urlencoded(pairs) -> bytes:
    return b"&".join(
        quote_from_bytes(_as_bytes(k)).encode() + b"=" + quote_from_bytes(_as_bytes(v)).encode()
        for k, v in pairs
        if not isinstance(v, tuple)
    )


BOUNDARY = "fuzz-boundary-7d9c1e4b"


def multipart(pairs) -> bytes:
    """A multipart body as a browser sends it (quotes and line ends in names are %-escaped)."""

    def escaped(value: bytes) -> bytes:
        return value.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")

    parts = []
    for name, value in pairs:
        head = b'Content-Disposition: form-data; name="' + escaped(_as_bytes(name)) + b'"'
        if isinstance(value, tuple):
            filename, data = value[0], _as_bytes(value[1])
            head += b'; filename="' + escaped(_as_bytes(filename)) + b'"\r\nContent-Type: application/octet-stream'
        else:
            data = _as_bytes(value)
        parts.append(b"--" + BOUNDARY.encode() + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n")
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


# --- the database, before and after -------------------------------------------------------------


def table_states(app) -> dict[str, tuple[int, str]]:
    """Each compared table's row count and a checksum of its rows (ordered by primary key)."""
    states = {}
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            ignored = IGNORED.get(table.name, set())
            if ignored is None:
                continue
            columns = [c for c in table.columns if c.name not in ignored]
            rows = connection.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            states[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return states


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


# --- the tests ----------------------------------------------------------------------------------


# SCIM (/scim/v2) takes JSON from an identity provider, not a form from a browser: its bad input is
# tested in tests/test_scim.py, random JSON included (test_random_json_is_answered_with_scim_errors).
JSON_APIS = ("/scim/v2/",)


def post_rules(app) -> set[str]:
    """Every rule that takes a POSTed form."""
    return {
        rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith(JSON_APIS)
    }


def test_every_post_rule_is_fuzzed(app):
    assert set(TARGETS) == post_rules(app)


class Session:
    """A client signed in as the target's role, the form's URL, fields and CSRF token.

    The fields and the valid form are those of the first reading: hypothesis needs the same
    strategy for every example. When a fresh reading names its fields differently (a new quiz
    attempt numbers its questions anew, drawn in the same order), `names` maps the first
    reading's names to the current ones.
    """

    def __init__(self, app, seed: Seed, target: Target, rule: str):
        self.app, self.seed, self.target, self.rule = app, seed, target, rule
        self.fields: dict[str, Field] = {}
        self.refresh()

    def refresh(self) -> None:
        # Setting up a state counts too (every reset-link request does), and check() never runs for
        # an example that hypothesis drops before it is sent.
        limiter.reset()
        self.client = self.app.test_client()
        if self.target.role:
            self.seed.sign_in(self.client, self.target.role, self.target.two_step)
        values = SeedValues(self.seed)
        self.url = self.target.url.format_map(values)
        matched, _ = self.app.url_map.bind("localhost").match(self.url, method="POST", return_rule=True)
        assert matched.rule == self.rule, f"{self.url} is {matched.rule}, not {self.rule}"
        if callable(self.target.page):
            page, html = "/", self.target.page(self.seed, self.client)
        else:
            page = self.target.page.format_map(values)
            response = self.client.get(page)
            assert response.status_code == 200, f"{page}: {response.status_code}"
            html = response.get_data(as_text=True)
        fields = form_fields(html, page, self.url)
        token = fields.pop("csrf_token", None)
        self.token = token.values[0] if token else re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        if not self.fields:
            self.fields, self.baseline = fields, self._valid_form(fields, values)
        else:
            self.baseline |= self._tokens(fields) | self._good_values(values)
        assert _shape(fields) == _shape(self.fields), f"the form on {page} changed between examples"
        self.names = dict(zip(self.fields, fields, strict=True))

    def _valid_form(self, fields: dict[str, Field], values) -> dict[str, list]:
        """What the page would send, with the target's good values where the page leaves a gap."""
        baseline = {}
        for name, item in fields.items():
            first_choice = (item.kind == "radio" or (item.kind == "checkbox" and self.target.tick)) and not item.values
            baseline[name] = item.choices[:1] if first_choice else list(item.values)
        unknown = set(self.target.good) - set(baseline)
        assert not unknown, f"no such fields on the form: {unknown}"
        return baseline | self._good_values(values)

    @staticmethod
    def _tokens(fields: dict[str, Field]) -> dict[str, list]:
        """A prefixed form's own CSRF token, which belongs to the client's session."""
        return {name: item.values for name, item in fields.items() if name.endswith("csrf_token")}

    def _good_values(self, values) -> dict[str, list]:
        """The target's good values, read anew (a code or a recovery code works once)."""
        return {
            name: [value.format_map(values) if isinstance(value, str) else value]
            for name, value in self.target.good.items()
        }

    def post(self, pairs: list, as_multipart: bool) -> int:
        pairs = [("csrf_token", self.token), *((self.names.get(name, name), value) for name, value in pairs)]
        if as_multipart or any(isinstance(value, tuple) for _, value in pairs):
            body, content_type = multipart(pairs), f"multipart/form-data; boundary={BOUNDARY}"
        else:
            body, content_type = urlencoded(pairs), "application/x-www-form-urlencoded"
        response = self.client.post(self.url, data=body, content_type=content_type)
        status = response.status_code
        response.close()
        return status


def _shape(fields: dict[str, Field]) -> list:
    """Kinds and choices of the fields, less the CSRF tokens (a new client has new ones)."""
    return [(item.kind, [] if name.endswith("csrf_token") else sorted(item.choices)) for name, item in fields.items()]


def check(app, session: Session, pairs: list, as_multipart: bool = False) -> int:
    """Send one form; below 500 always, and a refused one (4xx) leaves every compared table as it was."""
    limiter.reset()
    before = table_states(app)
    status = session.post(pairs, as_multipart)
    assert status < 500, f"{session.url} answered {status}"
    if 400 <= status < 500:
        changed = changed_tables(before, table_states(app))
        assert not changed, f"{session.url} answered {status} but changed {changed}"
    return status


@pytest.fixture
def seed(app, make_user, course, monkeypatch):
    """The records, with two-step sign-in checking codes against the seed's clock."""
    seed = Seed(app, make_user, course)
    monkeypatch.setattr(mfa, "clock", seed.clock)
    yield seed
    seed.close()


@pytest.mark.parametrize("rule", sorted(TARGETS))
def test_hostile_form_data_never_fails_or_half_writes(app, seed, rule):
    target = TARGETS[rule]
    session = Session(app, seed, target, rule)

    assert check(app, session, [("x", Blob(OVERSIZED))]) == 413

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(data=st.data())
    def send(data):
        if target.new_client or target.fresh:
            session.refresh()
        pairs = data.draw(form_data(session.fields, session.baseline, seed.known_values), label="form")
        check(app, session, pairs, data.draw(st.booleans(), label="multipart"))

    send()
