"""A small organisation seeded for the API tests, and tokens created through the settings page."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update

from tests.conftest import Auth, csrf_token
from tests.helpers import complete_course
from tests.saved_worlds import built_once
from training.auth.models import User
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.compliance.models import Requirement
from training.compliance.obligations import refresh_obligations
from training.content.models import Course
from training.courses import services as course_services
from training.courses.services import mark_module_complete
from training.db import utcnow
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion
from training.quizzes import attempts as quiz_attempts

TOKEN_ON_PAGE = re.compile(r'value="(trn_[A-Za-z0-9_-]{43})"')


@dataclass(frozen=True)
class Org:
    """Employee ids of the seeded people, and the serial of Alice's certificate (display form)."""

    alice: str = "E001"  # Emergency, completed the course, attested the policy
    bob: str = "E002"  # Emergency, started a quiz and left it open: overdue
    carol: str = "P001"  # Pharmacy, completed 400 days ago: expired
    dave: str = "X001"  # deactivated, completed the course before leaving
    serial: str = ""
    hr_email: str = ""


def seed_org(app, auth, make_user, make_requirement, saved: dict | None = None) -> Org:
    """With `saved` (the `saved_worlds` fixture), built once per module and restored for the other tests."""
    if saved is not None:
        return built_once(saved, "api org", app, lambda: seed_org(app, auth, make_user, make_requirement))
    hr = make_user(role="hr", name="Hana Reyes", department="People")
    alice = make_user(name="Alice Adams", department="Emergency", employee_id="E001", hire_date=date(2020, 1, 6))
    bob = make_user(name="Bob Brown", department="Emergency", job_title="Porter", employee_id="E002")
    carol = make_user(name="Carol Chen", department="Pharmacy", job_title="Pharmacist", employee_id="P001")
    dave = make_user(name="Dave Diaz", department="Pharmacy", employee_id="X001")
    with app.app_context():
        policy = Policy(slug="social-media", title="Social media policy", created_by_id=hr.id)
        db.session.add(policy)
        db.session.flush()
        version = PolicyVersion(
            policy_id=policy.id,
            version=1,
            body="Do not post about patients.",
            statement="I have read and will follow the social media policy.",
            content_hash="0" * 64,
            published_by_id=hr.id,
        )
        db.session.add(version)
        db.session.flush()
        db.session.add(Attestation(user_id=alice.id, policy_version_id=version.id, statement=version.statement))
        db.session.commit()
    make_requirement("test-course", due_within_days=30)
    make_requirement(policy="social-media", department="Emergency", due_within_days=30)
    for person in (alice, dave):
        auth.login(person)
        complete_course(app, auth)
        auth.logout()
    complete_at(app, carol.id, utcnow() - timedelta(days=400))
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        course_services.start_quiz(bob.id, course)  # open: no score, no result yet
    with app.app_context():
        # The rules were made 60 days ago, so what is not done is overdue today.
        db.session.execute(update(Requirement).values(created_at=utcnow() - timedelta(days=60)))
        db.session.execute(update(User).where(User.id == dave.id).values(active=False))
        refresh_obligations()
        db.session.commit()
        serial = db.session.execute(select(Certificate.serial).where(Certificate.user_id == alice.id)).scalar_one()
    return Org(serial=display_serial(serial), hr_email=hr.email)


def complete_at(app, user_id: int, when) -> None:
    """Complete the test course at a past moment, through the services (as the demo does)."""
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        for offset, module in enumerate(course.modules):
            mark_module_complete(user_id, module, now=when + timedelta(minutes=offset))
        attempt = course_services.start_quiz(user_id, course, now=when)
        answers = {q.id: sorted(q.correct_option_ids) for q in quiz_attempts.gradable(attempt)}
        course_services.submit_quiz(user_id, attempt.id, answers, now=when + timedelta(minutes=5))


def create_token_in_ui(app, email: str, name: str = "Payroll sync") -> str:
    """Sign in as `email` with a client of its own, create a token on the settings page, return it."""
    client = app.test_client()
    Auth(client).login(email)
    response = client.post(
        "/settings/api-tokens", data={"name": name, "csrf_token": csrf_token(client, "/settings/api-tokens")}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return TOKEN_ON_PAGE.search(response.get_data(as_text=True)).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
