"""Policies through the app: HR publishes versions, staff read and attest, compliance follows."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth, csrf_token
from tests.helpers import complete_course, start_quiz
from training import clock
from training.audit.models import AuditEvent
from training.auth.models import User
from training.completions.models import Completion
from training.compliance import obligations as compliance_obligations
from training.compliance import requirements as compliance_requirements
from training.compliance import status as compliance_status
from training.compliance.models import Obligation
from training.content.models import Course
from training.db import utcnow
from training.extensions import db
from training.policies import management, reading
from training.policies.management import VersionInput
from training.policies.models import Attestation, Policy, PolicyCourse, PolicyReading, PolicyVersion

BODY = """## Posting about work

- Never post photos taken on the ward.
- Do not discuss patients online, even without names.
"""
SLUG = "social-media-policy"


def move_clock(monkeypatch, by: timedelta):
    """Move the policies' and compliance's clock: reading times, publication times and 'today'."""
    moved = utcnow() + by
    monkeypatch.setattr(compliance_obligations, "utcnow", lambda: moved)
    monkeypatch.setattr(compliance_requirements, "utcnow", lambda: moved)
    monkeypatch.setattr(management, "utcnow", lambda: moved)
    monkeypatch.setattr(reading, "utcnow", lambda: moved)
    monkeypatch.setattr(clock, "utcnow", lambda: moved)


@pytest.fixture
def hr(make_user):
    return make_user(role="hr", name="Hana Reyes")


@pytest.fixture
def hr_auth(app, hr):
    """HR signed in on a client of their own, beside the staff member's."""
    auth = Auth(app.test_client())
    auth.login(hr)
    return auth


@pytest.fixture
def make_policy(app, hr):
    """Create a policy with its first version through the service; returns its slug."""

    def make(title="Social Media Policy", body=BODY, *, min_reading_seconds=60, slug=""):
        with app.app_context():
            actor = db.session.get(User, hr.id)
            data = VersionInput(body=body, min_reading_seconds=min_reading_seconds)
            return management.create_policy(actor, title, slug, data).slug

    return make


def publish(
    hr_auth,
    slug=SLUG,
    body=BODY + "\nAsk the privacy officer first.\n",
    *,
    material=False,
    based_on=None,
    based_on_field=None,
    **extra,
):
    page = hr_auth.client.get(f"/policies/manage/{slug}/publish").get_data(as_text=True)
    current = int(re.search(r'name="based_on"[^>]*value="(\d+)"', page).group(1))
    data = {
        "based_on": based_on_field or str(based_on or current),
        "body": body,
        "change_summary": "Added who to ask.",
        "min_reading_seconds": "60",
        "statement": "",
        "submit": "Publish this version",
    }
    if material:
        data["material_change"] = "y"
    return hr_auth.post(f"/policies/manage/{slug}/publish", data | extra, token_from=f"/policies/manage/{slug}")


def attest(auth, slug=SLUG, version_id=None, agree="y"):
    data = {"version_id": str(version_id if version_id is not None else current_version_id(auth, slug))}
    if agree:
        data["agree"] = agree
    return auth.post(f"/policies/{slug}/attest", data, token_from="/policies")


def current_version_id(auth, slug) -> int:
    page = auth.client.get(f"/policies/{slug}").get_data(as_text=True)
    return int(re.search(r'name="version_id"[^>]*value="(\d+)"', page).group(1))


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def actions(app) -> list[str]:
    """The audit record's policy actions in order (sign-ins are recorded too, and left out here)."""
    with app.app_context():
        query = select(AuditEvent.action).where(AuditEvent.action.not_like("user.%")).order_by(AuditEvent.id)
        return list(db.session.execute(query).scalars())


def policy_cell(app, user_id, slug=SLUG, now=None):
    with app.app_context():
        policy_id = db.session.execute(select(Policy.id).where(Policy.slug == slug)).scalar_one()
        cells = compliance_status.person_cells(user_id, now)
        return next((c for c in cells if c.item.key == f"policy:{policy_id}"), None)


def day(value) -> str:
    return clock.format_day(value)


def local_today(app):
    with app.app_context():
        return clock.today()


# --- HR: creating and publishing ----------------------------------------------------------------


def test_hr_creates_a_policy_with_its_first_version(app, client, auth, hr):
    auth.login(hr)
    form = client.get("/policies/manage/new").get_data(as_text=True)
    assert 'name="min_reading_seconds"' in form and 'value="60"' in form
    response = auth.post(
        "/policies/manage/new",
        {"title": "Social Media Policy", "slug": "", "body": BODY, "min_reading_seconds": "90", "statement": ""},
        token_from="/policies/manage/new",
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/policies/manage/{SLUG}"
    with app.app_context():
        policy = db.session.execute(select(Policy)).scalar_one()
        (version,) = policy.versions
        assert (policy.slug, policy.title, policy.created_by_id) == (SLUG, "Social Media Policy", hr.id)
        assert version.version == 1 and not version.material_change and version.min_reading_seconds == 90
        assert version.statement == "I have read and will follow Social Media Policy, version 1."
        assert version.body == BODY.strip() and len(version.content_hash) == 64 and version.published_by_id == hr.id
    assert actions(app) == ["policy.created"]
    page = client.get(f"/policies/manage/{SLUG}").get_data(as_text=True)
    assert "Version 1" in page and "First version" in page and "Hana Reyes" in page


def test_the_address_can_be_chosen(app, auth, hr):
    auth.login(hr)
    data = {"title": "Phones", "slug": "phones-at-work", "body": BODY, "min_reading_seconds": "0"}
    assert auth.post("/policies/manage/new", data, token_from="/policies/manage/new").status_code == 302
    assert count(app, Policy, Policy.slug == "phones-at-work") == 1


def test_a_tampered_base_version_is_refused_as_stale_not_a_500(app, hr_auth, make_policy):
    """ "\u00b2" passed str.isdigit() and then failed int()."""
    make_policy()
    response = publish(hr_auth, based_on_field="\u00b2")
    assert response.status_code == 409
    assert count(app, PolicyVersion) == 1


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"title": ""}, "Enter the policy&#39;s title."),
        ({"body": "  \r\n "}, "Write the text of the policy."),
        ({"slug": "Bad Slug!"}, "lower-case letters"),
        ({"slug": "manage"}, "used by the site itself"),
        ({"title": "Manage"}, "used by the site itself"),
        ({"slug": SLUG}, "Another policy already uses"),
        ({"min_reading_seconds": "3601"}, "from 0 to 3600"),
        ({"min_reading_seconds": "soon"}, "Enter a number of seconds"),
        ({"statement": "x" * 501}, "at most 500"),
    ],
)
def test_a_new_policy_with_bad_input_is_refused_and_nothing_written(app, auth, hr, make_policy, changes, message):
    make_policy()
    auth.login(hr)
    data = {"title": "Phones", "slug": "", "body": BODY, "min_reading_seconds": "60", "statement": ""} | changes
    response = auth.post("/policies/manage/new", data, token_from="/policies/manage/new")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Policy) == 1 and count(app, PolicyVersion) == 1


def test_preview_shows_the_sanitised_text_and_publishes_nothing(app, auth, hr):
    auth.login(hr)
    body = "## Heading\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))"
    data = {"title": "Phones", "body": body, "min_reading_seconds": "60", "preview": "Preview"}
    response = auth.post("/policies/manage/new", data, token_from="/policies/manage/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h2>Heading</h2>" in html and "Nothing is published yet" in html
    assert "<script>alert" not in html and 'href="javascript' not in html
    assert count(app, Policy) == 0


def test_publishing_appends_a_version_and_never_changes_the_old_one(app, hr_auth, make_policy):
    make_policy()
    with app.app_context():
        v1 = db.session.execute(select(PolicyVersion)).scalar_one()
        before = (v1.id, v1.body, v1.content_hash, v1.statement, v1.published_at)
    form = hr_auth.client.get(f"/policies/manage/{SLUG}/publish").get_data(as_text=True)
    assert "Publish version 2 of Social Media Policy" in form
    assert "I have read and will follow Social Media Policy, version 2." in form
    assert "45 CFR 164.530(b)(2)(i)(C)" in form
    response = publish(hr_auth, material=True)
    assert response.status_code == 302
    with app.app_context():
        versions = db.session.execute(select(PolicyVersion).order_by(PolicyVersion.version)).scalars().all()
        assert [v.version for v in versions] == [1, 2]
        old, new = versions
        assert (old.id, old.body, old.content_hash, old.statement, old.published_at) == before
        assert new.material_change and new.change_summary == "Added who to ask."
        assert new.statement == "I have read and will follow Social Media Policy, version 2."
        assert new.body.endswith("Ask the privacy officer first.") and new.content_hash != old.content_hash
    assert actions(app) == ["policy.created", "policy.version_published"]
    detail = hr_auth.client.get(f"/policies/manage/{SLUG}").get_data(as_text=True)
    assert "<strong>Material</strong>" in detail and "Added who to ask." in detail
    old_page = hr_auth.client.get(f"/policies/manage/{SLUG}/versions/1").get_data(as_text=True)
    assert "Ask the privacy officer" not in old_page and "Never post photos" in old_page
    assert hr_auth.client.get(f"/policies/manage/{SLUG}/versions/9").status_code == 404
    assert hr_auth.client.get(f"/policies/manage/{SLUG}/versions/{'9' * 30}").status_code == 404


def test_an_identical_text_is_refused(app, hr_auth, make_policy):
    make_policy()
    response = publish(hr_auth, body=BODY.replace("\n", "  \r\n") + "\r\n")
    assert response.status_code == 422
    assert "This text is the same as version 1" in response.get_data(as_text=True)
    assert count(app, PolicyVersion) == 1 and actions(app) == ["policy.created"]


def test_publishing_on_top_of_an_old_version_is_refused(app, hr_auth, make_policy):
    make_policy()
    assert publish(hr_auth).status_code == 302
    response = publish(hr_auth, body="Another text.", based_on=1)
    assert response.status_code == 409
    assert "Version 2 of Social Media Policy was published while you were editing" in response.get_data(as_text=True)
    assert count(app, PolicyVersion) == 2


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"change_summary": ""}, "Say what changed"),
        ({"min_reading_seconds": "-1"}, "from 0 to 3600"),
        ({"body": ""}, "Write the text of the policy."),
    ],
)
def test_a_bad_publication_is_refused(app, hr_auth, make_policy, changes, message):
    make_policy()
    response = publish(hr_auth, **changes)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(app, PolicyVersion) == 1


def test_publish_preview_renders_without_publishing(app, hr_auth, make_policy):
    make_policy()
    response = publish(hr_auth, body="## New rules\n\n<img src=x onerror=alert(1)>", preview="Preview", submit="")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h2>New rules</h2>" in html
    assert "<img" not in html
    assert count(app, PolicyVersion) == 1


def test_markdown_with_script_is_sanitised_for_staff(app, client, auth, make_user, make_policy):
    make_policy(body='Read this.\n\n<script>alert("x")</script>\n\n<a href="javascript:alert(1)" onclick="x()">hi</a>')
    auth.login(make_user())
    html = client.get(f"/policies/{SLUG}").get_data(as_text=True)
    assert "Read this." in html and "&lt;script&gt;" in html  # shown as text, never run
    assert "<script" not in html and not re.search(r"<[^>]*onclick", html) and '<a href="javascript' not in html


# --- HR: courses, retiring, the list --------------------------------------------------------------


def test_hr_links_and_unlinks_a_course_with_audit_records(app, hr_auth, make_policy, course):
    make_policy()
    with app.app_context():
        course_id = db.session.execute(select(Course.id)).scalar_one()
    page = hr_auth.client.get(f"/policies/manage/{SLUG}").get_data(as_text=True)
    assert f'<option value="{course_id}">Test Course</option>' in page
    url = f"/policies/manage/{SLUG}/courses"
    assert hr_auth.post(url, {"course": str(course_id)}).status_code == 302
    assert count(app, PolicyCourse) == 1
    assert hr_auth.post(url, {"course": "99999"}).status_code == 422
    assert hr_auth.post(url, {"course": "not a number"}).status_code == 422
    assert count(app, PolicyCourse) == 1
    response = hr_auth.post(f"/policies/manage/{SLUG}/courses/{course_id}/unlink", {})
    assert response.status_code == 302 and count(app, PolicyCourse) == 0
    assert hr_auth.post(f"/policies/manage/{SLUG}/courses/{course_id}/unlink", {}).status_code == 404
    assert hr_auth.post(f"/policies/manage/{SLUG}/courses/{'9' * 30}/unlink", {}).status_code == 404
    assert hr_auth.post(url, {"course": "9" * 30}).status_code == 422
    assert actions(app)[-2:] == ["policy.course_linked", "policy.course_unlinked"]


def test_retiring_a_policy_hides_it_from_staff_and_ends_its_obligations(
    app, client, auth, hr_auth, make_user, make_policy, make_requirement
):
    make_policy()
    make_requirement(policy=SLUG)
    staff = make_user()
    assert count(app, Obligation, Obligation.user_id == staff.id) == 1
    assert hr_auth.post(f"/policies/manage/{SLUG}/retire", {}).status_code == 302
    assert count(app, Obligation, Obligation.user_id == staff.id) == 0
    assert hr_auth.post(f"/policies/manage/{SLUG}/retire", {}).status_code == 409
    assert publish(hr_auth).status_code == 409
    assert "Retired" in hr_auth.client.get("/policies/manage").get_data(as_text=True)
    auth.login(staff)
    assert client.get(f"/policies/{SLUG}").status_code == 404
    assert "Social Media Policy" not in client.get("/policies").get_data(as_text=True)
    assert count(app, PolicyVersion) == 1 and actions(app)[-1] == "policy.retired"


def test_the_list_counts_who_has_attested(app, client, auth, hr_auth, make_user, make_policy, make_requirement):
    make_policy(min_reading_seconds=0)
    make_policy("Phones at work", body="Keep phones away from patients.")
    make_requirement(policy=SLUG)
    first, _second = make_user(), make_user()
    auth.login(first)
    assert attest(auth).status_code == 302
    html = hr_auth.client.get("/policies/manage").get_data(as_text=True)
    row = html[html.index("Social Media Policy") :]
    assert "1 of 3" in row.split("</tr>")[0]  # two staff and HR itself; one attested
    assert "No one required" in html.split("Phones at work")[1].split("</tr>")[0]


# --- Staff: reading and attesting ---------------------------------------------------------------


def test_opening_a_policy_records_the_reading_once(app, client, auth, make_user, make_policy):
    make_policy()
    user = make_user()
    auth.login(user)
    for _ in range(3):
        html = client.get(f"/policies/{SLUG}").get_data(as_text=True)
        assert "Never post photos taken on the ward." in html
        assert "I have read and will follow Social Media Policy, version 1." in html
        assert "Please take at least 1 minute to read the policy." in html
    assert count(app, PolicyReading, PolicyReading.user_id == user.id) == 1


def test_the_minimum_reading_time_is_enforced(app, client, auth, make_user, make_policy, monkeypatch):
    make_policy()
    user = make_user()
    auth.login(user)
    version_id = current_version_id(auth, SLUG)
    response = attest(auth, version_id=version_id)
    assert response.status_code == 409
    assert re.search(r"you can attest in (59|60) seconds", response.get_data(as_text=True))
    move_clock(monkeypatch, timedelta(seconds=59, milliseconds=500))
    response = attest(auth, version_id=version_id)
    assert response.status_code == 409 and "you can attest in 1 second " in response.get_data(as_text=True)
    assert count(app, Attestation) == 0 and "policy.attested" not in actions(app)
    move_clock(monkeypatch, timedelta(seconds=61))
    assert attest(auth, version_id=version_id).status_code == 302
    with app.app_context():
        attestation = db.session.execute(select(Attestation)).scalar_one()
        assert attestation.user_id == user.id and attestation.policy_version_id == version_id
        assert attestation.statement == "I have read and will follow Social Media Policy, version 1."
        assert attestation.ip_address == "127.0.0.1"
    assert actions(app)[-1] == "policy.attested"
    html = client.get(f"/policies/{SLUG}").get_data(as_text=True)
    assert "You attested to version 1 on" in html and 'name="agree"' not in html


def test_attesting_without_opening_the_policy_is_refused(app, auth, make_user, make_policy):
    make_policy(min_reading_seconds=0)
    auth.login(make_user())
    with app.app_context():
        version_id = db.session.execute(select(PolicyVersion.id)).scalar_one()
    response = attest(auth, version_id=version_id)
    assert response.status_code == 409 and "no record of you opening this version" in response.get_data(as_text=True)
    assert count(app, Attestation) == 0


def test_a_stale_version_is_refused(app, client, auth, hr_auth, make_user, make_policy):
    make_policy(min_reading_seconds=0)
    auth.login(make_user())
    old_version = current_version_id(auth, SLUG)
    assert publish(hr_auth).status_code == 302
    response = attest(auth, version_id=old_version)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Version 2 of Social Media Policy was published after you opened version 1" in html
    assert f'href="/policies/{SLUG}"' in html
    assert count(app, Attestation) == 0


def test_a_double_submit_answers_with_the_first_attestation(app, client, auth, make_user, make_policy):
    make_policy(min_reading_seconds=0)
    auth.login(make_user())
    version_id = current_version_id(auth, SLUG)
    first = attest(auth, version_id=version_id)
    second = attest(auth, version_id=version_id)
    assert first.status_code == second.status_code == 302
    assert count(app, Attestation) == 1 and actions(app).count("policy.attested") == 1
    html = client.get(f"/policies/{SLUG}").get_data(as_text=True)
    assert "You had already attested to version 1" in html and "You attested to version 1 on" in html


@pytest.mark.parametrize(
    "data, status, message",
    [
        ({"agree": ""}, 422, "Tick the box to confirm the statement."),
        ({"version_id": "abc"}, 422, "This form is not for a version of this policy"),
        ({"version_id": "\u00b2"}, 422, "This form is not for a version of this policy"),
        ({"version_id": ""}, 422, "This field is required"),
        ({"version_id": "99999"}, 404, "has no such version"),
        ({"version_id": "9" * 30}, 404, "has no such version"),
        ({"version_id": "OTHER"}, 404, "has no such version"),
    ],
)
def test_bad_attestation_forms_write_nothing(app, auth, make_user, make_policy, data, status, message):
    make_policy(min_reading_seconds=0)
    make_policy("Phones at work", body="Keep phones away.", min_reading_seconds=0)
    auth.login(make_user())
    version_id = current_version_id(auth, SLUG)
    other = current_version_id(auth, "phones-at-work")
    form = {"version_id": str(version_id), "agree": "y"} | data
    if form["version_id"] == "OTHER":
        form["version_id"] = str(other)
    form = {k: v for k, v in form.items() if v != "" or k == "version_id"}
    response = auth.post(f"/policies/{SLUG}/attest", form, token_from="/policies")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert count(app, Attestation) == 0


def test_unknown_policies_are_404(client, auth, make_user, make_policy):
    make_policy()
    auth.login(make_user())
    assert client.get("/policies/nope").status_code == 404
    assert (
        auth.post("/policies/nope/attest", {"version_id": "1", "agree": "y"}, token_from="/policies").status_code == 404
    )


def test_attesting_needs_a_csrf_token(app, client, auth, make_user, make_policy):
    make_policy(min_reading_seconds=0)
    auth.login(make_user())
    version_id = current_version_id(auth, SLUG)
    response = client.post(f"/policies/{SLUG}/attest", data={"version_id": str(version_id), "agree": "y"})
    assert response.status_code == 400 and count(app, Attestation) == 0


def test_staff_see_required_policies_with_status_and_other_live_ones(
    app, client, auth, make_user, make_policy, make_requirement
):
    make_policy()
    make_policy("Phones at work", body="Keep phones away.")
    make_requirement(policy=SLUG, due_within_days=60)
    auth.login(make_user())
    html = client.get("/policies").get_data(as_text=True)
    required, others = html.split("Other policies")
    due = day(local_today(app) + timedelta(days=60))
    assert "Social Media Policy" in required and "Not started" in required and f"due {due}" in required
    assert "Phones at work" in others and "Phones at work" not in required


# --- Compliance: the status of a policy obligation ------------------------------------------------


def test_status_moves_from_not_started_to_completed_and_back_on_a_material_change(
    app, client, auth, hr_auth, make_user, make_policy, make_requirement, monkeypatch
):
    make_policy()
    make_requirement(policy=SLUG, due_within_days=40)
    user = make_user()
    assert policy_cell(app, user.id).status == "not_started"
    auth.login(user)
    client.get(f"/policies/{SLUG}")
    assert policy_cell(app, user.id).status == "in_progress"
    move_clock(monkeypatch, timedelta(seconds=61))
    assert attest(auth).status_code == 302
    cell = policy_cell(app, user.id)
    assert (cell.status, cell.detail) == ("completed", "no expiry")

    assert publish(hr_auth, material=True).status_code == 302
    changed_on = local_today(app)
    due = day(changed_on + timedelta(days=40))
    cell = policy_cell(app, user.id)
    assert (cell.status, cell.detail) == ("not_started", f"due {due}")  # 40 days again, from the change
    move_clock(monkeypatch, timedelta(days=11))
    assert (policy_cell(app, user.id).status, policy_cell(app, user.id).detail) == ("due_soon", f"due {due}")
    html = client.get(f"/policies/{SLUG}").get_data(as_text=True)
    assert "changed in a way that matters since you attested to version 1" in html
    assert "What changed (a material change)" in html

    move_clock(monkeypatch, timedelta(days=41))
    cell = policy_cell(app, user.id)
    assert (cell.status, cell.detail) == ("overdue", f"was due {due}")
    assert "Overdue" in client.get("/policies").get_data(as_text=True)
    move_clock(monkeypatch, timedelta(days=41, seconds=61))
    assert attest(auth).status_code == 302
    assert policy_cell(app, user.id).status == "completed"


def test_a_minor_change_keeps_attestations_valid(
    app, client, auth, hr_auth, make_user, make_policy, make_requirement, monkeypatch
):
    make_policy(min_reading_seconds=0)
    make_requirement(policy=SLUG)
    user = make_user()
    auth.login(user)
    assert attest(auth).status_code == 302
    assert publish(hr_auth, material=False, min_reading_seconds="0").status_code == 302
    assert policy_cell(app, user.id).status == "completed"
    html = client.get(f"/policies/{SLUG}").get_data(as_text=True)
    assert "Your attestation of version 1" in html and "still counts" in html
    assert attest(auth).status_code == 302  # attesting to the new version as well is allowed
    assert count(app, Attestation, Attestation.user_id == user.id) == 2
    assert policy_cell(app, user.id).status == "completed"


# --- My training --------------------------------------------------------------------------------


def test_my_training_shows_course_and_policy_compliance(
    app, client, auth, make_user, make_policy, make_requirement, course
):
    make_policy()
    make_requirement("test-course", due_within_days=20)
    make_requirement(policy=SLUG, due_within_days=90)
    auth.login(make_user())
    html = client.get("/").get_data(as_text=True)
    today = local_today(app)
    assert 'role="progressbar"' in html
    assert "Required of you ·" in html and f"due {day(today + timedelta(days=20))}" in html
    assert "Policies to read and attest" in html
    assert f'<a href="/policies/{SLUG}">Social Media Policy</a>' in html
    assert f"due {day(today + timedelta(days=90))}" in html


def test_a_material_change_asks_the_learner_to_retake_the_linked_course_and_attest_again(
    app, client, auth, hr_auth, make_user, make_policy, make_requirement, course, monkeypatch
):
    make_policy(min_reading_seconds=0)
    make_requirement("test-course", due_within_days=30)
    make_requirement(policy=SLUG, due_within_days=30)
    with app.app_context():
        course_id = db.session.execute(select(Course.id)).scalar_one()
    assert hr_auth.post(f"/policies/manage/{SLUG}/courses", {"course": str(course_id)}).status_code == 302
    user = make_user()
    auth.login(user)
    complete_course(app, auth)
    assert attest(auth).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert home.count("badge-c-completed") == 2

    assert publish(hr_auth, material=True, min_reading_seconds="0").status_code == 302

    home = client.get("/").get_data(as_text=True)
    due = f"due {day(local_today(app) + timedelta(days=30))}"
    course_card = home.split("Policies to read and attest")[0]
    assert "badge-c-due_soon" in course_card and due in course_card
    assert "A policy this course teaches changed materially" in course_card
    assert "badge-c-due_soon" in home.split("Policies to read and attest")[1]
    page = client.get("/courses/test-course").get_data(as_text=True)
    assert "Start the quiz" in page and "You completed this course" not in page
    start_quiz(auth, "test-course")
    complete_course(app, auth)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Completion)).scalar_one() == 2
    assert attest(auth).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert home.count("badge-c-completed") == 2 and "badge-c-due_soon" not in home


# --- Access --------------------------------------------------------------------------------------

MANAGE_PAGES = [
    "/policies/manage",
    "/policies/manage/new",
    f"/policies/manage/{SLUG}",
    f"/policies/manage/{SLUG}/publish",
    f"/policies/manage/{SLUG}/versions/1",
]
MANAGE_POSTS = [
    "/policies/manage/new",
    f"/policies/manage/{SLUG}/publish",
    f"/policies/manage/{SLUG}/courses",
    f"/policies/manage/{SLUG}/courses/1/unlink",
    f"/policies/manage/{SLUG}/retire",
]


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_hr_and_admin_manage_policies(app, client, auth, make_user, make_policy, role):
    make_policy()
    auth.login(make_user(role=role))
    for path in MANAGE_PAGES:
        assert client.get(path).status_code == 403, path
    for path in MANAGE_POSTS:
        assert auth.post(path, {"title": "x", "body": "y", "min_reading_seconds": "0"}).status_code == 403, path
    assert count(app, Policy) == 1 and count(app, Policy, Policy.retired_at.is_not(None)) == 0
    assert "/policies/manage" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["hr", "admin"])
def test_hr_and_admin_reach_every_manage_page(client, auth, make_user, make_policy, role):
    make_policy()
    auth.login(make_user(role=role))
    for path in MANAGE_PAGES:
        assert client.get(path).status_code == 200, path
    assert 'href="/policies/manage"' in client.get("/authoring/statistics").get_data(as_text=True), "Content section"


def test_anonymous_visitors_are_sent_to_sign_in(app, client, make_policy):
    make_policy()
    for path in [*MANAGE_PAGES, "/policies", f"/policies/{SLUG}"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path
    token = csrf_token(client, "/login")
    for path in [*MANAGE_POSTS, f"/policies/{SLUG}/attest"]:
        response = client.post(path, data={"csrf_token": token, "version_id": "1", "agree": "y"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert count(app, Attestation) == 0 and count(app, PolicyReading) == 0
