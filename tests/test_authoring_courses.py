"""Course settings, publishing and modules through their pages."""

import re

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from training.audit.models import AuditEvent
from training.content.models import Course, TrainingModule
from training.extensions import db

SETTINGS = "/authoring/courses/test-course/settings"
MODULES = "/authoring/courses/test-course/modules"


@pytest.fixture
def author(make_user, auth):
    user = make_user(role="author")
    auth.login(user.email)
    return user


def settings_data(client, path=SETTINGS, **overrides):
    html = client.get(path).get_data(as_text=True)
    token = ""
    if 'name="token"' in html:
        token = html.split('name="token"', 1)[0].rsplit("<input", 1)[1]
        token = html.split('id="token" name="token" type="hidden" value="', 1)[1].split('"', 1)[0]
    data = {
        "csrf_token": csrf_token(client, path),
        "token": token,
        "title": "Test Course",
        "summary": "A short course used by the tests.",
        "pass_mark": "60",
        "questions_per_attempt": "3",
        "max_attempts": "",
        "attempt_wait_minutes": "0",
        "certificate_validity_months": "12",
        "estimated_minutes": "20",
    }
    data.update(overrides)
    return data


def course_row(app, slug="test-course"):
    with app.app_context():
        return db.session.execute(select(Course).where(Course.slug == slug)).scalar_one()


def events(app, action):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def test_settings_page_says_which_changes_publish_a_new_version(client, course, author):
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "saving publishes version 2; completions already earned keep their version" in html
    assert 'aria-current="page">Settings' in html


def test_title_and_attempt_limits_do_not_bump_the_version(client, app, course, author):
    data = settings_data(client, title="Renamed course", max_attempts="3", attempt_wait_minutes="60")
    response = client.post(SETTINGS, data=data)
    assert response.status_code == 302
    row = course_row(app)
    assert (row.title, row.max_attempts, row.attempt_wait_minutes, row.version) == ("Renamed course", 3, 60, 1)
    assert row.browser_edited_at is not None
    (event,) = events(app, "course.settings_saved")
    assert event.subject_type == "course" and event.subject_id == "test-course" and event.actor_id == author.id
    assert event.details["changed"]["title"] == ["Test Course", "Renamed course"]


@pytest.mark.parametrize(
    ("field", "value"), [("pass_mark", "80"), ("questions_per_attempt", "2"), ("certificate_validity_months", "24")]
)
def test_what_a_completion_means_bumps_the_version(client, app, course, author, field, value):
    assert client.post(SETTINGS, data=settings_data(client, **{field: value})).status_code == 302
    assert course_row(app).version == 2
    assert events(app, "course.settings_saved")[0].details["version"] == 2


def test_a_double_submit_saves_once(client, app, course, author):
    data = settings_data(client, pass_mark="80")
    assert client.post(SETTINGS, data=data).status_code == 302
    assert client.post(SETTINGS, data=data).status_code == 302
    assert course_row(app).version == 2 and len(events(app, "course.settings_saved")) == 1


def test_two_authors_saving_at_once_get_a_clear_conflict(client, app, course, author):
    first = settings_data(client, pass_mark="80")
    second = settings_data(client, pass_mark="90")
    assert client.post(SETTINGS, data=first).status_code == 302
    response = client.post(SETTINGS, data=second)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone changed this course" in html and 'value="90"' in html
    assert course_row(app).pass_mark == 80
    token = html.split('id="token" name="token" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert client.post(SETTINGS, data=second | {"token": token}).status_code == 302  # saving again: mine wins
    assert course_row(app).pass_mark == 90


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pass_mark", "0", "from 1 to 100"),
        ("pass_mark", "101", "from 1 to 100"),
        ("pass_mark", "eighty", "Not a valid integer"),
        ("questions_per_attempt", "-1", "from 1 to 100"),
        ("max_attempts", "21", "from 1 to 20"),
        ("max_attempts", "0", "from 1 to 20"),
        ("attempt_wait_minutes", "10081", "from 0 to 10080"),
        ("attempt_wait_minutes", "-5", "from 0 to 10080"),
        ("certificate_validity_months", "121", "from 1 to 120"),
        ("estimated_minutes", "", "Enter a whole number"),
        ("title", "x" * 201, "200 characters"),
        ("summary", "y" * 501, "500 characters"),
        ("title", "   ", "Enter a title"),
    ],
)
def test_bad_settings_are_refused_next_to_the_field(client, app, course, author, field, value, message):
    response = client.post(SETTINGS, data=settings_data(client, **{field: value}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and re.search(f'aria-describedby="[^"]*{field}-error"', html)
    assert course_row(app).version == 1 and not events(app, "course.settings_saved")


def test_a_published_course_cannot_ask_more_questions_than_it_has(client, app, course, author):
    response = client.post(SETTINGS, data=settings_data(client, questions_per_attempt="4"))
    assert response.status_code == 409
    assert "cannot ask 4 per attempt" in response.get_data(as_text=True)
    assert course_row(app).questions_per_attempt == 3


def publish(client, action, slug="test-course"):
    path = f"/authoring/courses/{slug}/settings"
    return client.post(
        f"/authoring/courses/{slug}/publish", data={"csrf_token": csrf_token(client, path), "action": action}
    )


def test_unpublish_and_publish_again(client, app, course, author):
    assert publish(client, "unpublish").status_code == 302
    assert course_row(app).published is False
    assert client.get("/courses/test-course").status_code == 404
    assert publish(client, "publish").status_code == 302
    assert course_row(app).published is True
    assert [e.action for e in events(app, "course.published")] == ["course.published"]


def test_tampered_publish_action_is_refused(client, app, course, author):
    assert publish(client, "delete").status_code == 400


def new_course(client, **overrides):
    values = {"slug": "fire-safety", "title": "Fire safety"} | overrides
    data = settings_data(client, "/authoring/courses/new", **values)
    return client.post("/authoring/courses/new", data=data)


def test_a_new_course_is_unpublished_and_cannot_be_published_empty(client, app, course, author):
    response = new_course(client, questions_per_attempt="1")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/authoring/courses/fire-safety/modules"
    )
    row = course_row(app, "fire-safety")
    assert (row.published, row.version, row.max_attempts) == (False, 1, None)
    html = client.get("/authoring/courses/fire-safety/settings").get_data(as_text=True)
    assert "It has no modules" in html and "has 0 published" in html
    response = publish(client, "publish", "fire-safety")
    assert response.status_code == 409
    assert "cannot be published yet" in response.get_data(as_text=True)
    assert course_row(app, "fire-safety").published is False
    assert events(app, "course.created")[0].actor_id == author.id


@pytest.mark.parametrize(("slug", "status"), [("test-course", 409), ("Bad Slug", 422), ("", 422)])
def test_new_course_ids_must_be_valid_and_unused(client, app, course, author, slug, status):
    assert new_course(client, slug=slug).status_code == status


def module_data(client, path, **overrides):
    data = {
        "csrf_token": csrf_token(client, path),
        "title": "Reporting a near miss",
        "summary": "",
        "body": "## When\n\nAt once.",
    }
    html = client.get(path).get_data(as_text=True)
    if 'id="token" name="token" type="hidden" value="' in html:
        data["token"] = html.split('id="token" name="token" type="hidden" value="', 1)[1].split('"', 1)[0]
    data.update(overrides)
    return data


def module_row(app, slug):
    with app.app_context():
        return db.session.execute(select(TrainingModule).where(TrainingModule.slug == slug)).scalar_one()


def test_adding_a_module_publishes_a_new_version(client, app, course, author):
    path = f"{MODULES}/new"
    response = client.post(path, data=module_data(client, path))
    assert response.status_code == 302
    module = module_row(app, "reporting-a-near-miss")
    assert (module.position, module.retired) == (3, False) and module.browser_edited_at is not None
    assert course_row(app).version == 2
    assert client.post(path, data=module_data(client, path)).status_code == 302
    assert module_row(app, "reporting-a-near-miss-2").position == 4  # the id is unique in the course
    assert events(app, "module.created")[0].subject_id == "test-course/reporting-a-near-miss"


NASTY = '<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror="alert(3)">\n\n**bold** text'


def assert_clean(html):
    assert "<script>alert" not in html and 'href="javascript:' not in html and "<img" not in html
    assert not re.search(r"<[a-z][^>]*\son\w+=", html)  # no event handler on any tag (as text it is harmless)


def test_preview_renders_sanitised_markdown_and_saves_nothing(client, app, course, author):
    path = f"{MODULES}/new"
    response = client.post(path, data=module_data(client, path, body=NASTY, preview="1"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    preview = html.split('id="preview-heading"', 1)[1].split("</section>", 1)[0]
    assert "<strong>bold</strong>" in preview
    assert_clean(preview)
    assert course_row(app).version == 1
    with app.app_context():
        assert (
            db.session.execute(select(TrainingModule).where(TrainingModule.slug == "reporting-a-near-miss")).first()
            is None
        )


def test_the_learner_page_is_sanitised_too(client, app, auth, make_user, course, author):
    module = module_row(app, "intro")
    path = f"/authoring/modules/{module.id}/edit"
    assert client.post(path, data=module_data(client, path, title="Intro", body=NASTY)).status_code == 302
    auth.logout()
    auth.login(make_user())
    html = client.get("/courses/test-course/modules/intro").get_data(as_text=True)
    assert "<strong>bold</strong>" in html
    assert_clean(html.split("<article", 1)[1].split("</article>", 1)[0])


def test_editing_the_body_bumps_the_version_but_the_title_does_not(client, app, course, author):
    module = module_row(app, "intro")
    path = f"/authoring/modules/{module.id}/edit"
    assert client.post(path, data=module_data(client, path, title="Welcome", body=module.body)).status_code == 302
    assert (module_row(app, "intro").title, course_row(app).version) == ("Welcome", 1)
    assert client.post(path, data=module_data(client, path, title="Welcome", body="New text.")).status_code == 302
    assert (module_row(app, "intro").body, course_row(app).version) == ("New text.", 2)
    changed = [e.details["changed"] for e in events(app, "module.saved")]
    assert changed[0] == {"title": ["Intro", "Welcome"]} and "body" in changed[1]


def test_a_stale_module_edit_is_a_conflict_with_the_text_kept(client, app, course, author):
    module = module_row(app, "intro")
    path = f"/authoring/modules/{module.id}/edit"
    first = module_data(client, path, title="Intro", body="First author.")
    second = module_data(client, path, title="Intro", body="Second author.")
    assert client.post(path, data=first).status_code == 302
    response = client.post(path, data=second)
    assert response.status_code == 409 and "Second author." in response.get_data(as_text=True)
    assert module_row(app, "intro").body == "First author."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Enter a title"),
        ("title", "t" * 201, "200 characters"),
        ("summary", "s" * 301, "300 characters"),
        ("body", "", "Enter the module"),
        ("body", "b" * 100_001, "100000 characters"),
    ],
)
def test_bad_module_input_is_refused(client, app, course, author, field, value, message):
    module = module_row(app, "intro")
    path = f"/authoring/modules/{module.id}/edit"
    response = client.post(path, data=module_data(client, path, **{field: value}))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert course_row(app).version == 1


def post_module(client, module_id, endpoint, **data):
    return client.post(
        f"/authoring/modules/{module_id}/{endpoint}", data={"csrf_token": csrf_token(client, MODULES), **data}
    )


def learner_order(app):
    with app.app_context():
        course = db.session.execute(select(Course)).scalar_one()
        return [m.slug for m in course.modules]


def test_reorder_without_javascript_and_no_new_version(client, app, course, author):
    photos = module_row(app, "photos")
    assert post_module(client, photos.id, "move", direction="up").status_code == 302
    assert learner_order(app) == ["photos", "intro"]
    assert post_module(client, photos.id, "move", direction="up").status_code == 302  # already first
    assert learner_order(app) == ["photos", "intro"]
    assert post_module(client, photos.id, "move", direction="down").status_code == 302
    assert learner_order(app) == ["intro", "photos"] and course_row(app).version == 1
    assert post_module(client, photos.id, "move", direction="sideways").status_code == 400


def test_retire_and_restore_a_module(client, app, course, author):
    photos = module_row(app, "photos")
    assert post_module(client, photos.id, "status", action="retire").status_code == 302
    assert learner_order(app) == ["intro"] and course_row(app).version == 2
    assert "Retired" in client.get(MODULES).get_data(as_text=True)
    intro = module_row(app, "intro")
    response = post_module(client, intro.id, "status", action="retire")
    assert response.status_code == 409 and "only module" in response.get_data(as_text=True)
    assert post_module(client, photos.id, "status", action="restore").status_code == 302
    assert learner_order(app) == ["intro", "photos"] and course_row(app).version == 3
    assert post_module(client, photos.id, "status", action="burn").status_code == 400
    assert [e.action for e in events(app, "module.retired")] == ["module.retired"]


def test_the_index_links_to_new_course_modules_and_settings(client, course, author):
    html = client.get("/authoring").get_data(as_text=True)
    assert "/authoring/courses/new" in html and MODULES in html and SETTINGS in html


GETS = [SETTINGS, MODULES, f"{MODULES}/new", "/authoring/courses/new", "/authoring/modules/1/edit"]
POSTS = [
    SETTINGS,
    "/authoring/courses/test-course/publish",
    f"{MODULES}/new",
    "/authoring/courses/new",
    "/authoring/modules/1/edit",
    "/authoring/modules/1/move",
    "/authoring/modules/1/status",
]


@pytest.mark.parametrize("path", GETS + POSTS)
def test_anonymous_visitors_are_sent_to_sign_in(client, course, path):
    response = (
        client.get(path) if path in GETS else client.post(path, data={"csrf_token": csrf_token(client, "/login")})
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("role", "status"), [("staff", 403), ("manager", 403), ("hr", 403), ("author", 200), ("admin", 200)]
)
@pytest.mark.parametrize("path", GETS)
def test_only_authors_and_admins_reach_the_pages(client, auth, make_user, course, role, status, path):
    auth.login(make_user(role=role))
    assert client.get(path).status_code == status


@pytest.mark.parametrize("role", ["staff", "manager", "hr"])
@pytest.mark.parametrize("path", POSTS)
def test_others_cannot_change_anything(client, app, auth, make_user, course, role, path):
    auth.login(make_user(role=role))
    response = client.post(path, data={"csrf_token": csrf_token(client, "/"), "action": "unpublish", "direction": "up"})
    assert response.status_code == 403
    assert course_row(app).version == 1 and course_row(app).published


def test_unknown_course_and_module_are_404(client, course, author):
    assert client.get("/authoring/courses/nope/settings").status_code == 404
    assert client.get("/authoring/modules/99999/edit").status_code == 404
