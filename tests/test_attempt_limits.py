"""Attempt limits, the wait after a failed attempt, and HR's extra attempts, through the pages."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.helpers import answer_key, start_quiz, submit
from training.audit.models import AuditEvent
from training.content.models import Course
from training.db import utcnow
from training.extensions import db
from training.quizzes.models import AttemptAllowance, QuizAttempt


def limit(app, max_attempts=None, wait=0):
    with app.app_context():
        course = db.session.execute(select(Course)).scalar_one()
        course.max_attempts, course.attempt_wait_minutes = max_attempts, wait
        db.session.commit()
        return course.id


def fail_once(app, auth):
    attempt_id = start_quiz(auth, "test-course")
    assert submit(auth, attempt_id, answer_key(app, attempt_id, wrong=3)).status_code == 302
    return attempt_id


def start(auth):
    return auth.post("/courses/test-course/quiz", token_from="/courses/test-course")


def test_a_learner_who_used_every_attempt_cannot_start_another(app, client, auth, make_user, course):
    limit(app, max_attempts=2)
    auth.login(make_user())
    assert "You have 2 of 2 attempts left." in client.get("/courses/test-course").get_data(as_text=True)
    fail_once(app, auth)
    fail_once(app, auth)
    html = client.get("/courses/test-course").get_data(as_text=True)
    assert "You have used all 2 attempts. Your HR team can allow another attempt." in html
    assert "Start the quiz" not in html
    response = start(auth)
    assert response.status_code == 409
    assert "You have used all 2 attempts" in response.get_data(as_text=True)


def test_an_open_attempt_can_always_be_continued(app, client, auth, make_user, course):
    limit(app, max_attempts=1)
    auth.login(make_user())
    first = start_quiz(auth, "test-course")
    assert start_quiz(auth, "test-course") == first
    assert "Continue the quiz" in client.get("/courses/test-course").get_data(as_text=True)


def test_no_limit_means_unlimited(app, auth, make_user, course):
    auth.login(make_user())
    for _ in range(4):
        fail_once(app, auth)


def test_the_wait_after_a_failed_attempt(app, client, auth, make_user, course):
    limit(app, wait=30)
    app.config["ORGANISATION_TIMEZONE"] = "America/Chicago"
    learner = make_user()
    auth.login(learner)
    attempt_id = fail_once(app, auth)
    html = client.get("/courses/test-course").get_data(as_text=True)
    assert "You can start your next attempt after" in html and ("CST" in html or "CDT" in html)
    assert start(auth).status_code == 409
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        attempt.submitted_at = utcnow() - timedelta(minutes=31)
        db.session.commit()
    assert start(auth).status_code == 302


def test_no_wait_after_a_pass(app, client, auth, make_user, course):
    limit(app, wait=30)
    auth.login(make_user())
    attempt_id = start_quiz(auth, "test-course")
    submit(auth, attempt_id, answer_key(app, attempt_id))
    assert "next attempt after" not in client.get("/courses/test-course").get_data(as_text=True)


def grant_form(auth, person_id, **values) -> dict[str, str]:
    """The person page's form as HR fills it in: its CSRF token and one-time key, with `values`."""
    html = auth.client.get(f"/compliance/people/{person_id}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html)
    data = {"course": "", "extra_attempts": "1", "reason": "The ward network failed during the attempt."}
    data |= {"csrf_token": csrf_token(auth.client, f"/compliance/people/{person_id}")}
    return data | ({"idempotency_key": key.group(1)} if key else {}) | values


def grant(auth, person_id, **values):
    return post_grant(auth, person_id, grant_form(auth, person_id, **values))


def post_grant(auth, person_id, data):
    return auth.client.post(f"/compliance/people/{person_id}/allowances", data=data)


def test_hr_allows_an_extra_attempt(app, client, auth, make_user, course):
    course_id = limit(app, max_attempts=1)
    learner = make_user()
    auth.login(learner)
    fail_once(app, auth)
    assert start(auth).status_code == 409
    auth.logout()
    hr = make_user(role="hr")
    auth.login(hr)
    page = client.get(f"/compliance/people/{learner.id}").get_data(as_text=True)
    assert "Allow extra attempts" in page and "No extra attempts allowed." in page
    response = grant(auth, learner.id, course=str(course_id))
    assert response.status_code == 302
    page = client.get(f"/compliance/people/{learner.id}").get_data(as_text=True)
    assert "The ward network failed during the attempt." in page and hr.name in page
    with app.app_context():
        allowance = db.session.execute(select(AttemptAllowance)).scalar_one()
        assert (allowance.user_id, allowance.cycle, allowance.extra_attempts, allowance.granted_by_id) == (
            learner.id,
            0,
            1,
            hr.id,
        )
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "attempt_allowance.granted")
        ).scalar_one()
        assert event.actor_id == hr.id and event.subject_id == str(learner.id)
        assert event.details["extra_attempts"] == 1
    auth.logout()
    auth.login(learner)
    assert start(auth).status_code == 302


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"extra_attempts": "6"}, "from 1 to 5"),
        ({"extra_attempts": "0"}, "from 1 to 5"),
        ({"extra_attempts": "lots"}, "Not a valid integer"),
        ({"course": "99999"}, "Not a valid choice"),
        ({"course": "abc"}, "could not coerce"),
        ({"reason": ""}, "Say why"),
        ({"reason": "r" * 301}, "300 characters"),
    ],
)
def test_bad_allowances_are_refused(app, auth, make_user, course, values, message):
    course_id = limit(app, max_attempts=1)
    learner = make_user()
    auth.login(make_user(role="admin"))
    response = grant(auth, learner.id, **({"course": str(course_id)} | values))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(AttemptAllowance)).first() is None


def test_a_course_without_a_limit_cannot_be_chosen(app, auth, make_user, course):
    course_id = limit(app, max_attempts=None)
    learner = make_user()
    auth.login(make_user(role="hr"))
    assert grant(auth, learner.id, course=str(course_id)).status_code == 422


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_managers_and_staff_cannot_grant(app, client, auth, make_user, course, role):
    course_id = limit(app, max_attempts=1)
    learner = make_user(department="Ward 1")
    auth.login(make_user(role=role, department="Ward 1"))
    assert grant(auth, learner.id, course=str(course_id)).status_code == 403
    if role == "manager":
        assert "Allow extra attempts" not in client.get(f"/compliance/people/{learner.id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(AttemptAllowance)).first() is None


def test_anonymous_cannot_grant(client, make_user, course):
    learner = make_user()
    data = {"csrf_token": csrf_token(client, "/login"), "course": "1", "extra_attempts": "1", "reason": "x"}
    response = client.post(f"/compliance/people/{learner.id}/allowances", data=data)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_granting_to_an_unknown_person_is_404(auth, make_user, course):
    auth.login(make_user(role="hr"))
    assert grant(auth, 99999, course="1").status_code == 404


# --- one grant per form: the one-time key (ASVS 2.3.3, 2.3.4) ----------------------------------------


def allowances_and_events(app) -> tuple[list[tuple[int, int]], int]:
    with app.app_context():
        rows = db.session.execute(select(AttemptAllowance.user_id, AttemptAllowance.extra_attempts)).all()
        granted = select(func.count()).where(AuditEvent.action == "attempt_allowance.granted")
        return [tuple(row) for row in rows], db.session.execute(granted).scalar_one()


def test_the_same_form_submitted_twice_grants_once(app, client, auth, make_user, course):
    course_id = limit(app, max_attempts=1)
    learner = make_user()
    auth.login(make_user(role="hr"))
    data = grant_form(auth, learner.id, course=str(course_id), extra_attempts="2")
    first, second = post_grant(auth, learner.id, data), post_grant(auth, learner.id, data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert allowances_and_events(app) == ([(learner.id, 2)], 1)
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "may make 2 more attempt(s)" in page
    auth.logout()
    auth.login(learner)
    assert "You have 3 of 3 attempts left." in client.get("/courses/test-course").get_data(as_text=True)


def test_two_forms_grant_twice(app, auth, make_user, course):
    course_id = limit(app, max_attempts=1)
    learner = make_user()
    auth.login(make_user(role="hr"))
    assert grant(auth, learner.id, course=str(course_id)).status_code == 302
    assert grant(auth, learner.id, course=str(course_id)).status_code == 302
    assert allowances_and_events(app) == ([(learner.id, 1), (learner.id, 1)], 2)


@pytest.mark.parametrize("key", [None, "", "short", "x" * 42 + "<", "a" * 65, "\u00e9" * 43])
def test_a_missing_or_tampered_key_is_refused_and_writes_nothing(app, auth, make_user, course, caplog, key):
    course_id = limit(app, max_attempts=1)
    learner = make_user()
    hr = make_user(role="hr")
    auth.login(hr)
    data = grant_form(auth, learner.id, course=str(course_id))
    if key is None:
        del data["idempotency_key"]
    else:
        data["idempotency_key"] = key
    response = post_grant(auth, learner.id, data)
    assert response.status_code == 400
    assert "This form was changed or is out of date. Reload the page" in response.get_data(as_text=True)
    assert allowances_and_events(app) == ([], 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "training.security"]
    assert [line for line in lines if line.startswith("tampering ") and f'person="{hr.id}"' in line]


def test_a_key_already_used_for_another_grant_is_refused(app, auth, make_user, course):
    course_id = limit(app, max_attempts=1)
    learner, other = make_user(), make_user()
    auth.login(make_user(role="hr"))
    data = grant_form(auth, learner.id, course=str(course_id))
    assert post_grant(auth, learner.id, data).status_code == 302
    response = post_grant(auth, other.id, data)
    assert response.status_code == 400 and "Reload the page" in response.get_data(as_text=True)
    auth.logout()
    auth.login(make_user(role="admin"))
    assert post_grant(auth, learner.id, data | {"csrf_token": csrf_token(auth.client, "/")}).status_code == 400
    assert allowances_and_events(app) == ([(learner.id, 1)], 1)
