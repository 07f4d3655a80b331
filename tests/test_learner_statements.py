"""Learner pages run within a fixed budget of SQL statements (issue 20).

Each request's statements are counted with `tests.helpers.recorded_statements`, after one request of
the same page first (the published content is then in the process's catalog cache, as it is on a
server after its first requests). Issue 20's budgets are 3 statements for a page and 8 for a quiz start
or submit. Speed itself is measured by bench/load.py, not here.
"""

import re

import pytest

from tests.conftest import csrf_token
from tests.helpers import answer_key, recorded_statements
from training.auth.models import User
from training.extensions import db
from training.policies import management
from training.policies.management import VersionInput

PAGE_BUDGET = 3
FORM_BUDGET = 8


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
    "path", ["/", "/courses/test-course", "/courses/test-course/modules/intro", "/courses/test-course/modules/photos"]
)
def test_home_course_and_module_pages(app, learner, path):
    learner.get(path)
    count, response = statements_of(app, lambda: learner.get(path))
    assert response.status_code == 200
    assert count <= PAGE_BUDGET


def test_home_page_with_a_required_course_and_policy(app, client, auth, make_user, make_requirement, course):
    """The learner's obligations, the policies' current versions and their attestations are one statement."""
    hr = make_user(role="hr")
    with app.app_context():
        actor = db.session.get(User, hr.id)
        management.create_policy(actor, "Social Media Policy", "", VersionInput(body="Think before you post."))
    make_requirement("test-course")
    make_requirement(policy="social-media-policy")
    auth.login(make_user())
    client.get("/")
    count, response = statements_of(app, lambda: client.get("/"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Social Media Policy" in html and "Version 1, published" in html
    assert count <= PAGE_BUDGET


def test_quiz_start_page_submit_and_result(app, learner):
    token = csrf_token(learner, "/courses/test-course")
    count, response = statements_of(app, lambda: learner.post("/courses/test-course/quiz", data={"csrf_token": token}))
    assert response.status_code == 302
    assert count <= FORM_BUDGET, "the quiz start"
    attempt_path = response.headers["Location"]
    attempt_id = int(re.search(r"/attempts/(\d+)$", attempt_path).group(1))
    learner.get(attempt_path)
    count, response = statements_of(app, lambda: learner.get(attempt_path))
    assert response.status_code == 200
    assert count <= PAGE_BUDGET, "the quiz page"
    data = answer_key(app, attempt_id, wrong=1) | {"csrf_token": csrf_token(learner, attempt_path)}
    count, response = statements_of(app, lambda: learner.post(attempt_path, data=data))
    assert response.status_code == 302
    assert count <= FORM_BUDGET, "the submission"
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
