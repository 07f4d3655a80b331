"""Refusals only a crafted request can cause are logged as tampering, rate-limited (ASVS 16.3.3).

Each kind of crafted request writes one `tampering` line on the `training.security` logger, naming
what was refused, the signed-in person's id and the client address; a flood writes at most
TAMPERING_LOG_LIMIT lines and one `tampering_suppressed` line; honest mistakes write none.
"""

import io
import re
import time

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.helpers import answer_key, start_quiz, submit
from training.auth.models import Department
from training.content.models import Course, Question
from training.extensions import db

STAFF_CSV = (
    b"employee_id,name,email,department,job_title,hire_date,manager_email\r\n"
    b"E10,Nia Okafor,nia@example.org,Pharmacy,Registered Nurse,2024-03-31,\r\n"
)


@pytest.fixture(autouse=True)
def import_folders(app, tmp_path):
    app.config["STAFF_IMPORT_DIR"] = str(tmp_path / "staff-imports")


def security_lines(caplog, event: str) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name == "training.security"]
    return [line for line in lines if line.split(" ", 1)[0] == event]


def department_id(app, name: str) -> int:
    with app.app_context():
        return db.session.execute(select(Department.id).where(Department.name == name)).scalar_one()


# --- the crafted requests: each signs someone in, sets up, and sends one; returns (person, response) --


def _learner_with_attempt(auth, make_user, course):
    learner = make_user()
    auth.login(learner)
    return learner, start_quiz(auth, course)


def option_not_in_the_attempt(app, auth, make_user, course):
    learner, attempt = _learner_with_attempt(auth, make_user, course)
    data = answer_key(app, attempt)
    data[next(iter(data))] = ["999999"]
    return learner, submit(auth, attempt, data), 400


def option_of_another_question(app, auth, make_user, course):
    learner, attempt = _learner_with_attempt(auth, make_user, course)
    data = answer_key(app, attempt)
    first, second = list(data)[:2]
    data[first] = data[second][:1]
    return learner, submit(auth, attempt, data), 400


def unknown_attempt_id(app, auth, make_user, course):
    learner = make_user()
    auth.login(learner)
    return learner, auth.client.get("/attempts/999999"), 404


def someone_elses_attempt_id(app, auth, make_user, course):
    _, attempt = _learner_with_attempt(auth, make_user, course)
    auth.logout()
    other = make_user()
    auth.login(other)
    return other, auth.post(f"/attempts/{attempt}", answer_key(app, attempt), token_from="/"), 404


def _manager_and_radiology(app, auth, make_user):
    manager = make_user("manager", department="Emergency")
    make_user(department="Radiology")
    auth.login(manager)
    return manager, department_id(app, "Radiology")


def forged_department_on_the_people_list(app, auth, make_user, course):
    manager, radiology = _manager_and_radiology(app, auth, make_user)
    return manager, auth.client.get(f"/compliance/people?department={radiology}"), 422


def forged_department_on_the_export(app, auth, make_user, course):
    manager, radiology = _manager_and_radiology(app, auth, make_user)
    return manager, auth.client.get(f"/compliance/export.csv?department={radiology}"), 200


def forged_department_on_the_audit_packet(app, auth, make_user, course):
    manager, radiology = _manager_and_radiology(app, auth, make_user)
    data = {"scope": "department", "department": str(radiology), "date_from": "2026-01-01", "date_to": "2026-01-31"}
    return manager, auth.post("/compliance/packet", data=data, token_from="/compliance/packet"), 422


def _staged_staff_import(auth, make_user):
    hr = make_user(role="hr", department="Pharmacy")
    auth.login(hr)
    upload = {"file": (io.BytesIO(STAFF_CSV), "staff.csv")}
    preview = auth.post("/staff/import", upload, token_from="/staff/import", content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    digest = re.search(r'name="sha256" type="hidden" value="([^"]+)"', html).group(1)
    return hr, {"token": token, "sha256": digest}


def another_persons_staged_import_token(app, auth, make_user, course):
    _, form = _staged_staff_import(auth, make_user)
    auth.logout()
    other = make_user(role="hr")
    auth.login(other)
    return other, auth.post("/staff/import/apply", form, token_from="/staff/import"), 404


def wrong_staged_import_digest(app, auth, make_user, course):
    hr, form = _staged_staff_import(auth, make_user)
    return hr, auth.post("/staff/import/apply", form | {"sha256": "0" * 64}, token_from="/staff/import"), 404


def tampered_question_status_action(app, auth, make_user, course):
    author = make_user(role="author")
    auth.login(author)
    with app.app_context():
        question_id = db.session.execute(select(Question.id).where(Question.key == "tc-q1")).scalar_one()
    url = f"/authoring/questions/{question_id}"
    return author, auth.post(f"{url}/status", {"action": "unretire-everything"}, token_from=url), 400


def tampered_course_publish_action(app, auth, make_user, course):
    author = make_user(role="author")
    auth.login(author)
    url = f"/authoring/courses/{course}/settings"
    return author, auth.post(f"/authoring/courses/{course}/publish", {"action": "delete"}, token_from=url), 400


CRAFTED = [
    option_not_in_the_attempt,
    option_of_another_question,
    unknown_attempt_id,
    someone_elses_attempt_id,
    forged_department_on_the_people_list,
    forged_department_on_the_export,
    forged_department_on_the_audit_packet,
    another_persons_staged_import_token,
    wrong_staged_import_digest,
    tampered_question_status_action,
    tampered_course_publish_action,
]


@pytest.mark.parametrize("crafted", CRAFTED, ids=lambda scenario: scenario.__name__)
def test_each_crafted_request_writes_one_tampering_line_with_the_person_and_address(
    app, auth, make_user, course, caplog, crafted
):
    caplog.set_level("WARNING", logger="training.security")
    person, response, status = crafted(app, auth, make_user, course)
    assert response.status_code == status
    (line,) = security_lines(caplog, "tampering")
    assert ' ip="127.0.0.1" ' in line and f' person="{person.id}"' in line
    assert re.search(r' what="[a-z ]+"', line)
    assert security_lines(caplog, "tampering_suppressed") == []


def test_a_refused_csrf_check_names_the_signed_in_person(app, auth, make_user, caplog):
    nurse = make_user()
    auth.login(nurse)
    caplog.set_level("WARNING", logger="training.security")
    assert auth.client.post("/account/password", data={"current_password": "x"}).status_code == 400
    (line,) = security_lines(caplog, "csrf_refused")
    assert line.endswith(f' person="{nurse.id}"') and ' ip="127.0.0.1" ' in line
    caplog.clear()
    auth.logout()
    assert auth.client.post("/login", data={"email": "a@example.org"}).status_code == 400
    (line,) = security_lines(caplog, "csrf_refused")
    assert line.endswith(' person="anonymous"')


def test_a_flood_of_crafted_requests_writes_at_most_the_limit_and_one_summary(app, auth, make_user, caplog):
    limit = 10
    assert app.config["TAMPERING_LOG_LIMIT"] == f"{limit} per minute"
    prober = make_user()
    auth.login(prober)
    caplog.set_level("WARNING", logger="training.security")
    statuses = {auth.client.get(f"/attempts/{900000 + n}").status_code for n in range(200)}
    assert statuses == {404}, "the refusals themselves are not limited"
    assert len(security_lines(caplog, "tampering")) == limit
    (summary,) = security_lines(caplog, "tampering_suppressed")
    assert f'person="{prober.id}"' in summary and 'limit="10 per 1 minute"' in summary
    caplog.clear()
    auth.logout()
    auth.login(make_user())
    assert auth.client.get("/attempts/999999").status_code == 404
    assert len(security_lines(caplog, "tampering")) == 1, "another person is counted on their own"


def test_the_next_line_after_a_flood_says_how_many_were_left_out(app, auth, make_user, caplog):
    app.config["TAMPERING_LOG_LIMIT"] = "2 per 2 seconds"
    auth.login(make_user())
    caplog.set_level("WARNING", logger="training.security")
    started = time.monotonic()
    for n in range(5):
        auth.client.get(f"/attempts/{900000 + n}")
    assert time.monotonic() - started < 2, "the five requests fitted in one window"
    assert len(security_lines(caplog, "tampering")) == 2
    time.sleep(max(0.0, started + 2.2 - time.monotonic()))
    caplog.clear()
    auth.client.get("/attempts/999999")
    (line,) = security_lines(caplog, "tampering")
    assert line.endswith('suppressed_before="3"')


def test_honest_mistakes_write_no_tampering_line(app, auth, make_user, course, caplog):
    caplog.set_level("WARNING", logger="training.security")
    assert auth.login("nobody@example.org", password="not the password").status_code == 401
    learner = make_user()
    assert auth.login(learner, password="a wrong password").status_code == 401
    auth.login(learner)
    attempt = start_quiz(auth, course)
    assert submit(auth, attempt, {}).status_code == 422, "an empty quiz form"
    first = next(iter(answer_key(app, attempt).items()))
    assert submit(auth, attempt, dict([first])).status_code == 422, "a partly answered quiz"
    assert submit(auth, attempt, answer_key(app, attempt)).status_code == 302
    assert submit(auth, attempt, answer_key(app, attempt)).status_code == 409, "a second click on submit"
    auth.logout()
    hr = make_user(role="hr", department="Pharmacy")
    auth.login(hr)
    with app.app_context():
        db.session.execute(select(Course)).scalar_one().max_attempts = 1
        db.session.commit()
    assert auth.client.get(f"/compliance/people?department={department_id(app, 'Pharmacy')}").status_code == 200
    path = f"/compliance/people/{learner.id}"
    page = auth.client.get(path).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page)
    empty = {"course": "", "extra_attempts": "", "reason": "", "idempotency_key": key.group(1)}
    empty["csrf_token"] = csrf_token(auth.client, path)
    assert auth.client.post(f"{path}/allowances", data=empty).status_code == 422, "an empty form"
    assert security_lines(caplog, "tampering") == []
