"""Every download of records leaves an audit event: who, which filter, how many rows (ASVS 16.2.1, 16.3.1).

The downloads are found in the URL map (file extensions, /api/v1/, the audit packet), so a new one
fails here until it is audited and listed in EXPORTS.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.access_world import RULES, build_world
from tests.conftest import csrf_token
from tests.helpers import download_when_ready, get_when_prepared
from training.audit.models import AuditEvent
from training.bearer_tokens import hash_token
from training.clock import today
from training.extensions import db

DOWNLOAD = re.compile(r"\.(csv|xlsx|zip|pdf|yaml|gift|json)$|^/api/v1/|/packet$|/export$|/download$")
# Downloads that are not records of people: nothing to audit.
NOT_RECORDS = {
    "GET /verify/<serial>.json": "public certificate check: only what the printed certificate shows",
    "GET /api/v1/openapi.json": "the API's own description",
    "GET /exports/<int:job_id>/download": "an export job's file: its event was recorded when the job made it",
}

FILTER = {"q": "", "department_id": None, "job_title": "", "item": "", "status": ""}
# rule -> (who downloads, query string or form, action, details the event must have)
EXPORTS = {
    "GET /compliance/export.csv": ("manager", "?status=completed", "compliance.exported", {"format": "csv", "rows": 1}),
    "POST /compliance/export.xlsx": (
        "hr",
        "job",
        "compliance.exported",
        {"format": "xlsx", "rows": 7, "filter": FILTER},
    ),
    "POST /certificates/export": ("hr", "job", "certificate.exported", {"count": 1, "channel": "web"}),
    "GET /certificates/<serial>.pdf": ("manager", "", "certificate.downloaded", {"format": "pdf"}),
    "GET /compliance/people/<int:user_id>/transcript.pdf": ("hr", "", "transcript.exported", {"format": "pdf"}),
    "GET /compliance/packet": (
        "hr",
        "packet",
        "audit_packet.exported",
        {"counts": {"people": 1, "completions": 1, "attempts": 1, "answers": 3, "attestations": 0, "certificates": 1}},
    ),
    "GET /authoring/courses/<slug>/export.yaml": ("author", "", "question_bank.exported", {"format": "yaml"}),
    "GET /authoring/courses/<slug>/export.gift": ("admin", "", "question_bank.exported", {"format": "gift"}),
    "GET /audit.csv": (
        "admin",
        "?action=api_token.",
        "audit.exported",
        {"format": "csv", "rows": 3, "filter": {"action": "api_token."}},
    ),
    "GET /api/v1/compliance": (
        "token",
        "?status=completed",
        "compliance.exported",
        {"channel": "api", "format": "json", "rows": 1, "page": 1, "filter": FILTER | {"status": "completed"}},
    ),
    "GET /api/v1/people/<employee_id>/transcript": ("token", "", "transcript.exported", {"channel": "api"}),
    "GET /api/v1/certificates/<serial>": ("token", "", "certificate.exported", {"channel": "api", "count": 1}),
}


def test_every_download_is_audited_or_holds_no_records():
    downloads = {key for key, rule in RULES.items() if DOWNLOAD.search(rule.rule)}
    assert downloads == set(EXPORTS) | set(NOT_RECORDS)


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()
        db.session.expunge_all()
        return list(found)


def download(app, world, client, key: str, query: str):
    path = world.path_for(app, RULES[key])
    if query == "packet":
        with app.app_context():
            on = today()
        data = {
            "csrf_token": csrf_token(client, path),
            "scope": "person",
            "person": "E100",
            "date_from": (on - timedelta(days=30)).isoformat(),
            "date_to": on.isoformat(),
        }
        return download_when_ready(app, client, client.post(path, data=data))
    if query == "job":
        return download_when_ready(app, client, client.post(path, data={"csrf_token": csrf_token(client, "/")}))
    return get_when_prepared(app, client, path + query)


@pytest.mark.parametrize("key", sorted(EXPORTS))
def test_each_download_records_who_what_and_how_many(app, make_user, make_requirement, course, key, saved_worlds):
    who, query, action, details = EXPORTS[key]
    world = build_world(app, make_user, make_requirement, saved_worlds)
    before = len(events(app, action))
    client = world.client_for(app, who)
    response = download(app, world, client, key, query)
    response.get_data()
    response.close()
    assert response.status_code == 200
    (*_, event) = events(app, action)
    assert len(events(app, action)) == before + 1
    assert {name: event.details.get(name) for name in details} == details
    if who == "token":
        assert event.actor_id is None and event.details["token_id"] == world.token_id
    else:
        assert event.actor_id == world.user_ids[who]
    assert event.ip_address == "127.0.0.1"


def test_the_bank_export_names_the_course_and_counts_its_questions(
    app, make_user, make_requirement, course, saved_worlds
):
    world = build_world(app, make_user, make_requirement, saved_worlds)
    client = world.client_for(app, "author")
    assert client.get("/authoring/courses/test-course/export.yaml").status_code == 200
    (event,) = events(app, "question_bank.exported")
    assert (event.subject_type, event.subject_id) == ("question_bank", "test-course")
    assert event.details == {"course_id": world.course_id, "format": "yaml", "questions": 3}
    activity = world.client_for(app, "admin").get("/authoring/activity").get_data(as_text=True)
    assert "Questions exported" in activity, "authoring's own activity page lists it too"


def test_a_certificate_download_names_the_certificate_and_its_holder(
    app, make_user, make_requirement, course, saved_worlds
):
    world = build_world(app, make_user, make_requirement, saved_worlds)
    get_when_prepared(app, world.client_for(app, "hr"), f"/certificates/{world.serial}.pdf")
    (event,) = events(app, "certificate.downloaded")
    assert (event.subject_type, event.subject_id) == ("certificate", world.serial.replace("-", ""))
    assert event.details == {"format": "pdf", "user_id": world.owner_id, "course_id": world.course_id}


def test_a_refused_or_failed_api_call_records_no_export(app, make_user, make_requirement, course, saved_worlds):
    world = build_world(app, make_user, make_requirement, saved_worlds)
    revoked = world.client_for(app, "revoked token")
    assert revoked.get("/api/v1/compliance").status_code == 401
    token = world.client_for(app, "token")
    assert token.get("/api/v1/people/NOBODY/transcript").status_code == 404
    assert token.get("/api/v1/compliance?status=bogus").status_code == 422
    assert events(app, "compliance.exported") == events(app, "transcript.exported") == []


def test_the_api_token_itself_is_never_recorded(app, make_user, make_requirement, course, saved_worlds):
    """The audit record names a token by its id; the secret (or its hash) never goes into it."""
    world = build_world(app, make_user, make_requirement, saved_worlds)
    client = world.client_for(app, "token")
    for path in ("/api/v1/compliance", "/api/v1/people/E100/transcript", f"/api/v1/certificates/{world.serial}"):
        assert client.get(path).status_code == 200
    assert world.client_for(app, "revoked token").get("/api/v1/compliance").status_code == 401
    with app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
        recorded = repr([(e.action, e.subject_type, e.subject_id, e.details, e.ip_address) for e in rows])
        hashes = [hash_token(world.token), hash_token(world.revoked_token)]
    assert len([e for e in rows if e.details.get("channel") == "api"]) == 3
    for secret in (world.token, world.revoked_token, world.token[:20], *hashes):
        assert secret not in recorded
