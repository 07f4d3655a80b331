"""A staff member works through a course: modules, quiz, feedback, completion."""

import re

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.helpers import answer_key, complete_modules, recorded_statements, start_quiz, submit
from training.completions.models import Completion, ModuleProgress
from training.extensions import db
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt

pytestmark = pytest.mark.smoke  # part of `make test-fast`


def test_home_lists_courses_with_status_and_progress(client, auth, make_user, course):
    auth.login(make_user())
    html = client.get("/").get_data(as_text=True)
    assert "Test Course" in html and "Not started" in html
    assert 'role="progressbar"' in html and 'aria-valuenow="0"' in html


def test_course_page_lists_modules_linked_by_title(client, auth, make_user, course):
    auth.login(make_user())
    html = client.get("/courses/test-course").get_data(as_text=True)
    assert '<a href="/courses/test-course/modules/intro">Intro</a>' in html
    assert '<a href="/courses/test-course/modules/photos">Photos</a>' in html


def test_module_page_renders_markdown_with_previous_and_next(client, auth, make_user, course):
    auth.login(make_user())
    html = client.get("/courses/test-course/modules/intro").get_data(as_text=True)
    assert "<h1>Intro</h1>" in html and "<h2>About Intro</h2>" in html
    assert 'href="/courses/test-course/modules/photos"><span class="muted">Next</span> Photos</a>' in html
    html = client.get("/courses/test-course/modules/photos").get_data(as_text=True)
    assert 'href="/courses/test-course/modules/intro"><span class="muted">Previous</span> Intro</a>' in html


def test_marking_a_module_complete_is_recorded_once(app, client, auth, make_user, course):
    user = make_user()
    auth.login(user)
    complete_modules(auth, modules=("intro", "intro"))
    with app.app_context():
        rows = db.session.execute(select(ModuleProgress).where(ModuleProgress.user_id == user.id)).scalars().all()
    assert len(rows) == 1
    html = client.get("/courses/test-course").get_data(as_text=True)
    assert "In progress" in html and 'aria-valuenow="33"' in html


def test_full_course_pass_records_completion(app, client, auth, make_user, course):
    user = make_user()
    auth.login(user)
    complete_modules(auth)
    attempt_id = start_quiz(auth, "test-course")
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert page.count("<fieldset") == 3 and "<legend>" in page and "Submit answers" in page
    assert 'type="checkbox"' in page and 'type="radio"' in page
    response = submit(auth, attempt_id, answer_key(app, attempt_id))
    assert response.status_code == 302
    result = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "100%: Passed" in result
    assert result.count("Correct</p>") == 3
    assert "45 CFR 164.502(b) minimum necessary" in result
    with app.app_context():
        completion = db.session.execute(select(Completion).where(Completion.user_id == user.id)).scalar_one()
        assert completion.score == 100 and completion.course_version == 1 and completion.attempt_id == attempt_id
        assert completion.expires_at.year == completion.completed_at.year + 1
    home = client.get("/").get_data(as_text=True)
    assert "Completed" in home and "valid until" in home and 'aria-valuenow="100"' in home


def test_passing_before_reading_completes_when_last_module_is_marked(app, client, auth, make_user, course):
    user = make_user()
    auth.login(user)
    attempt_id = start_quiz(auth, "test-course")
    submit(auth, attempt_id, answer_key(app, attempt_id))
    with app.app_context():
        assert db.session.execute(select(Completion)).first() is None
    complete_modules(auth)
    with app.app_context():
        assert db.session.execute(select(Completion.attempt_id)).scalar_one() == attempt_id


def test_failed_attempt_shows_feedback_and_allows_a_new_attempt(app, client, auth, make_user, course):
    auth.login(make_user())
    complete_modules(auth)
    first = start_quiz(auth, "test-course")
    submit(auth, first, answer_key(app, first, wrong=2))
    result = client.get(f"/attempts/{first}").get_data(as_text=True)
    assert "33%: Not passed" in result and result.count("Not correct</p>") == 2
    assert "Feedback for wrong answer one." in result or "Feedback for gamma wrong." in result
    assert "The general lesson." in result
    second = start_quiz(auth, "test-course")
    assert second != first
    submit(auth, second, answer_key(app, second))
    history = client.get("/courses/test-course/attempts").get_data(as_text=True)
    assert "Not passed" in history and "Passed" in history
    assert "Completed" in client.get("/courses/test-course").get_data(as_text=True)


def test_attempt_stores_questions_versions_and_shuffled_option_order(app, auth, make_user, course):
    auth.login(make_user())
    attempt_id = start_quiz(auth, "test-course")
    with app.app_context():
        asked = (
            db.session.execute(select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt_id)).scalars().all()
        )
        assert len(asked) == 3
        for item in asked:
            assert sorted(item.option_order) == sorted(o.id for o in item.question_version.options)


def test_starting_again_resumes_the_open_attempt(auth, make_user, course):
    auth.login(make_user())
    assert start_quiz(auth, "test-course") == start_quiz(auth, "test-course")


def test_options_are_shown_in_the_stored_order(app, client, auth, make_user, course):
    auth.login(make_user())
    attempt_id = start_quiz(auth, "test-course")
    html = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    with app.app_context():
        first = db.session.execute(
            select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == 0)
        ).scalar_one()
        shown = [int(v) for v in re.findall(rf'name="q-{first.id}" id="[^"]+" value="(\d+)"', html)]
        assert shown == first.option_order


def test_every_answer_is_recorded(app, auth, make_user, course):
    user = make_user()
    auth.login(user)
    attempt_id = start_quiz(auth, "test-course")
    data = answer_key(app, attempt_id, wrong=1)
    submit(auth, attempt_id, data)
    with app.app_context():
        answers = (
            db.session.execute(
                select(AttemptAnswer).join(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt_id)
            )
            .scalars()
            .all()
        )
        assert len(answers) == 3
        assert sorted(a.correct for a in answers) == [False, True, True]
        recorded = {f"q-{a.attempt_question_id}": [str(i) for i in a.selected_option_ids] for a in answers}
        assert recorded == data
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert (attempt.score, attempt.passed) == (67, True)


def test_completed_course_cannot_be_restarted_until_it_expires(app, client, auth, make_user, course):
    auth.login(make_user())
    complete_modules(auth)
    attempt_id = start_quiz(auth, "test-course")
    submit(auth, attempt_id, answer_key(app, attempt_id))
    response = auth.post("/courses/test-course/quiz", token_from="/courses/test-course")
    assert response.status_code == 409
    assert "valid until" in response.get_data(as_text=True)


def test_home_page_query_count_does_not_grow_with_courses(app, client, auth, make_user, write_course, sync):
    """My training loads in a fixed number of queries, however many courses there are."""
    auth.login(make_user())

    def queries_for_home():
        with recorded_statements(app) as statements:
            assert client.get("/").status_code == 200
        return len(statements)

    write_course(slug="course-a", title="Course A", questions=(("a-q1", "single"),))
    sync()
    one = queries_for_home()
    for name in ("b", "c", "d"):
        write_course(slug=f"course-{name}", title=f"Course {name}", questions=((f"{name}-q1", "single"),))
    sync()
    assert queries_for_home() == one


def test_submitting_reads_the_attempt_once(app, client, auth, make_user, course):
    """Grading reads the attempt's questions once: neither recording the grade nor the redirect after the
    commit reads them again, and the completion still takes the score just recorded."""
    user = make_user()
    auth.login(user)
    complete_modules(auth)
    attempt_id = start_quiz(auth, "test-course")
    data = answer_key(app, attempt_id) | {"csrf_token": csrf_token(client, f"/attempts/{attempt_id}")}
    with recorded_statements(app) as statements:
        response = client.post(f"/attempts/{attempt_id}", data=data)
    assert response.status_code == 302 and response.headers["Location"] == f"/attempts/{attempt_id}"
    reads = [s for s in statements if s.startswith("SELECT") and "attempt_question" in s]
    assert len(reads) == 1
    with app.app_context():
        completion = db.session.execute(select(Completion).where(Completion.user_id == user.id)).scalar_one()
        assert (completion.attempt_id, completion.score) == (attempt_id, 100)


def test_course_page_lists_the_three_newest_attempts(app, client, auth, make_user, course):
    auth.login(make_user())
    attempts = []
    for _ in range(4):
        attempts.append(start_quiz(auth, "test-course"))
        submit(auth, attempts[-1], answer_key(app, attempts[-1], wrong=3))
    html = client.get("/courses/test-course").get_data(as_text=True)
    shown = [int(found) for found in re.findall(r'<li><a href="/attempts/(\d+)">', html)]
    assert shown == attempts[:0:-1]
    assert "All attempts for Test Course" in html
    history = client.get("/courses/test-course/attempts").get_data(as_text=True)
    assert all(f'href="/attempts/{attempt_id}"' in history for attempt_id in attempts)
