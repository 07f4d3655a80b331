"""Item statistics through their pages: figures on a known data set, filters, versions, privacy, access."""

import re

import pytest
from sqlalchemy import event, select

from training.auth.models import Department
from training.authoring.questions.saving import save_question
from training.authoring.stats import services as stats_services
from training.content.models import Course, Question
from training.content.questions import spec_of
from training.courses import services as course_services
from training.db import utcnow
from training.extensions import db
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt

OVERVIEW = "/authoring/courses/test-course/statistics"

# The test course (tests/conftest.py): tc-q1 single (0 "Right answer", 1 "Wrong answer one",
# 2 "Wrong answer two"); tc-q2 multiple (0 Alpha right, 1 Beta right, 2 Gamma wrong, 3 Delta wrong);
# tc-q3 true/false (0 True, correct; 1 False).
RIGHT = {"tc-q1": [0], "tc-q2": [0, 1], "tc-q3": [0]}
WRONG = {"tc-q1": [1], "tc-q2": [0], "tc-q3": [1]}


@pytest.fixture
def record_attempt(app):
    """Store a submitted attempt of the test course: {question key: [option positions chosen]}."""

    def record(user_id, choices):
        with app.app_context():
            course = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
            questions = {
                q.key: q for q in db.session.execute(select(Question).where(Question.course_id == course.id)).scalars()
            }
            attempt = QuizAttempt(
                user_id=user_id, course_id=course.id, course_version=course.version, pass_mark=course.pass_mark
            )
            right = 0
            for position, (key, picks) in enumerate(choices.items()):
                version = questions[key].current_version
                selected = sorted(version.options[i].id for i in picks)
                correct = set(selected) == {o.id for o in version.options if o.correct}
                right += correct
                asked = AttemptQuestion(
                    question_version_id=version.id, position=position, option_order=[o.id for o in version.options]
                )
                asked.answer = AttemptAnswer(selected_option_ids=selected, correct=correct)
                attempt.questions.append(asked)
            attempt.score = round(100 * right / len(choices))
            attempt.passed, attempt.submitted_at = attempt.score >= course.pass_mark, utcnow()
            db.session.add(attempt)
            db.session.commit()
            return attempt.id

    return record


def pick(q1, q2, q3):
    """Choices by right (True) or wrong (False) per question, or explicit option positions."""
    chosen = {}
    for key, value in (("tc-q1", q1), ("tc-q2", q2), ("tc-q3", q3)):
        chosen[key] = value if isinstance(value, list) else (RIGHT if value else WRONG)[key]
    return chosen


@pytest.fixture
def known_data(course, make_user, record_attempt):
    """Seven attempts. Ward 1 nurses (5), the worked example of tests/unit/test_item_stats.py for tc-q1:
         q1 q2 q3  right   rest score of q1
    A1   1  1  1   3       1.0
    A2   1  1  0   2       0.5
    A3   0  1  1   2       1.0   (chose "Wrong answer one")
    A4   0  0  0   0       0.0   (chose "Wrong answer one")
    A5   1  1  1   3       1.0
    Ward 2 porters (2): every answer wrong, tc-q1 "Wrong answer two".
    """
    nurses = [make_user(department="Ward 1", job_title="Registered Nurse") for _ in range(5)]
    porters = [make_user(department="Ward 2", job_title="Porter") for _ in range(2)]
    rows = [(1, 1, 1), (1, 1, 0), (0, 1, 1), (0, 0, 0), (1, 1, 1)]
    for nurse, (q1, q2, q3) in zip(nurses, rows, strict=True):
        record_attempt(nurse.id, pick(bool(q1), bool(q2), bool(q3)))
    for porter in porters:
        record_attempt(porter.id, pick([2], False, False))
    return course


@pytest.fixture
def author(make_user, auth):
    user = make_user(role="author")
    auth.login(user)
    return user


def question_id(app, key):
    with app.app_context():
        return db.session.execute(select(Question.id).where(Question.key == key)).scalar_one()


def department_id(app, name):
    with app.app_context():
        return db.session.execute(select(Department.id).where(Department.name == name)).scalar_one()


def row_of(html, key):
    """The overview table row of one question, tags stripped and spaces collapsed."""
    match = re.search(r"<tr>(?:(?!</tr>).)*?" + re.escape(key) + r".*?</tr>", html, re.S)
    assert match, key
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


# --- figures --------------------------------------------------------------------------------------


def test_overview_of_the_known_data_set(client, app, known_data, author):
    html = client.get(OVERVIEW).get_data(as_text=True)
    # tc-q1 over 7 answers: 3 right = 43%. x = 1 1 0 0 1 0 0, y = 1 .5 1 0 1 0 0 (porters: right 0 of 3)
    # Sxy = 2.5 - 3(3.5)/7 = 1.0; Sxx = 3 - 9/7 = 12/7; Syy = 3.25 - 12.25/7 = 1.5; r = 1/sqrt(18/7) = 0.62
    assert row_of(html, "tc-q1").endswith("7 43% 0.62 Too few answers to judge")
    assert "21 answers to 3 questions" in html
    # tc-q2 right in A1 A2 A3 A5: 4 of 7 = 57%.
    assert " 7 57% " in row_of(html, "tc-q2")


def test_filter_by_department_gives_the_worked_example(client, app, known_data, author):
    html = client.get(f"{OVERVIEW}?department={department_id(app, 'Ward 1')}").get_data(as_text=True)
    # Facility 3/5 = 60%; discrimination sqrt(1/6) = 0.41 (arithmetic in tests/unit/test_item_stats.py).
    assert " 5 60% 0.41 " in row_of(html, "tc-q1") + " "
    assert "15 answers to 3 questions from the people matching the filter" in html


def test_filter_by_job_title_hides_small_groups(client, app, known_data, author):
    html = client.get(f"{OVERVIEW}?job_title=PORTER").get_data(as_text=True)
    assert "Fewer than 5 answers" in row_of(html, "tc-q1")
    assert "0%" not in row_of(html, "tc-q1")


def test_question_page_of_the_known_data_set(client, app, known_data, author):
    html = client.get(f"/authoring/questions/{question_id(app, 'tc-q1')}/statistics").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Asked 7 Facility 43% (3 right) Discrimination 0.62" in text
    # Options of the 7 answers: right 3 (43%), wrong one 2 (29%), wrong two 2 (29%).
    assert "A. Right answer ✓ Correct 43% (3)" in text
    assert "B. Wrong answer one Wrong 29% (2)" in text
    assert "C. Wrong answer two Wrong 29% (2)" in text
    # Ward 1: 5 answers, 60%, options 60% 40% 0%; Ward 2 has 2 answers: not shown.
    assert "Ward 1 5 60% 60% 40% 0%" in text
    assert "Ward 2 Fewer than 5 answers" in text
    assert "Registered Nurse 5 60% 60% 40% 0%" in text
    assert "Porter Fewer than 5 answers" in text
    assert "at least 20 answers" in text


def test_option_shares_follow_the_chosen_version(client, app, known_data, make_user, record_attempt, author):
    with app.app_context():
        question = db.session.execute(select(Question).where(Question.key == "tc-q1")).scalar_one()
        course = db.session.get(Course, question.course_id)
        spec = spec_of(question.current_version, question.key)
        spec = spec.__class__(**{**spec.__dict__, "prompt": "What should you do now?"})
        save_question(course, spec, None, question=question, source="browser")
    nurse = make_user(department="Ward 1", job_title="Registered Nurse")
    for _ in range(5):
        record_attempt(nurse.id, pick(False, True, True))
    path = f"/authoring/questions/{question_id(app, 'tc-q1')}/statistics"
    text = " ".join(re.sub(r"<[^>]+>", " ", client.get(path).get_data(as_text=True)).split())
    # All versions: 12 answers, 3 right = 25%. Version 2 (current): 5 answers, all "Wrong answer one".
    assert "Asked 12 Facility 25% (3 right)" in text
    assert "Options of version 2" in text and "B. Wrong answer one Wrong 100% (5)" in text
    assert "Version 1: 7 answers" in text and "Version 2 (current): 5 answers" in text
    old = " ".join(re.sub(r"<[^>]+>", " ", client.get(f"{path}?version=1").get_data(as_text=True)).split())
    assert "Options of version 1" in old and "A. Right answer ✓ Correct 43% (3)" in old


def test_flags_appear_with_enough_answers(client, app, course, make_user, record_attempt, author):
    learner = make_user()
    for _ in range(20):
        record_attempt(learner.id, pick(True, True, False))
    html = client.get(OVERVIEW).get_data(as_text=True)
    assert "Very easy" in row_of(html, "tc-q1") and "An option nobody picks" in row_of(html, "tc-q1")
    assert "Hard" in row_of(html, "tc-q3")
    text = " ".join(
        re.sub(r"<[^>]+>", " ", client.get(f"/authoring/questions/{question_id(app, 'tc-q3')}/statistics").text).split()
    )
    assert "Only 0% answer it correctly" in text
    assert "The wrong option “False” is chosen more often (100%) than a correct one (0%)" in text


def test_sorting_by_a_column(client, app, known_data, author):
    html = client.get(f"{OVERVIEW}?sort=facility&order=desc").get_data(as_text=True)
    # Facility: tc-q2 4/7, tc-q1 3/7, tc-q3 3/7 (A1 A3 A5); equal figures stay in name order.
    assert html.index("tc-q2") < html.index("tc-q1") < html.index("tc-q3")
    assert 'aria-sort="descending"' in html
    assert client.get(f"{OVERVIEW}?sort=nonsense&order=up").status_code == 200


def test_an_attempt_made_through_the_quiz_services_is_counted(app, course, make_user):
    learner = make_user()
    with app.app_context():
        course_row = db.session.execute(select(Course).where(Course.slug == course)).scalar_one()
        attempt = course_services.start_quiz(learner.id, course_row)
        answers = {}
        for asked in attempt.questions:
            wrong = next(o for o in asked.question_version.options if not o.correct)
            answers[asked.id] = [wrong.id]
        course_services.submit_quiz(learner.id, attempt.id, answers)
        overview = stats_services.course_overview(course_row)
        assert [(i.key, i.stats.asked, i.stats.facility) for i in overview.items] == [
            ("tc-q1", 1, 0.0),
            ("tc-q2", 1, 0.0),
            ("tc-q3", 1, 0.0),
        ]


def test_open_attempts_are_not_counted(app, course, make_user):
    learner = make_user()
    with app.app_context():
        course_row = db.session.execute(select(Course).where(Course.slug == course)).scalar_one()
        course_services.start_quiz(learner.id, course_row)
        assert stats_services.course_overview(course_row).answers == 0


# --- queries --------------------------------------------------------------------------------------


def count_statements(app, client, path):
    with app.app_context():
        engine = db.engine
    seen = []

    def listener(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def test_the_overview_needs_the_same_queries_for_any_number_of_questions(
    client, app, known_data, write_course, sync, make_user, record_attempt, author
):
    few = count_statements(app, client, OVERVIEW)
    write_course(questions=[(f"tc-q{n}", "single") for n in range(1, 10)], per_attempt=3)
    sync()
    learner = make_user()
    for _ in range(3):
        record_attempt(learner.id, {"tc-q4": [0], "tc-q5": [1], "tc-q6": [0]})
    assert count_statements(app, client, OVERVIEW) == few
    assert few <= 12


# --- bad input and access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["department=abc", "department=99999", "department=1.5", f"job_title={'x' * 121}", "department=1e9"]
)
def test_bad_filters_are_400(client, known_data, author, query):
    response = client.get(f"{OVERVIEW}?{query}")
    assert response.status_code == 400
    assert "field-error" in response.get_data(as_text=True)


@pytest.mark.parametrize("version", ["9", "abc", "0", "-1", "99999999999999999999", "²"])
def test_unknown_versions_are_404(client, app, course, author, version):
    path = f"/authoring/questions/{question_id(app, 'tc-q1')}/statistics?version={version}"
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/authoring/courses/nope/statistics", "/authoring/questions/99999/statistics"],
)
def test_unknown_things_are_404(client, course, author, path):
    assert client.get(path).status_code == 404


def paths(app):
    return ["/authoring/statistics", OVERVIEW, f"/authoring/questions/{question_id(app, 'tc-q1')}/statistics"]


@pytest.mark.parametrize(
    ("role", "status"), [("staff", 403), ("manager", 403), ("hr", 200), ("author", 200), ("admin", 200)]
)
def test_access_per_role(client, app, auth, make_user, known_data, role, status):
    auth.login(make_user(role=role, department="Ward 1"))
    for path in paths(app):
        assert client.get(path).status_code == status, path


def test_anonymous_visitors_are_sent_to_sign_in(client, app, course):
    for path in paths(app):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path


def test_hr_reaches_statistics_from_the_content_section(client, app, auth, make_user, known_data):
    auth.login(make_user(role="hr"))
    assert 'href="/policies/manage" >Content</a>' in client.get("/compliance").get_data(as_text=True)
    assert 'href="/authoring/statistics"' in client.get("/policies/manage").get_data(as_text=True)
    index = client.get("/authoring/statistics").get_data(as_text=True)
    assert f'href="{OVERVIEW}"' in index and '<td data-label="Submitted attempts">7</td>' in index
    overview = client.get(OVERVIEW).get_data(as_text=True)
    assert 'href="/authoring"' not in overview  # no links into the authoring pages HR cannot open
    question = client.get(paths(app)[2]).get_data(as_text=True)
    assert "Open the question" not in question


def test_managers_do_not_get_the_link(client, auth, make_user):
    auth.login(make_user(role="manager", department="Ward 1"))
    assert "/authoring/statistics" not in client.get("/compliance").get_data(as_text=True)


def test_authors_reach_statistics_from_the_course_navigation(client, course, author):
    html = client.get(OVERVIEW).get_data(as_text=True)
    assert f'<a href="{OVERVIEW}" aria-current="page">Statistics</a>' in html
    assert 'href="/authoring/courses/test-course/questions"' in html
