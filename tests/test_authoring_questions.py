"""The question bank through its pages: create, validate, version, publish, retire, preview, history."""

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth, csrf_token
from tests.helpers import answer_key, start_quiz, submit
from training.audit.models import AuditEvent
from training.content.models import Question, QuestionVersion
from training.extensions import db
from training.quizzes.models import AttemptQuestion, QuizAttempt

pytestmark = pytest.mark.smoke  # part of `make test-fast`


def form_data(csrf, **overrides):
    data = {
        "csrf_token": csrf,
        "key": "",
        "type": "single",
        "scenario": "A nurse is asked by a reporter about a patient.",
        "prompt": "What should the nurse say?",
        "options-0-text": "Decline and refer to communications",
        "options-0-correct": "y",
        "options-0-feedback": "Right: refer media to the communications office.",
        "options-1-text": "Confirm the patient is here",
        "options-1-feedback": "Confirming presence is a disclosure.",
        "explanation": "Refer all media questions to the communications office.",
        "tags": "Media, reviews",
        "references": "45 CFR 164.510(a)",
        "change_note": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def author(make_user, auth):
    user = make_user(role="author")
    auth.login(user.email)
    return user


def new_url(slug="test-course"):
    return f"/authoring/courses/{slug}/questions/new"


def create(client, slug="test-course", **overrides):
    return client.post(new_url(slug), data=form_data(csrf_token(client, new_url(slug)), **overrides))


def edit(client, question_id, **overrides):
    url = f"/authoring/questions/{question_id}/edit"
    return client.post(url, data=form_data(csrf_token(client, url), **overrides))


def question_by_key(app, key):
    with app.app_context():
        question = db.session.execute(select(Question).where(Question.key == key)).scalar_one()
        return question.id, question.status, question.current_version.version


def version_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(QuestionVersion)).scalar_one()


def learner_client(app, make_user):
    learner = make_user()
    client = app.test_client()
    Auth(client).login(learner.email)
    return Auth(client)


def test_an_author_creates_a_draft_that_is_never_drawn(client, app, course, author, make_user):
    response = create(client, key="tc-media-draft")
    assert response.status_code == 302
    with app.app_context():
        question = db.session.execute(select(Question).where(Question.key == "tc-media-draft")).scalar_one()
        assert question.status == "draft"
        assert question.current_version.tags == ["media", "reviews"]
        assert question.current_version.source == "browser"
        assert question.current_version.created_by_id == author.id
        assert question.browser_edited_at is not None
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "question.created")).scalar_one()
        assert event.actor_id == author.id and event.subject_id == "tc-media-draft"
        draft_version = question.current_version_id
    learner = learner_client(app, make_user)
    attempt_id = start_quiz(learner, course)
    with app.app_context():
        asked = db.session.execute(
            select(AttemptQuestion.question_version_id).where(AttemptQuestion.attempt_id == attempt_id)
        ).scalars()
        assert draft_version not in set(asked)


def test_a_blank_id_is_made_from_the_prompt(client, app, course, author):
    assert create(client).status_code == 302
    _question_id, status, version = question_by_key(app, "tc-what-should-the-nurse-say")
    assert (status, version) == ("draft", 1)
    assert create(client).status_code == 302
    assert question_by_key(app, "tc-what-should-the-nurse-say-2")[1] == "draft"


def test_save_and_publish_then_edit_makes_a_new_version_and_old_attempts_keep_theirs(
    client, app, course, author, make_user
):
    assert create(client, key="tc-media", publish="1").status_code == 302
    question_id, status, _ = question_by_key(app, "tc-media")
    assert status == "published"
    learner = learner_client(app, make_user)
    attempt_id = start_quiz(learner, course)  # 3 of the 4 published questions
    with app.app_context():
        asked_before = set(
            db.session.execute(
                select(AttemptQuestion.question_version_id).where(AttemptQuestion.attempt_id == attempt_id)
            ).scalars()
        )
    response = edit(client, question_id, base_version="1", prompt="What should the nurse tell the reporter?")
    assert response.status_code == 302
    assert question_by_key(app, "tc-media") == (question_id, "published", 2)
    with app.app_context():
        asked_after = set(
            db.session.execute(
                select(AttemptQuestion.question_version_id).where(AttemptQuestion.attempt_id == attempt_id)
            ).scalars()
        )
    assert asked_after == asked_before
    key = answer_key(app, attempt_id)
    assert submit(learner, attempt_id, key).status_code == 302
    with app.app_context():
        assert db.session.get(QuizAttempt, attempt_id).score == 100
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "question.saved")).scalar_one()
        assert event.details["changed"] == ["prompt"] and event.details["version"] == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"options-0-correct": None}, "Mark exactly one option as correct"),
        ({"options-1-correct": "y"}, "Mark exactly one option as correct"),
        ({"type": "multiple", "options-0-correct": None}, "Mark at least one option as correct"),
        ({"options-1-text": "decline and refer to communications"}, "Option 1 has the same text"),
        ({"options-1-text": "  "}, "Enter the text of option 2"),
        ({"options-1-feedback": ""}, "Enter feedback for option 2"),
        ({"type": "true_false"}, "exactly two options, with the texts True and False"),
        ({"prompt": ""}, "Enter the question learners answer"),
        ({"prompt": "x" * 301}, "Field cannot be longer than 300 characters"),
        ({"explanation": "y" * 5001}, "Field cannot be longer than 5000 characters"),
        ({"tags": "ok, <script>"}, "Tags use lowercase letters"),
        ({"references": "\n".join(f"ref {n}" for n in range(6))}, "at most 5 references"),
        ({"key": "Bad Id!"}, "Use 3 to 64 lowercase letters"),
        ({"type": "essay"}, "Not a valid choice"),
        ({f"options-{n}-text": f"extra {n}" for n in range(2, 10)}, "2 to 8 options; this one has 10"),
    ],
)
def test_invalid_questions_are_refused_with_a_message_and_nothing_is_saved(
    client, app, course, author, overrides, message
):
    before = version_count(app)
    extra = {}
    for name, _value in overrides.items():
        if name.endswith("-text") and name.startswith("options-") and name not in form_data(""):
            extra[name.replace("-text", "-feedback")] = "feedback"
    response = create(client, **overrides, **extra)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert version_count(app) == before


def test_typed_text_survives_adding_and_removing_option_rows(client, app, course, author):
    token = csrf_token(client, new_url())
    response = client.post(new_url(), data={**form_data(token), "row_action": "add"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="options-2-text"' in page and "Decline and refer to communications" in page
    assert "A nurse is asked by a reporter" in page
    data = {
        **form_data(token),
        "options-2-text": "Say nothing",
        "options-2-feedback": "Silence",
        "row_action": "remove-0",
    }
    page = client.post(new_url(), data=data).get_data(as_text=True)
    assert "Decline and refer to communications" not in page
    assert "Confirm the patient is here" in page and "Say nothing" in page
    assert version_count(app) == 3  # nothing saved: only the course's three questions


def test_removing_below_two_options_is_refused(client, course, author):
    token = csrf_token(client, new_url())
    page = client.post(new_url(), data={**form_data(token), "row_action": "remove-1"}).get_data(as_text=True)
    assert "A question needs at least two options." in page and "Confirm the patient is here" in page


def test_a_stale_edit_is_refused_with_the_text_kept_and_a_double_submit_makes_one_version(client, app, course, author):
    question_id, _, _ = question_by_key(app, "tc-q1")
    first = edit(client, question_id, base_version="1", prompt="First edit of the prompt?")
    assert first.status_code == 302
    again = edit(client, question_id, base_version="1", prompt="First edit of the prompt?")
    assert again.status_code == 302  # the same content again: already saved
    assert question_by_key(app, "tc-q1")[2] == 2
    stale = edit(client, question_id, base_version="1", prompt="A different edit?")
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Someone saved version 2" in page and "A different edit?" in page
    assert question_by_key(app, "tc-q1")[2] == 2


def test_a_tampered_base_version_is_not_a_500(client, app, course, author):
    """ "\u00b2" passed str.isdigit() and then failed int(); it now counts as no base version."""
    question_id, _, _ = question_by_key(app, "tc-q1")
    response = edit(client, question_id, base_version="\u00b2", prompt="An edit with a tampered base?")
    assert response.status_code == 302
    assert question_by_key(app, "tc-q1")[2] == 2


def test_retiring_is_refused_when_the_course_would_have_too_few_questions(client, app, course, author):
    question_id, _, _ = question_by_key(app, "tc-q1")
    url = f"/authoring/questions/{question_id}"
    response = client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "action": "retire"})
    assert response.status_code == 409
    assert "would be left with 2 published" in response.get_data(as_text=True)
    assert question_by_key(app, "tc-q1")[1] == "published"


def test_publish_and_retire_are_recorded(client, app, course, author):
    assert create(client, key="tc-extra").status_code == 302
    question_id, _, _ = question_by_key(app, "tc-extra")
    url = f"/authoring/questions/{question_id}"
    for action, status in (("publish", "published"), ("retire", "retired"), ("retire", "retired")):
        response = client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "action": action})
        assert response.status_code == 302
        assert question_by_key(app, "tc-extra")[1] == status
    with app.app_context():
        actions = db.session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_id == "tc-extra").order_by(AuditEvent.id)
        ).scalars()
        assert list(actions) == ["question.created", "question.published", "question.retired"]
    bad = client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "action": "delete"})
    assert bad.status_code == 400


def test_preview_grades_without_storing_anything(client, app, course, author):
    question_id, _, _ = question_by_key(app, "tc-q1")
    url = f"/authoring/questions/{question_id}/preview"
    page = client.get(url).get_data(as_text=True)
    assert "Check my answer" in page
    with app.app_context():
        version = db.session.get(Question, question_id).current_version
        right = next(o.id for o in version.options if o.correct)
        wrong = next(o.id for o in version.options if not o.correct)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "choice": str(right)})
    assert response.status_code == 200 and ">Correct<" in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "choice": str(wrong)})
    assert "Not correct" in response.get_data(as_text=True)
    for tampered in (["999999"], ["abc"], ["\u00b2"], [str(right), str(wrong)], []):
        response = client.post(url, data={"csrf_token": csrf_token(client, url), "choice": tampered})
        assert response.status_code == 422
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(QuizAttempt)).scalar_one() == 0


def test_history_shows_what_changed_word_by_word(client, app, course, author):
    question_id, _, _ = question_by_key(app, "tc-q1")
    assert (
        edit(client, question_id, base_version="1", prompt="What should the nurse tell the reporter?").status_code
        == 302
    )
    page = client.get(f"/authoring/questions/{question_id}/history").get_data(as_text=True)
    assert '<ins class="diff-added">' in page and '<del class="diff-removed">' in page
    assert "reporter" in page
    assert client.get(f"/authoring/questions/{question_id}/history?from=1&to=9").status_code == 404
    assert client.get(f"/authoring/questions/{question_id}/history?from=x").status_code == 200


def test_a_question_with_one_version_has_nothing_to_compare(client, app, course, author):
    question_id, _, version = question_by_key(app, "tc-q1")
    assert version == 1
    page = client.get(f"/authoring/questions/{question_id}/history").get_data(as_text=True)
    assert "nothing to compare yet" in page
    assert "compared with" not in page and 'class="card diff-field' not in page
    assert 'name="from"' not in page, "no version picker with a single version in it"
    assert f'href="/authoring/questions/{question_id}"' in page
    question = client.get(f"/authoring/questions/{question_id}").get_data(as_text=True)
    assert "/history" not in question, "the question page does not offer a comparison either"


def test_the_same_version_twice_is_not_compared(client, app, course, author):
    question_id, _, _ = question_by_key(app, "tc-q1")
    assert edit(client, question_id, base_version="1", prompt="What should the nurse tell them?").status_code == 302
    page = client.get(f"/authoring/questions/{question_id}/history?from=2&to=2").get_data(as_text=True)
    assert "choose two different versions" in page
    assert "compared with" not in page and 'class="card diff-field' not in page
    assert 'name="from"' in page, "the picker stays, to choose again"


def test_author_markdown_is_sanitised_everywhere_it_is_shown(client, app, course, author):
    script = "<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=alert(3)>"
    assert create(client, key="tc-xss", scenario=script, explanation=script).status_code == 302
    question_id, _, _ = question_by_key(app, "tc-xss")
    for path in ("", "/preview"):
        page = client.get(f"/authoring/questions/{question_id}{path}").get_data(as_text=True)
        assert "<script>alert" not in page and 'href="javascript' not in page and "<img" not in page
        assert "&lt;script&gt;" in page


def test_the_bank_filters_by_text_type_tag_and_status(client, app, course, author):
    assert create(client, key="tc-media", tags="media").status_code == 302
    base = "/authoring/courses/test-course/questions"
    assert "tc-media" in client.get(f"{base}?status=draft").get_data(as_text=True)
    assert "tc-media" not in client.get(f"{base}?status=published").get_data(as_text=True)
    assert "tc-media" in client.get(f"{base}?tag=media").get_data(as_text=True)
    assert "tc-media" in client.get(f"{base}?q=REPORTER").get_data(as_text=True)
    assert "tc-media" not in client.get(f"{base}?q=100%25").get_data(as_text=True)
    assert "tc-media" not in client.get(f"{base}?type=multiple").get_data(as_text=True)
    assert client.get(f"{base}?status=bogus").status_code == 400
    assert client.get("/authoring/courses/no-such-course/questions").status_code == 404
    assert client.get("/authoring/questions/99999").status_code == 404
    assert client.get("/authoring/questions/99999999999").status_code == 404


def test_the_activity_page_lists_authoring_changes_for_admins_only(client, app, course, make_user, auth):
    admin = make_user(role="admin")
    auth.login(admin.email)
    assert create(client, key="tc-by-admin").status_code == 302
    page = client.get("/authoring/activity").get_data(as_text=True)
    assert "Question created" in page and "tc-by-admin" in page and admin.name in page
    author = make_user(role="author")
    auth.logout()
    auth.login(author.email)
    assert client.get("/authoring/activity").status_code == 403


AUTHOR_GET_PAGES = [
    "/authoring",
    "/authoring/courses/test-course/questions",
    "/authoring/courses/test-course/questions/new",
    "/authoring/questions/1",
    "/authoring/questions/1/edit",
    "/authoring/questions/1/history",
    "/authoring/questions/1/preview",
]
AUTHOR_POSTS = ["/authoring/questions/1/status", "/authoring/questions/1/preview", "/authoring/questions/1/edit"]


@pytest.mark.parametrize("role", ["staff", "manager", "hr"])
def test_only_authors_and_admins_reach_the_authoring_pages(client, course, make_user, auth, role):
    auth.login(make_user(role=role).email)
    for path in [*AUTHOR_GET_PAGES, "/authoring/activity"]:
        assert client.get(path).status_code == 403, path
    for path in AUTHOR_POSTS:
        assert auth.post(path, data={"action": "retire"}).status_code == 403, path


@pytest.mark.parametrize("role", ["author", "admin"])
def test_authors_and_admins_see_every_authoring_page(client, course, make_user, auth, role):
    auth.login(make_user(role=role).email)
    for path in AUTHOR_GET_PAGES:
        assert client.get(path).status_code == 200, path
    assert '<a href="/authoring" >Content</a>' in client.get("/").get_data(as_text=True), "the header's Content"


def test_anonymous_visitors_are_sent_to_sign_in(client, course):
    for path in [*AUTHOR_GET_PAGES, "/authoring/activity"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_a_question_retired_during_an_attempt_is_still_graded_in_that_attempt(client, app, course, author, make_user):
    assert create(client, key="tc-spare", publish="1").status_code == 302
    learner = learner_client(app, make_user)
    attempt_id = start_quiz(learner, course)
    with app.app_context():
        asked_key = (
            db.session.execute(
                select(Question.key)
                .join(QuestionVersion, QuestionVersion.question_id == Question.id)
                .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
                .where(AttemptQuestion.attempt_id == attempt_id)
                .order_by(Question.key)
            )
            .scalars()
            .first()
        )
    question_id, _, _ = question_by_key(app, asked_key)
    url = f"/authoring/questions/{question_id}"
    assert (
        client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "action": "retire"}).status_code
        == 302
    )
    assert submit(learner, attempt_id, answer_key(app, attempt_id)).status_code == 302
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert (attempt.score, attempt.passed) == (100, True)
