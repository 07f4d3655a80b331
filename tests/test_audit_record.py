"""The audit record page for admins (/audit): filters, paging, the CSV download, a fixed number of
queries, and the append-only table underneath."""

import ast
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.access_world import build_world
from tests.conftest import Auth
from training.audit.labels import ACTION_LABELS
from training.audit.models import AuditEvent
from training.audit.services import record_event
from training.extensions import db
from training.reports import audit_log

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def admin(app, make_user):
    """An admin signed in on a client of their own."""
    user = make_user(role="admin", name="Ada Admin", email="ada@example.org")
    client = app.test_client()
    assert Auth(client).login(user.email).status_code == 302
    return user, client


def add_event(app, action, *, actor_id=None, at=None, subject=("", ""), details=None, ip=""):
    with app.app_context():
        event_ = record_event(
            action, actor_id=actor_id, subject_type=subject[0], subject_id=subject[1], details=details, ip_address=ip
        )
        if at is not None:
            event_.occurred_at = at
        db.session.commit()
        return event_.id


def listed_ids(html: str) -> list[int]:
    """The ids of the events on a page, in order (each row's subject id is its test id here)."""
    return [int(n) for n in re.findall(r'<span class="mono">ev-(\d+)</span>', html)]


def test_admins_see_events_newest_first_with_who_what_and_details(app, admin, make_user):
    user, client = admin
    nurse = make_user(name="Nina Nurse", email="nina@example.org")
    add_event(app, "staff.updated", actor_id=user.id, subject=("user", str(nurse.id)), details={"changed": ["role"]})
    add_event(app, "certificate.exported", details={"filter": {"course_id": 3}, "count": 2}, ip="10.1.2.3")
    html = client.get("/audit").get_data(as_text=True)
    rows = html[html.index("<tbody>") :]
    assert rows.index("Certificates exported") < rows.index("Person&#39;s record changed"), "newest first"
    assert f'href="/staff/{user.id}/edit">Ada Admin</a>' in html, "who, linked to their staff record"
    assert f'href="/staff/{nurse.id}/edit">{nurse.id}</a>' in html, "a person as the subject, linked"
    assert "filter.course id: 3" in html and "count: 2" in html and "changed: role" in html
    assert "10.1.2.3" in html and "Command line or system" in html
    assert 'aria-current="page">Audit record</a>' in html, "the Settings section links to it"


def test_the_settings_link_the_audit_record_for_admins_only(app, make_user):
    for role, page, shown in (
        ("admin", "/settings/api-tokens", True),
        ("hr", "/settings/api-tokens", False),
        ("staff", "/", False),
    ):
        client = app.test_client()
        Auth(client).login(make_user(role=role).email)
        assert ('href="/audit"' in client.get(page).get_data(as_text=True)) is shown, role


def test_filters_by_who_action_subject_and_address(app, admin, make_user):
    user, client = admin
    nurse = make_user(name="Nina Nurse", email="nina@example.org")
    add_event(app, "staff.updated", actor_id=user.id, subject=("user", "ev-1"), ip="10.0.0.1")
    add_event(app, "staff.created", actor_id=nurse.id, subject=("user", "ev-2"), ip="10.0.0.2")
    add_event(app, "mfa.enabled", actor_id=nurse.id, subject=("user", "ev-3"), ip="192.168.1.5")
    add_event(app, "policy.retired", subject=("policy", "ev-4"), ip="2001:db8::1")

    def found(query: str) -> list[int]:
        response = client.get(f"/audit?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return listed_ids(response.get_data(as_text=True))

    assert found("") == [4, 3, 2, 1]
    assert found("q=nina") == [3, 2] and found("q=ADA@EXAMPLE") == [1]
    assert found("action=staff.updated") == [1]
    assert found("action=staff.") == [2, 1], "a whole group"
    assert found("prefix=mfa.") == [3] and found("prefix=staff.c") == [2]
    assert found("subject_type=policy") == [4] and found("subject_type=user&subject_id=ev-2") == [2]
    assert found("address=10.0.") == [2, 1] and found("address=2001:db8") == [4]
    assert found("q=nina&action=staff.") == [2], "filters combine"
    assert found("q=%25") == [] and found("prefix=staff_") == [], "% and _ are matched literally"


def test_times_carry_milliseconds_at_most_as_html_allows(app, admin):
    _, client = admin
    add_event(app, "staff.updated", subject=("user", "ev-1"), at=datetime(2026, 1, 9, 10, 59, 3, 123456, tzinfo=UTC))
    html = client.get("/audit").get_data(as_text=True)
    assert 'datetime="2026-01-09T10:59:03.123Z"' in html
    assert all(re.fullmatch(r"[\d-]+T[\d:]+\.\d{3}Z", v) for v in re.findall(r'<time datetime="([^"]+)"', html))


def test_dates_are_whole_days_in_the_organisations_timezone(app, admin):
    _, client = admin
    app.config["ORGANISATION_TIMEZONE"] = "Pacific/Auckland"  # UTC+13 in January
    add_event(app, "staff.updated", subject=("user", "ev-1"), at=datetime(2026, 1, 9, 10, 59, tzinfo=UTC))
    add_event(app, "staff.updated", subject=("user", "ev-2"), at=datetime(2026, 1, 9, 11, 0, tzinfo=UTC))
    add_event(app, "staff.updated", subject=("user", "ev-3"), at=datetime(2026, 1, 10, 10, 59, tzinfo=UTC))
    # 11:00 UTC on 9 January is midnight starting 10 January in Auckland.
    assert listed_ids(client.get("/audit?date_from=2026-01-10&date_to=2026-01-10").get_data(as_text=True)) == [3, 2]
    assert listed_ids(client.get("/audit?date_to=2026-01-09").get_data(as_text=True)) == [1]
    html = client.get("/audit?date_from=2026-01-10").get_data(as_text=True)
    assert "times in Pacific/Auckland" in html
    midnight = r'datetime="2026-01-09T11:00:00.000Z"><span class="nowrap">10 Jan 2026</span> <span[^>]*>00:00:00<'
    assert re.search(midnight, html), "shown in the organisation's time"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date_from=2026-13-01", "date_from", "Not a valid date value"),
        ("date_from=2026-02-01&date_to=2026-01-01", "date_to", "The end date is before the start date"),
        ("date_to=9999-12-31", "date_to", "Enter a date from 1970 to 9999"),
        ("prefix=User.", "prefix", "lower-case letters"),
        ("address=10.0.0.1;drop", "address", "Enter an IP address"),
        ("subject_type=a%20b", "subject_type", "lower-case letters"),
        ("subject_id=x%01y", "subject_id", "control characters"),
        ("q=a%07b", "q", "control characters"),
        ("q=" + "x" * 201, "q", "at most 200"),
        ("action=nope.never", "action", "Not a valid choice"),
    ],
)
def test_bad_filters_are_a_400_with_the_message_by_the_field(admin, query, field, message):
    _, client = admin
    response = client.get(f"/audit?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{message}', html), html
    assert f'aria-describedby="{field}-error' in html or f'aria-describedby="{field}-hint {field}-error"' in html
    csv_response = client.get(f"/audit.csv?{query}")
    assert csv_response.status_code == 400 and "The filter is not valid" in csv_response.get_data(as_text=True)


def test_pages_of_fifty_keep_the_filter(app, admin):
    _, client = admin
    for n in range(1, 121):
        add_event(app, "staff.updated", subject=("user", f"ev-{n}"))
    add_event(app, "policy.retired", subject=("policy", "ev-999"))
    first = client.get("/audit?action=staff.updated").get_data(as_text=True)
    assert "120 events" in first and "page 1 of 3" in first
    assert listed_ids(first) == list(range(120, 70, -1))
    assert 'href="/audit?page=2&amp;action=staff.updated"' in first
    third = client.get("/audit?action=staff.updated&page=3").get_data(as_text=True)
    assert listed_ids(third) == list(range(20, 0, -1))
    assert listed_ids(client.get("/audit?action=staff.updated&page=99").get_data(as_text=True)) == listed_ids(third)


def statements_for(app, client, path: str) -> int:
    with app.app_context():
        engine = db.engine
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_page_takes_the_same_queries_for_any_number_of_events_and_actors(app, admin, make_user):
    user, client = admin
    add_event(app, "staff.updated", actor_id=user.id)
    few = statements_for(app, client, "/audit")
    for n in range(40):
        person = make_user(name=f"Person {n}")
        add_event(app, "staff.created", actor_id=person.id, subject=("user", str(person.id)), details={"n": n})
        add_event(app, "certificate.exported", details={"count": n})
    assert statements_for(app, client, "/audit") == few
    assert statements_for(app, client, "/audit?q=person&action=staff.") == few


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def test_the_csv_holds_the_filtered_events_and_is_audited_itself(app, admin, make_user):
    user, client = admin
    sneaky = make_user(name="=HYPERLINK(1)", email="sneaky@example.org")
    add_event(app, "staff.updated", actor_id=sneaky.id, subject=("user", "7"), details={"changed": ["role"]})
    add_event(app, "policy.retired", subject=("policy", "3"), ip="10.9.9.9")
    response = client.get("/audit.csv?action=staff.")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment; filename=audit-record-")
    rows = read_csv(response)
    assert len(rows) == 1
    assert rows[0]["Actor name"] == "'=HYPERLINK(1)", "formula-like text is defused"
    assert rows[0]["Action"] == "staff.updated" and rows[0]["What"] == "Person's record changed"
    assert rows[0]["Details (JSON)"] == '{"changed": ["role"]}' and rows[0]["Subject id"] == "7"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["When (UTC)"])
    with app.app_context():
        exported = db.session.execute(select(AuditEvent).where(AuditEvent.action == "audit.exported")).scalar_one()
        assert exported.actor_id == user.id
        assert exported.details == {"format": "csv", "filter": {"action": "staff."}, "rows": 1}
    exports = read_csv(client.get("/audit.csv?action=audit.exported"))
    assert [row["Actor id"] for row in exports] == [str(user.id)], (
        "the first export is listed; the second, still being written, is not in its own file"
    )


def test_a_long_csv_comes_in_chunks_without_gaps_or_repeats(app, admin, monkeypatch):
    _, client = admin
    monkeypatch.setattr(audit_log, "CHUNK_SIZE", 7)
    same_moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for n in range(30):
        add_event(app, "staff.updated", subject=("user", str(n)), at=same_moment if n % 3 else None)
    rows = read_csv(client.get("/audit.csv?action=staff.updated"))
    assert sorted(int(row["Subject id"]) for row in rows) == list(range(30))


# --- labels ----------------------------------------------------------------------------------------


def recorded_actions() -> set[str]:
    """Every action given as a whole string to record_event (or a helper that passes it on) in the app's
    code; f-strings such as `question.{target}` are left out (their values are in the label map anyway)."""
    helpers = {"record_event", "_record", "_audit", "_record_link", "_record_read"}
    found = set()
    for path in (PROJECT / "training").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in helpers:
                for part in ast.walk(node.args[0]) if node.args else ():
                    if isinstance(part, ast.Constant) and re.fullmatch(r"[a-z_]+\.[a-z_]+", str(part.value)):
                        found.add(part.value)
    return found


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert {"access.denied", "staff.updated", "question_bank.exported", "audit.exported"} <= actions
    assert actions - set(ACTION_LABELS) == set()


# --- append-only -----------------------------------------------------------------------------------


def test_the_app_never_updates_or_deletes_audit_events(app, make_user, make_requirement, course):
    """Through a full flow (every kind of write, refusals, exports, the audit page), no statement
    changes or removes an audit row: on every backend, the app only ever adds to the record."""
    with app.app_context():
        engine = db.engine
    statements = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", watch)
    try:
        world = build_world(app, make_user, make_requirement)
        staff, hr, admin = (world.client_for(app, role) for role in ("staff", "hr", "admin"))
        staff.get("/staff")
        staff.get(f"/attempts/{world.attempt_id}")
        hr.get("/compliance/export.csv").close()
        Auth(hr).post(f"/settings/api-tokens/{world.token_id}/revoke", token_from="/settings/api-tokens")
        Auth(hr).post(f"/compliance/requirements/{world.requirement_id}/retire", token_from="/compliance/requirements")
        admin.get("/audit")
        admin.get("/audit.csv").close()
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    inserts = [s for s in statements if s.startswith("insert into audit_event")]
    assert len(inserts) >= 8, "the flow wrote to the audit record"
    touching = [s for s in statements if re.match(r"(update|delete from)\s+audit_event\b", s)]
    assert touching == []


def test_postgresql_refuses_to_change_or_remove_an_audit_event(app, backend):
    """On PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE, whoever asks (here on a schema made by
    create_all, as the tests make theirs); SQLite has no such trigger, and no TRUNCATE, which
    docs/security/access.md says (the app's own discipline above is the guard there)."""
    event_id = add_event(app, "staff.updated", details={"changed": ["role"]})
    if backend != "postgresql":
        docs = (PROJECT / "docs" / "security" / "access.md").read_text()
        assert "SQLite has no such trigger" in docs
        return
    attempts = [
        lambda: db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(action="x.y")),
        lambda: db.session.execute(delete(AuditEvent).where(AuditEvent.id == event_id)),
        lambda: db.session.execute(text("UPDATE audit_event SET ip_address = '1.2.3.4'")),
        lambda: db.session.execute(text("DELETE FROM audit_event")),
        lambda: db.session.execute(text("TRUNCATE audit_event")),
    ]
    with app.app_context():
        row = db.session.get(AuditEvent, event_id)
        row.details = {"changed": []}
        with pytest.raises(DBAPIError, match="append-only: UPDATE"):
            db.session.commit()
        db.session.rollback()
        for attempt in attempts:
            with pytest.raises(DBAPIError, match="append-only"):
                attempt()
                db.session.flush()
            db.session.rollback()
        kept = db.session.get(AuditEvent, event_id)
        assert (kept.action, kept.details, kept.ip_address) == ("staff.updated", {"changed": ["role"]}, "")
