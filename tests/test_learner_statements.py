"""Learner pages run within a fixed budget of SQL statements (issue 20).

Each request's statements are counted with `tests.helpers.recorded_statements`, after one request of
the same page first. Issue 20's budgets are 3 statements for a page and 8 for a quiz start or submit;
a request that does not meet its budget yet is held at the count it has reached, so that it cannot
grow unnoticed. Speed itself is measured by bench/load.py, not here.
"""

import re

import pytest

from tests.conftest import csrf_token
from tests.helpers import answer_key, recorded_statements

PAGE_BUDGET = 3
FORM_BUDGET = 8
# Reached so far, above the budget: the learner's compliance items on the home page, the progress
# (completions, policy changes) and attempt history on the course page, and the obligation rebuild
# in the quiz start and submit transactions.
HOME_CEILING = 9
COURSE_CEILING = 8
MODULE_CEILING = 5
QUIZ_START_CEILING = 19
QUIZ_SUBMIT_CEILING = 13


def statements_of(app, request) -> tuple[int, object]:
    """The number of statements one request runs, and its response."""
    with recorded_statements(app) as statements:
        response = request()
    return len(statements), response


@pytest.fixture
def learner(client, auth, make_user, course):
    auth.login(make_user())
    return client


@pytest.mark.parametrize(
    ("path", "ceiling"),
    [
        ("/", HOME_CEILING),
        ("/courses/test-course", COURSE_CEILING),
        ("/courses/test-course/modules/intro", MODULE_CEILING),
        ("/courses/test-course/modules/photos", MODULE_CEILING),
    ],
)
def test_home_course_and_module_pages(app, learner, path, ceiling):
    learner.get(path)
    count, response = statements_of(app, lambda: learner.get(path))
    assert response.status_code == 200
    assert count <= ceiling


def test_quiz_start_page_submit_and_result(app, learner):
    token = csrf_token(learner, "/courses/test-course")
    count, response = statements_of(app, lambda: learner.post("/courses/test-course/quiz", data={"csrf_token": token}))
    assert response.status_code == 302
    assert count <= QUIZ_START_CEILING
    attempt_path = response.headers["Location"]
    attempt_id = int(re.search(r"/attempts/(\d+)$", attempt_path).group(1))
    learner.get(attempt_path)
    count, response = statements_of(app, lambda: learner.get(attempt_path))
    assert response.status_code == 200
    assert count <= PAGE_BUDGET, "the quiz page"
    data = answer_key(app, attempt_id, wrong=1) | {"csrf_token": csrf_token(learner, attempt_path)}
    count, response = statements_of(app, lambda: learner.post(attempt_path, data=data))
    assert response.status_code == 302
    assert count <= QUIZ_SUBMIT_CEILING
    learner.get(attempt_path)
    count, response = statements_of(app, lambda: learner.get(attempt_path))
    assert response.status_code == 200
    assert count <= PAGE_BUDGET, "the result page"


def test_the_after_request_hooks_read_nothing_again_after_a_commit(app, learner):
    """A form's commit expires the signed-in user and their session row; the cookie and cache headers
    written after it must not read them again."""
    token = csrf_token(learner, "/courses/test-course")
    with recorded_statements(app) as statements:
        response = learner.post("/courses/test-course/quiz", data={"csrf_token": token})
    assert response.status_code == 302
    after_commit = statements[max(i for i, s in enumerate(statements) if s.startswith("INSERT")) + 1 :]
    assert not [s for s in after_commit if "FROM user_session" in s or "password_hash" in s]
