"""Twenty identical requests at the same moment leave exactly the allowed result (ASVS 2.3.3, 2.3.4).

Each scenario plays ROUNDS rounds of CLIENTS requests released together (tests/concurrency.py), on
SQLite and on PostgreSQL, with a requirement in force so every write also rebuilds obligations.
Every request must get a clear answer (never a 500) and the database must hold exactly one result.
Run with `-s` to see the outcome counts and wall time of each scenario.
"""

import io
import re
from contextlib import contextmanager
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.concurrency import CLIENTS, POOL, ROUNDS, at_once, copies, report
from tests.conftest import Auth, csrf_token, question_yaml
from tests.helpers import answer_key, complete_course, complete_modules, start_quiz, submit
from training.audit.models import AuditEvent
from training.auth.models import User
from training.certificates.issuing import issue_missing
from training.certificates.models import Certificate, CertificateFile, CertificateRevocation
from training.certificates.serials import display_serial
from training.completions.models import Completion, ModuleProgress
from training.compliance.models import Obligation
from training.config import engine_options
from training.content.models import Course, Question, QuestionVersion, TrainingModule
from training.extensions import db
from training.quizzes.models import AttemptAllowance, AttemptAnswer, AttemptQuestion, QuizAttempt

# How long a request waits for a lock, shortened for the test of what happens when the wait runs out.
SHORT_LOCK_WAIT = {
    "sqlite": {"connect_args": {"timeout": 0.2}},
    "postgresql": {"connect_args": {"options": "-c lock_timeout=200"}},
}


@pytest.fixture
def app_config(request, backend):
    """A pool large enough for every request to hold its own connection at once."""
    url = "sqlite://" if backend == "sqlite" else "postgresql://"
    options = engine_options(url) | POOL
    if getattr(request, "param", None) == "short lock wait":
        options |= SHORT_LOCK_WAIT[backend]
    return {"SQLALCHEMY_ENGINE_OPTIONS": options}


@pytest.fixture(autouse=True)
def upload_folders(app, tmp_path):
    app.config["STAFF_IMPORT_DIR"] = str(tmp_path / "staff-imports")
    app.config["AUTHORING_IMPORT_DIR"] = str(tmp_path / "question-imports")


@pytest.fixture(autouse=True)
def counts_agree_after_the_race(app):
    """After every race, the overview's counts still agree with the obligations they summarise."""
    yield
    result = app.test_cli_runner().invoke(args=["compliance", "reconcile"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def required(course, make_requirement):
    """The test course is required of everyone, so each write also rebuilds the person's obligations."""
    make_requirement(course)
    return course


def signed_in(app: Flask, user) -> FlaskClient:
    browser = app.test_client()
    assert Auth(browser).login(user).status_code == 302
    return browser


def all_post(app: Flask, clients: list[FlaskClient], path: str, data: dict):
    """Every client posts the same form to `path` at the same moment."""
    return at_once(app, [partial(client.post, path, data=data) for client in clients])


def count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def events(action: str) -> int:
    return count(AuditEvent, AuditEvent.action == action)


def set_attempt_limit(app: Flask, max_attempts: int | None) -> None:
    with app.app_context():
        db.session.execute(select(Course)).scalar_one().max_attempts = max_attempts
        db.session.commit()


def course_obligation(user_id: int) -> Obligation:
    return db.session.execute(select(Obligation).where(Obligation.user_id == user_id)).scalar_one()


# --- a) submitting one attempt ------------------------------------------------------------------------


@pytest.mark.renders_certificates_at_completion
def test_one_attempt_submitted_twenty_times_is_graded_once(app, backend, make_user, required):
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        browser = signed_in(app, learner)
        complete_modules(Auth(browser))
        attempt_id = start_quiz(Auth(browser), required)
        data = answer_key(app, attempt_id) | {"csrf_token": csrf_token(browser, f"/attempts/{attempt_id}")}
        clients = copies(app, browser)
        played.append((learner.id, attempt_id, all_post(app, clients, f"/attempts/{attempt_id}", data)))
    report("submit one attempt", backend, [r for _, _, r in played])
    for learner_id, attempt_id, result in played:
        assert result.errors() == []
        assert result.tally() == {302: 1, 409: CLIENTS - 1}
        assert all("already been submitted and graded" in o.text for o in result.with_status(409))
        with app.app_context():
            attempt = db.session.get(QuizAttempt, attempt_id)
            assert (attempt.score, attempt.passed) == (100, True)
            answered = AttemptAnswer.attempt_question_id.in_(
                select(AttemptQuestion.id).where(AttemptQuestion.attempt_id == attempt_id)
            )
            assert count(AttemptAnswer, answered) == 3
            assert count(QuizAttempt, QuizAttempt.user_id == learner_id) == 1
            assert count(Completion, Completion.user_id == learner_id) == 1
            assert count(Certificate, Certificate.user_id == learner_id) == 1
            certificate = db.session.execute(select(Certificate).where(Certificate.user_id == learner_id)).scalar_one()
            assert count(CertificateFile, CertificateFile.certificate_id == certificate.id) == 1
            assert course_obligation(learner_id).completed_on is not None


# --- b) starting an attempt ---------------------------------------------------------------------------


def test_twenty_starts_when_one_more_attempt_is_allowed_open_exactly_one(app, backend, make_user, required):
    set_attempt_limit(app, 2)
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        browser = signed_in(app, learner)
        failed = start_quiz(Auth(browser), required)
        assert submit(Auth(browser), failed, answer_key(app, failed, wrong=3)).status_code == 302
        data = {"csrf_token": csrf_token(browser, f"/courses/{required}")}
        clients = copies(app, browser)
        played.append((learner.id, all_post(app, clients, f"/courses/{required}/quiz", data)))
    report("start the last allowed attempt", backend, [r for _, r in played])
    for learner_id, result in played:
        assert result.errors() == []
        # One attempt in progress at a time: every request is sent to the same (new) attempt.
        assert result.tally() == {302: CLIENTS}
        assert len({o.location for o in result.outcomes}) == 1
        with app.app_context():
            assert count(QuizAttempt, QuizAttempt.user_id == learner_id) == 2
            assert count(QuizAttempt, QuizAttempt.user_id == learner_id, QuizAttempt.submitted_at.is_(None)) == 1


def test_starts_and_submits_racing_at_the_limit_never_exceed_it(app, backend, make_user, required):
    """Half the requests submit the last allowed attempt, half start another: the limit holds."""
    set_attempt_limit(app, 2)
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        browser = signed_in(app, learner)
        first = start_quiz(Auth(browser), required)
        assert submit(Auth(browser), first, answer_key(app, first, wrong=3)).status_code == 302
        last = start_quiz(Auth(browser), required)
        answers = answer_key(app, last, wrong=3) | {"csrf_token": csrf_token(browser, f"/attempts/{last}")}
        start = {"csrf_token": csrf_token(browser, f"/courses/{required}")}
        clients = copies(app, browser)
        half = CLIENTS // 2
        calls = [partial(c.post, f"/attempts/{last}", data=answers) for c in clients[:half]]
        calls += [partial(c.post, f"/courses/{required}/quiz", data=start) for c in clients[half:]]
        played.append((learner.id, last, half, at_once(app, calls)))
    report("submit and start at the limit", backend, [r for *_, r in played])
    for learner_id, last, half, result in played:
        assert result.errors() == []
        submits, starts = result.outcomes[:half], result.outcomes[half:]
        assert sorted(o.status for o in submits) == [302] + [409] * (half - 1)
        for outcome in starts:  # sent to the attempt while it was open, or refused once it was submitted
            assert (outcome.status == 302 and outcome.location.endswith(f"/attempts/{last}")) or (
                outcome.status == 409 and "You have used all 2 attempts" in outcome.text
            ), outcome.label
        with app.app_context():
            assert count(QuizAttempt, QuizAttempt.user_id == learner_id) == 2
            assert count(QuizAttempt, QuizAttempt.user_id == learner_id, QuizAttempt.submitted_at.is_(None)) == 0


# --- c) completing a course and its certificate ----------------------------------------------------------


def test_the_last_module_marked_twenty_times_completes_the_course_once(app, backend, make_user, required):
    """The quiz is passed first; the certificate is issued when the last module is marked done."""
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        browser = signed_in(app, learner)
        complete_modules(Auth(browser), modules=("intro",))
        attempt_id = start_quiz(Auth(browser), required)
        assert submit(Auth(browser), attempt_id, answer_key(app, attempt_id)).status_code == 302
        path = f"/courses/{required}/modules/photos"
        data = {"csrf_token": csrf_token(browser, path)}
        clients = copies(app, browser)
        played.append((learner.id, all_post(app, clients, f"{path}/complete", data)))
    report("complete the course (last module)", backend, [r for _, r in played])
    for learner_id, result in played:
        assert result.errors() == []
        assert result.tally() == {302: CLIENTS}
        with app.app_context():
            photos = select(TrainingModule.id).where(TrainingModule.slug == "photos")
            assert (
                count(ModuleProgress, ModuleProgress.user_id == learner_id, ModuleProgress.module_id.in_(photos)) == 1
            )
            assert count(Completion, Completion.user_id == learner_id) == 1
            assert count(Certificate, Certificate.user_id == learner_id) == 1
            assert course_obligation(learner_id).completed_on is not None


def test_hr_granting_extra_attempts_twenty_times_with_one_form_grants_once(app, backend, make_user, required):
    """A double-click (or twenty) on "Allow extra attempts": the form's one-time key grants once."""
    set_attempt_limit(app, 1)
    hr = signed_in(app, make_user(role="hr"))
    with app.app_context():
        course_id = db.session.execute(select(Course.id)).scalar_one()
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        path = f"/compliance/people/{learner.id}"
        key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', hr.get(path).get_data(as_text=True))
        data = {"course": str(course_id), "extra_attempts": "2", "reason": "The network failed during the attempt."}
        data |= {"idempotency_key": key.group(1), "csrf_token": csrf_token(hr, path)}
        played.append((learner.id, all_post(app, copies(app, hr), f"{path}/allowances", data)))
    report("grant extra attempts with one form", backend, [r for _, r in played])
    for learner_id, result in played:
        assert result.errors() == []
        assert result.tally() == {302: CLIENTS}, "every click gets the page the first one got"
        assert {o.location for o in result.outcomes} == {f"/compliance/people/{learner_id}#allowances-heading"}
        with app.app_context():
            granted = AttemptAllowance.user_id == learner_id
            assert count(AttemptAllowance, granted) == 1
            assert db.session.execute(select(AttemptAllowance.extra_attempts).where(granted)).scalar_one() == 2
    with app.app_context():
        assert events("attempt_allowance.granted") == ROUNDS


def test_hr_revoking_one_certificate_twenty_times_revokes_it_once(app, backend, make_user, required):
    hr = signed_in(app, make_user(role="hr"))
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        complete_course(app, Auth(signed_in(app, learner)))
        with app.app_context():
            serial = display_serial(
                db.session.execute(select(Certificate.serial).where(Certificate.user_id == learner.id)).scalar_one()
            )
        data = {"reason": "Issued in error: the quiz was taken by someone else."}
        data["csrf_token"] = csrf_token(hr, f"/certificates/{serial}")
        clients = copies(app, hr)
        played.append((learner.id, all_post(app, clients, f"/certificates/{serial}/revoke", data)))
    report("revoke a certificate", backend, [r for _, r in played])
    for learner_id, result in played:
        assert result.errors() == []
        assert result.tally() == {302: 1, 409: CLIENTS - 1}
        assert all("is already revoked" in o.text for o in result.with_status(409))
        with app.app_context():
            certificate = select(Certificate.id).where(Certificate.user_id == learner_id)
            assert count(CertificateRevocation, CertificateRevocation.certificate_id.in_(certificate)) == 1
    with app.app_context():
        assert events("certificate.revoked") == ROUNDS


def issue_missing_in_own_context(app: Flask) -> int:
    """What `flask certificates issue-missing` runs, in an app context (and session) of its own."""
    with app.app_context():
        return len(issue_missing())


def test_twenty_issue_missing_runs_at_once_issue_one_certificate_per_completion(app, backend, make_user, required):
    """The operator's command for completions recorded without a certificate, run twenty times at once."""
    played = []
    for _ in range(ROUNDS):
        learner = make_user()
        complete_course(app, Auth(signed_in(app, learner)))
        with app.app_context():  # as if the completion had been recorded before certificates existed
            mine = select(Certificate.id).where(Certificate.user_id == learner.id)
            db.session.execute(delete(CertificateFile).where(CertificateFile.certificate_id.in_(mine)))
            db.session.execute(delete(Certificate).where(Certificate.user_id == learner.id))
            db.session.commit()
        played.append((learner.id, at_once(app, [partial(issue_missing_in_own_context, app)] * CLIENTS)))
    report("issue missing certificates (service of the CLI)", backend, [r for _, r in played])
    for learner_id, result in played:
        assert result.errors() == []
        assert sorted(int(o.text) for o in result.outcomes) == [0] * (CLIENTS - 1) + [1]
        with app.app_context():
            assert count(Certificate, Certificate.user_id == learner_id) == 1


# --- d) applying one staff import -------------------------------------------------------------------


STAFF_HEADER = "employee_id,name,email,department,job_title,hire_date,manager_email"


def staff_csv(round_number: int) -> bytes:
    rows = [
        f"R{round_number}-{n},Person {n} of round {round_number},p{n}.r{round_number}@example.org,,Nurse,,"
        for n in range(5)
    ]
    return ("\r\n".join([STAFF_HEADER, *rows]) + "\r\n").encode()


def staged_fields(response) -> dict[str, str]:
    html = response.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html)
    digest = re.search(r'name="sha256" type="hidden" value="([^"]+)"', html)
    assert token and digest, "no apply form on the preview"
    return {"token": token.group(1), "sha256": digest.group(1)}


def test_one_staff_import_applied_twenty_times_imports_once(app, backend, make_user):
    hr = signed_in(app, make_user(role="hr"))
    played = []
    for round_number in range(ROUNDS):
        upload = {"file": (io.BytesIO(staff_csv(round_number)), "staff.csv")}
        preview = Auth(hr).post("/staff/import", upload, token_from="/staff/import", content_type="multipart/form-data")
        assert preview.status_code == 200, preview.get_data(as_text=True)
        data = staged_fields(preview) | {"csrf_token": csrf_token(hr, "/staff/import")}
        clients = copies(app, hr)
        played.append((round_number, all_post(app, clients, "/staff/import/apply", data)))
    report("apply one staff import", backend, [r for _, r in played])
    for round_number, result in played:
        assert result.errors() == []
        assert result.tally() == {302: 1, 409: CLIENTS - 1}
        assert all("already been imported" in o.text for o in result.with_status(409))
        with app.app_context():
            assert count(User, User.email.like(f"%.r{round_number}@example.org")) == 5
            assert count(User, User.employee_id.like(f"R{round_number}-%")) == 5
    with app.app_context():
        assert events("staff.imported") == ROUNDS
        assert events("staff.created") == 5 * ROUNDS


# --- the question bank: import, edit and create -------------------------------------------------------


QUESTION_IMPORT = "/authoring/courses/test-course/import"


def test_one_question_import_applied_twenty_times_imports_once(app, backend, make_user, course):
    author = signed_in(app, make_user(role="author"))
    played = []
    for round_number in range(ROUNDS):
        bank = question_yaml("tc-q1", "single", prompt=f"Prompt of round {round_number}?")
        bank += question_yaml(f"tc-new-{round_number}", "true_false")
        form = {"csrf_token": csrf_token(author, QUESTION_IMPORT), "status": "draft", "format": ""}
        form["file"] = FileStorage(io.BytesIO(bank.encode()), "bank.yaml")
        boundary, body = encode_multipart(MultiDict(form))
        preview = author.post(QUESTION_IMPORT, data=body, content_type=f"multipart/form-data; boundary={boundary}")
        assert preview.status_code == 200, preview.get_data(as_text=True)
        data = staged_fields(preview) | {"csrf_token": csrf_token(author, QUESTION_IMPORT)}
        clients = copies(app, author)
        played.append((round_number, all_post(app, clients, f"{QUESTION_IMPORT}/apply", data)))
    report("apply one question import", backend, [r for _, r in played])
    for round_number, result in played:
        assert result.errors() == []
        assert result.tally() == {302: 1, 409: CLIENTS - 1}
        assert all("already been imported" in o.text for o in result.with_status(409))
        with app.app_context():
            assert count(Question, Question.key == f"tc-new-{round_number}") == 1
    with app.app_context():
        assert events("question_bank.imported") == ROUNDS
        changed = select(Question.id).where(Question.key == "tc-q1")
        assert count(QuestionVersion, QuestionVersion.question_id.in_(changed)) == 1 + ROUNDS


EDIT_FORM = {
    "key": "",
    "type": "single",
    "scenario": "A nurse is asked by a reporter about a patient.",
    "options-0-text": "Decline and refer to communications",
    "options-0-correct": "y",
    "options-0-feedback": "Right: refer media to the communications office.",
    "options-1-text": "Confirm the patient is here",
    "options-1-feedback": "Confirming presence is a disclosure.",
    "explanation": "Refer all media questions to the communications office.",
    "tags": "Media",
    "references": "45 CFR 164.510(a)",
    "change_note": "",
}


def test_twenty_authors_saving_over_one_version_make_one_new_version(app, backend, make_user, course):
    """Each request saves a different text from the same version: one wins, the others are stale."""
    author = signed_in(app, make_user(role="author"))
    with app.app_context():
        question_id = db.session.execute(select(Question.id).where(Question.key == "tc-q1")).scalar_one()
    path = f"/authoring/questions/{question_id}/edit"
    played = []
    for round_number in range(ROUNDS):
        token = csrf_token(author, path)
        clients = copies(app, author)
        calls = [
            partial(
                client.post,
                path,
                data=EDIT_FORM
                | {
                    "csrf_token": token,
                    "base_version": str(round_number + 1),
                    "prompt": f"Edit {n} of round {round_number}?",
                },
            )
            for n, client in enumerate(clients)
        ]
        played.append(at_once(app, calls))
    report("save one question (stale edits)", backend, played)
    for result in played:
        assert result.errors() == []
        assert result.tally() == {302: 1, 409: CLIENTS - 1}
        assert all("while you were editing version" in o.text for o in result.with_status(409))
    with app.app_context():
        assert count(QuestionVersion, QuestionVersion.question_id == question_id) == 1 + ROUNDS
        assert events("question.saved") == ROUNDS


def test_twenty_new_questions_with_one_id_create_it_once(app, backend, make_user, course):
    author = signed_in(app, make_user(role="author"))
    path = "/authoring/courses/test-course/questions/new"
    played = []
    for round_number in range(ROUNDS):
        token = csrf_token(author, path)
        clients = copies(app, author)
        data = EDIT_FORM | {"csrf_token": token, "key": f"race-q{round_number}", "prompt": "Who may see the record?"}
        played.append(all_post(app, clients, path, data))
    report("create one question id", backend, played)
    for result in played:
        assert result.errors() == []
        assert result.tally() == {302: 1, 409: CLIENTS - 1}
        assert all("already exists" in o.text for o in result.with_status(409))
    with app.app_context():
        assert count(Question, Question.key.like("race-q%")) == ROUNDS
        assert events("question.created") == ROUNDS


# --- a lock that cannot be had in time ---------------------------------------------------------------


@contextmanager
def write_lock_held_elsewhere(app: Flask, backend: str, attempt_id: int):
    """Another connection holds what a submission must lock: SQLite's write lock (reads go on), or the
    attempt's row on PostgreSQL."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as holder:
        if backend == "sqlite":
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.execute(select(QuizAttempt.id).where(QuizAttempt.id == attempt_id).with_for_update())
        yield
        holder.rollback()


@pytest.mark.parametrize("app_config", ["short lock wait"], indirect=True)
def test_a_request_that_cannot_get_a_lock_in_time_is_a_503_to_retry_with_nothing_saved(app, backend, make_user, course):
    browser = signed_in(app, make_user())
    attempt_id = start_quiz(Auth(browser), course)
    answers = answer_key(app, attempt_id)
    with write_lock_held_elsewhere(app, backend, attempt_id):
        busy = submit(Auth(browser), attempt_id, answers)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert "The system is busy and nothing was saved." in busy.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(QuizAttempt, attempt_id).submitted_at is None
        assert count(AttemptAnswer) == 0
    assert submit(Auth(browser), attempt_id, answers).status_code == 302
