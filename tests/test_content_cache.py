"""The per-process catalog cache (training/content/catalog.py): a catalog change made by a content sync, an
author or a course edit is seen by the very next request of the same process, and learner activity does not
touch the content version."""

import re

from sqlalchemy import select

from tests.conftest import Auth, csrf_token
from tests.helpers import answer_key, start_quiz, submit
from tests.test_authoring_questions import edit
from training.content.models import ContentVersion, Question
from training.extensions import db

NEW_PROMPT = "What should the nurse tell the reporter?"


def content_token(app):
    with app.app_context():
        return db.session.scalar(select(ContentVersion.token))


def test_a_content_sync_is_seen_by_the_next_request(app, client, auth, make_user, write_course, runner, content_dirs):
    write_course()
    runner.invoke(args=["content", "sync"])
    auth.login(make_user())
    assert "Text of the Intro module." in client.get("/courses/test-course/modules/intro").get_data(as_text=True)
    write_course(modules=("Intro", "Photos", "Handover"))
    module = content_dirs[0] / "test-course" / "01-intro.md"
    module.write_text(module.read_text().replace("Text of the Intro module.", "The rewritten introduction."))
    assert runner.invoke(args=["content", "sync"]).exit_code == 0
    assert "The rewritten introduction." in client.get("/courses/test-course/modules/intro").get_data(as_text=True)
    assert "Handover" in client.get("/courses/test-course").get_data(as_text=True)


def test_an_authors_new_question_version_is_drawn_by_the_next_attempt(app, client, auth, make_user, course):
    """The author edits tc-q1 (a published question): the learner's next attempt, on another client of the
    same process, draws its new version; the attempt made before keeps the old one."""
    learner = Auth(app.test_client())
    learner.login(make_user())
    first = start_quiz(learner, course)
    submit(learner, first, answer_key(app, first))
    learner.client.get(f"/attempts/{first}")
    auth.login(make_user(role="author"))
    with app.app_context():
        question_id = db.session.scalar(select(Question.id).where(Question.key == "tc-q1"))
    assert edit(client, question_id, base_version="1", prompt=NEW_PROMPT).status_code == 302
    second = start_quiz(learner, course)
    assert NEW_PROMPT in learner.client.get(f"/attempts/{second}").get_data(as_text=True)
    assert NEW_PROMPT not in learner.client.get(f"/attempts/{first}").get_data(as_text=True)


def test_a_course_settings_change_is_seen_by_the_next_request(app, client, auth, make_user, course):
    learner = Auth(app.test_client())
    learner.login(make_user())
    assert "You pass with 60% or more" in learner.client.get("/courses/test-course").get_data(as_text=True)
    auth.login(make_user(role="author"))
    settings = "/authoring/courses/test-course/settings"
    page = client.get(settings).get_data(as_text=True)
    token = re.search(r'id="token" name="token" type="hidden" value="([^"]*)"', page).group(1)
    data = {
        "csrf_token": csrf_token(client, settings),
        "token": token,
        "title": "Renamed Course",
        "summary": "A short course used by the tests.",
        "pass_mark": "80",
        "questions_per_attempt": "3",
        "max_attempts": "",
        "attempt_wait_minutes": "0",
        "certificate_validity_months": "12",
        "estimated_minutes": "20",
    }
    assert client.post(settings, data=data).status_code == 302
    html = learner.client.get("/courses/test-course").get_data(as_text=True)
    assert "Renamed Course" in html and "You pass with 80% or more" in html
    assert "Renamed Course" in learner.client.get("/").get_data(as_text=True)


def test_unpublishing_a_course_hides_it_from_the_next_request(app, client, auth, make_user, course):
    learner = Auth(app.test_client())
    learner.login(make_user())
    assert learner.client.get("/courses/test-course").status_code == 200
    auth.login(make_user(role="author"))
    settings = "/authoring/courses/test-course/settings"
    data = {"csrf_token": csrf_token(client, settings), "action": "unpublish"}
    assert client.post("/authoring/courses/test-course/publish", data=data).status_code == 302
    assert learner.client.get("/courses/test-course").status_code == 404
    assert "Test Course" not in learner.client.get("/").get_data(as_text=True)


def test_catalog_writes_change_the_token_and_learning_does_not(
    app, client, auth, make_user, course, write_course, runner
):
    after_sync = content_token(app)
    assert after_sync is not None
    auth.login(make_user())
    attempt_id = start_quiz(auth, course)
    submit(auth, attempt_id, answer_key(app, attempt_id))
    auth.post("/courses/test-course/modules/intro/complete", token_from="/courses/test-course/modules/intro")
    assert content_token(app) == after_sync
    write_course(pass_mark=70)
    assert runner.invoke(args=["content", "sync"]).exit_code == 0
    assert content_token(app) != after_sync
