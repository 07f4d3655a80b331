"""Per-record access: someone else's record answers exactly like a missing one, and every refusal of a
signed-in person is in the audit record (`access.denied`), without ever turning into a 500.

Role-level answers for every route are in tests/test_access_matrix.py; here are the records.
"""

import pytest
from sqlalchemy import select

from tests.access_world import build_world
from tests.conftest import Auth, csrf_token
from tests.helpers import comparable_page, get_when_prepared
from training.audit import services as audit_services
from training.audit.models import AuditEvent
from training.auth.models import Department, User
from training.extensions import db

UNKNOWN_SERIAL = "0000-0000-0000-0000"


@pytest.fixture
def world(app, make_user, make_requirement, course, saved_worlds):
    return build_world(app, make_user, make_requirement, saved_worlds)


@pytest.fixture
def pharmacy_manager(app, make_user, world):
    """A manager of another department than Olive's."""
    return make_user(role="manager", name="Phil Pharmacy-Manager", department="Pharmacy")


def denials(app) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "access.denied")).scalars().all()
        db.session.expunge_all()
        return list(events)


# --- someone else's record looks like no record ---------------------------------------------------

# (who asks, method, Olive's record, a record that does not exist, the audit subject type)
HIDDEN = [
    ("staff", "GET", "/attempts/{attempt}", "/attempts/999999", "quiz_attempt"),
    ("admin", "GET", "/attempts/{attempt}", "/attempts/999999", "quiz_attempt"),
    ("staff", "POST", "/attempts/{attempt}", "/attempts/999999", "quiz_attempt"),
    ("staff", "GET", "/certificates/{serial}", f"/certificates/{UNKNOWN_SERIAL}", "certificate"),
    ("staff", "GET", "/certificates/{serial}.pdf", f"/certificates/{UNKNOWN_SERIAL}.pdf", "certificate"),
    ("author", "GET", "/certificates/{serial}", f"/certificates/{UNKNOWN_SERIAL}", "certificate"),
    ("pharmacy manager", "GET", "/certificates/{serial}.pdf", f"/certificates/{UNKNOWN_SERIAL}.pdf", "certificate"),
    ("staff", "GET", "/compliance/people/{owner}/transcript.pdf", "/compliance/people/999999/transcript.pdf", "user"),
    ("author", "GET", "/compliance/people/{owner}/transcript.pdf", "/compliance/people/999999/transcript.pdf", "user"),
    ("pharmacy manager", "GET", "/compliance/people/{owner}", "/compliance/people/999999", "user"),
    (
        "pharmacy manager",
        "GET",
        "/compliance/people/{owner}/transcript.pdf",
        "/compliance/people/999999/transcript.pdf",
        "user",
    ),
]


@pytest.mark.parametrize(("who", "method", "hidden", "unknown", "subject_type"), HIDDEN)
def test_someone_elses_record_answers_like_a_missing_one_and_is_audited(
    app, world, pharmacy_manager, who, method, hidden, unknown, subject_type
):
    client = app.test_client()
    Auth(client).login(pharmacy_manager.email if who == "pharmacy manager" else world.emails[who])
    path = hidden.format(attempt=world.attempt_id, serial=world.serial, owner=world.owner_id)
    data = {"csrf_token": csrf_token(client, "/")} if method == "POST" else None

    missing = client.open(unknown, method=method, data=data)
    assert denials(app) == [], "a record that does not exist is not a refusal"
    refused = client.open(path, method=method, data=data)

    assert refused.status_code == missing.status_code == 404
    assert comparable_page(refused) == comparable_page(missing), "the answer must not tell that the record exists"
    (event,) = denials(app)
    assert (event.subject_type, event.details["reason"]) == (subject_type, "not_owner")
    assert event.subject_id and event.subject_id in {str(world.attempt_id), str(world.owner_id)} | {
        world.serial.replace("-", "")
    }
    assert event.details["path"] == path and event.details["method"] == method
    assert event.ip_address == "127.0.0.1"


def test_a_manager_sees_only_their_own_department_whatever_the_query_asks(app, client, auth, world):
    """Olive (Emergency) is the manager's; Peter (Pharmacy) is not, however he is asked for."""
    with app.app_context():
        pharmacy = db.session.execute(select(Department.id).where(Department.name == "Pharmacy")).scalar_one()
    auth.login(world.emails["manager"])
    people = client.get("/compliance/people").get_data(as_text=True)
    assert "Olive Owner" in people and "Peter Pharmacy" not in people
    assert "Peter Pharmacy" not in client.get("/compliance/people?q=Peter").get_data(as_text=True)
    assert client.get(f"/compliance/people?department={pharmacy}").status_code == 422
    assert client.get(f"/compliance/people/{world.other_department_person_id}").status_code == 404
    export = client.get(f"/compliance/export.csv?department={pharmacy}&q=Peter").get_data(as_text=True)
    assert "Peter Pharmacy" not in export and "Olive Owner" not in export, "the query narrows the own department"
    assert "Olive Owner" in client.get("/compliance/export.csv?q=Olive").get_data(as_text=True)


def test_hr_and_admins_see_every_department(app, auth, world):
    for role in ("hr", "admin"):
        client = world.client_for(app, role)
        assert client.get(f"/compliance/people/{world.other_department_person_id}").status_code == 200
        response = client.get(f"/compliance/people/{world.other_department_person_id}/transcript.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert "Peter Pharmacy" in client.get("/compliance/people?q=Peter").get_data(as_text=True)
    assert denials(app) == []


def test_a_person_reaches_their_own_records(app, world):
    """The owner herself: her attempt, certificate and transcript (the other side of the 404s above)."""
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, world.owner_id).email
    Auth(client).login(email)
    for path in (
        f"/attempts/{world.attempt_id}",
        f"/certificates/{world.serial}",
        f"/certificates/{world.serial}.pdf",
        f"/compliance/people/{world.owner_id}/transcript.pdf",
    ):
        response = get_when_prepared(app, client, path)  # her PDF: rendered by a job first
        assert response.status_code == 200, path
    assert client.get(f"/compliance/people/{world.owner_id}").status_code == 403, "the HR page is not hers"


# --- refusals by role --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "method", "path", "endpoint"),
    [
        ("staff", "GET", "/staff", "staff.index"),
        ("manager", "POST", "/staff/new", "staff.new"),
        ("author", "GET", "/compliance/people/{owner}", "compliance.person"),
        ("hr", "GET", "/audit", "audit.index"),
        ("hr", "GET", "/authoring/courses/test-course/export.yaml", "authoring_transfer.export_bank"),
    ],
)
def test_a_refused_role_is_in_the_audit_record(app, world, who, method, path, endpoint):
    client = world.client_for(app, who)
    path = path.format(owner=world.owner_id)
    data = {"csrf_token": csrf_token(client, "/")} if method == "POST" else None
    response = client.open(path, method=method, data=data)
    assert response.status_code == 403
    (event,) = denials(app)
    assert event.actor_id == world.user_ids[who]
    assert event.details == {
        "reason": "forbidden",
        "path": path,
        "method": method,
        "endpoint": endpoint,
        "message": "Your account does not have access to this page.",
    }
    assert (event.subject_type, event.subject_id, event.ip_address) == ("", "", "127.0.0.1")


def test_a_refusal_by_a_rule_not_a_role_is_recorded_with_its_message(app, world, make_user):
    """HR may edit staff but not another HR account: a 403 from the service, recorded the same way."""
    other_hr = make_user(role="hr", name="Harriet HR")
    client = world.client_for(app, "hr")
    assert client.get(f"/staff/{other_hr.id}/edit").status_code == 403
    (event,) = denials(app)
    assert event.details["reason"] == "forbidden" and "Only an admin" in event.details["message"]


def test_visitors_who_are_not_signed_in_are_sent_to_sign_in_not_recorded(app, world):
    client = world.client_for(app, "anonymous")
    for path in ("/staff", f"/attempts/{world.attempt_id}", "/audit"):
        assert client.get(path).status_code == 302
    assert denials(app) == []


def _failing_record_event(action, **_fields):
    """An audit row the database refuses (no action): the write fails at commit, on every backend."""
    event = AuditEvent(action=None, actor_id=None)
    db.session.add(event)
    return event


@pytest.mark.parametrize(("who", "path", "status"), [("staff", "/staff", 403), ("staff", "/attempts/{attempt}", 404)])
def test_a_refusal_is_still_answered_when_the_audit_write_fails(app, world, monkeypatch, caplog, who, path, status):
    monkeypatch.setattr(audit_services, "record_event", _failing_record_event)
    client = world.client_for(app, who)
    response = client.get(path.format(attempt=world.attempt_id))
    assert response.status_code == status
    assert "Sign out" in response.get_data(as_text=True), "the full error page, for a signed-in person"
    assert "Could not record a denied access" in caplog.text
    assert client.get("/").status_code == 200, "the next request is served as usual"
    monkeypatch.undo()
    assert denials(app) == []
