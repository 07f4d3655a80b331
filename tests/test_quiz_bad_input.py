"""Tampered, repeated and hostile quiz submissions: a clear 4xx, never a 500, never a second grade."""

import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.helpers import answer_key, attempts_of, start_quiz, submit
from training.extensions import db
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt


def answer_count(app, attempt_id):
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(AttemptAnswer)
            .join(AttemptQuestion)
            .where(AttemptQuestion.attempt_id == attempt_id)
        )


def assert_ungraded(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert attempt.submitted_at is None and attempt.score is None
    assert answer_count(app, attempt_id) == 0


@pytest.fixture
def attempt(app, auth, make_user, course):
    auth.login(make_user())
    return start_quiz(auth, course)


def test_option_not_in_the_attempt_is_rejected(app, auth, attempt):
    data = answer_key(app, attempt)
    first = next(iter(data))
    data[first] = ["999999"]
    response = submit(auth, attempt, data)
    assert response.status_code == 400
    assert "option that is not part of this question" in response.get_data(as_text=True)
    assert_ungraded(app, attempt)


def test_option_of_another_question_is_rejected(app, auth, attempt):
    data = answer_key(app, attempt)
    keys = list(data)
    data[keys[0]] = data[keys[1]][:1]
    assert submit(auth, attempt, data).status_code == 400
    assert_ungraded(app, attempt)


def test_question_not_in_the_attempt_is_rejected(app, auth, attempt):
    data = answer_key(app, attempt) | {"q-987654": ["1"]}
    response = submit(auth, attempt, data)
    assert response.status_code == 400
    assert "not part of this attempt" in response.get_data(as_text=True)
    assert_ungraded(app, attempt)


@pytest.mark.parametrize("field, value", [("q-abc", "1"), ("score", "100"), ("q-1", "not-a-number")])
def test_malformed_fields_are_rejected(app, auth, attempt, field, value):
    data = answer_key(app, attempt) | {field: [value]}
    assert submit(auth, attempt, data).status_code == 400
    assert_ungraded(app, attempt)


def test_two_options_for_a_single_choice_question_are_rejected(app, auth, attempt):
    with app.app_context():
        single = (
            db.session.execute(select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt)).scalars().all()
        )
        single = next(q for q in single if q.question_version.type == "single")
        options = [str(i) for i in single.option_order[:2]]
    data = answer_key(app, attempt) | {f"q-{single.id}": options}
    assert submit(auth, attempt, data).status_code == 400
    assert_ungraded(app, attempt)


def test_empty_submit_asks_for_answers_and_grades_nothing(app, auth, attempt):
    response = submit(auth, attempt, {})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "No answers were submitted" in html
    for number in (1, 2, 3):  # in the error summary and next to the question
        assert html.count(f"Choose an answer for question {number}.") == 2
    assert_ungraded(app, attempt)


def test_partial_submit_keeps_the_answers_given(app, auth, attempt):
    data = answer_key(app, attempt)
    kept_field, kept_values = next(iter(data.items()))
    response = submit(auth, attempt, {kept_field: kept_values})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "2 questions not answered yet." in html
    assert f'name="{kept_field}" id="{kept_field}-{kept_values[0]}" value="{kept_values[0]}" checked' in html
    assert_ungraded(app, attempt)


def test_second_submit_is_refused_and_keeps_the_first_grade(app, auth, attempt):
    assert submit(auth, attempt, answer_key(app, attempt, wrong=3)).status_code == 302
    response = submit(auth, attempt, answer_key(app, attempt))
    assert response.status_code == 409
    assert "already been submitted" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(QuizAttempt, attempt).score == 0
    assert answer_count(app, attempt) == 3


def test_someone_elses_attempt_is_not_found(app, client, auth, make_user, attempt):
    data = answer_key(app, attempt)
    auth.logout()
    auth.login(make_user())
    assert client.get(f"/attempts/{attempt}").status_code == 404
    response = auth.post(f"/attempts/{attempt}", data=data)
    assert response.status_code == 404
    assert_ungraded(app, attempt)


def test_unknown_attempt_is_not_found(auth, attempt):
    assert auth.post("/attempts/424242", data={}).status_code == 404


def test_attempt_for_an_unpublished_course_is_refused(app, auth, attempt, content_dirs, sync):
    data = answer_key(app, attempt)
    import shutil

    shutil.rmtree(content_dirs[0] / "test-course")
    (content_dirs[1] / "test-course.yaml").unlink()
    report = sync()
    assert report.courses_retired == ["test-course"]
    response = auth.post(f"/attempts/{attempt}", data=data)
    assert response.status_code == 404
    assert "no longer available" in response.get_data(as_text=True)
    assert_ungraded(app, attempt)
    assert auth.post("/courses/test-course/quiz", data={}).status_code == 404


def test_submit_without_csrf_is_refused(app, client, attempt):
    response = client.post(f"/attempts/{attempt}", data=answer_key(app, attempt))
    assert response.status_code == 400
    assert_ungraded(app, attempt)


def post_simultaneously(app, client, path, data, times=20):
    """POST the same form from `times` threads released together by a barrier, in the client's session.

    Returns every response; any exception in a thread fails the test.
    """
    cookie = client.get_cookie("session").value
    barrier = threading.Barrier(times)
    responses, errors = [], []

    def post_once():
        own = app.test_client()
        own.set_cookie("session", cookie)
        try:
            barrier.wait(timeout=30)
            responses.append(own.post(path, data=data))
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=post_once) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert len(responses) == times
    return responses


def test_twenty_simultaneous_submits_grade_once(app, client, auth, attempt):
    data = answer_key(app, attempt) | {"csrf_token": csrf_token(client, f"/attempts/{attempt}")}
    responses = post_simultaneously(app, client, f"/attempts/{attempt}", data)
    assert sorted(r.status_code for r in responses) == [302] + [409] * 19
    assert answer_count(app, attempt) == 3
    graded = [a for a in attempts_of(app, _owner(app, attempt)) if a.submitted_at is not None]
    assert len(graded) == 1


def _owner(app, attempt_id):
    with app.app_context():
        return db.session.get(QuizAttempt, attempt_id).user_id


def test_twenty_simultaneous_starts_open_one_attempt(app, client, auth, make_user, course):
    user = make_user()
    auth.login(user)
    token = csrf_token(client, "/courses/test-course")
    responses = post_simultaneously(app, client, "/courses/test-course/quiz", {"csrf_token": token})
    assert len({r.headers.get("Location") for r in responses}) == 1
    assert len(attempts_of(app, user.id)) == 1
