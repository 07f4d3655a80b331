"""`flask staff sync FILE`, the nightly HR feed, through the CLI on both backends: a full staff list that
creates, updates, moves, deactivates and reactivates people, with a dry run, a safety limit, a mailed
summary (a real SMTP server), one audit event per run, and a lock against a second run at once."""

import threading

import pytest
from sqlalchemy import event, func, select

from tests.test_reminders import Inbox, free_port
from tests.test_staff import HEADER, csv_bytes, department_id, events, obligations_of, person, state
from training.audit.models import AuditEvent
from training.extensions import db

ALICE = "E1,Alice Adams,alice@example.org,Pharmacy,Registered Nurse,,"
BOB_MOVED = "E2,Bob Brown,bob@example.org,Radiology,Registered Nurse,,alice@example.org"
GINA_BACK = "E4,Gina Gone,gina@example.org,Pharmacy,Registered Nurse,,"
DAN_NEW = "E6,Dan Diaz,dan@example.org,Pharmacy,Porter,2025-01-06,alice@example.org"
EVE_PROMOTED = "E7,Eve Evans,eve@example.org,Pharmacy,Charge Nurse,,"
FULL_FILE = (ALICE, BOB_MOVED, GINA_BACK, DAN_NEW, EVE_PROMOTED)


@pytest.fixture
def ward(make_user, make_requirement, course):
    """Pharmacy and Radiology; six people with employee ids (Gina deactivated), an admin and an HR
    account without one; Radiology must take the test course."""
    made = {
        "alice": make_user(email="alice@example.org", name="Alice Adams", department="Pharmacy", employee_id="E1"),
        "bob": make_user(email="bob@example.org", name="Bob Brown", department="Pharmacy", employee_id="E2"),
        "carl": make_user(email="carl@example.org", name="Carl Cole", department="Pharmacy", employee_id="E3"),
        "gina": make_user(email="gina@example.org", name="Gina Gone", department="Pharmacy", employee_id="E4"),
        "eve": make_user(email="eve@example.org", name="Eve Evans", department="Pharmacy", employee_id="E7"),
        "admin": make_user(role="admin", email="root@example.org", name="Break Glass"),
        "hr": make_user(role="hr", email="hr@example.org", name="Hana Hr", department="Pharmacy"),
        "radiology": make_user(email="rita@example.org", name="Rita Ray", department="Radiology", employee_id="E8"),
    }
    make_requirement(course, department="Radiology")
    return made


@pytest.fixture
def deactivate_gina(app, runner, ward):
    assert runner.invoke(args=["users", "deactivate", "gina@example.org"]).exit_code == 0


def sync(runner, tmp_path, *rows, args=(), name="hr-export.csv", header=HEADER):
    path = tmp_path / name
    path.write_bytes(csv_bytes(*rows, header=header) if rows or header else b"")
    return runner.invoke(args=["staff", "sync", str(path), *args])


def synced_events(app) -> list[AuditEvent]:
    return events(app, "staff.synced")


def staff_state(app):
    """state() without the audit events: a refused run changes nothing but records its own event."""
    people, departments, _, obligations = state(app)
    return people, departments, obligations


def counts_in(output: str) -> dict[str, int]:
    return {
        name: int(value)
        for name, value in (line.strip().split(": ") for line in output.splitlines() if line.startswith("  "))
    }


def test_a_full_file_creates_updates_moves_deactivates_and_reactivates(app, runner, tmp_path, ward, deactivate_gina):
    assert obligations_of(app, ward["carl"].id) == [] and obligations_of(app, ward["bob"].id) == []
    rita_line = "E8,Rita Ray,rita@example.org,Radiology,Registered Nurse,,"
    result = sync(runner, tmp_path, *FULL_FILE, rita_line, args=["--max-deactivate", "20"])

    assert result.exit_code == 0, result.output
    assert "hr-export.csv (SHA-256 " in result.output and "): applied." in result.output
    assert counts_in(result.output) == {
        "created": 1,
        "updated": 1,
        "moved": 1,
        "deactivated": 1,
        "reactivated": 1,
        "unchanged": 2,
        "errors": 0,
    }
    carl, gina, bob, dan = (person(app, f"{n}@example.org") for n in ("carl", "gina", "bob", "dan"))
    assert not carl.active and gina.active
    assert bob.department_id == department_id(app, "Radiology")
    assert (dan.employee_id, dan.role, dan.manager_id) == ("E6", "staff", ward["alice"].id)
    assert person(app, "eve@example.org").job_title == "Charge Nurse"
    assert person(app, "root@example.org").active and person(app, "hr@example.org").active, (
        "accounts without an employee id are not the feed's to deactivate"
    )
    assert [o.user_id for o in obligations_of(app, bob.id)] == [bob.id], "the move brings Radiology's course at once"
    assert obligations_of(app, ward["radiology"].id)

    (left,) = events(app, "staff.deactivated")[-1:]
    assert (left.subject_id, left.actor_id, left.details["source"]) == (str(carl.id), None, "sync")
    (back,) = [e for e in events(app, "staff.reactivated")]
    assert (back.subject_id, back.details) == (str(gina.id), {"source": "sync", "line": 4})
    assert {e.details["source"] for e in events(app, "staff.created") + events(app, "staff.updated")} >= {"sync"}
    (run,) = synced_events(app)
    assert run.actor_id is None and run.details["outcome"] == "applied" and run.details["filename"] == "hr-export.csv"
    assert len(run.details["sha256"]) == 64 and run.details["reason"] == ""
    assert run.details["counts"] == counts_in(result.output)
    assert (run.details["managed"], run.details["max_deactivate_percent"], run.details["forced"]) == (5, 20, False)


def test_running_the_same_file_again_changes_nothing(app, runner, tmp_path, ward, deactivate_gina):
    rows = (*FULL_FILE, "E8,Rita Ray,rita@example.org,Radiology,Registered Nurse,,")
    assert sync(runner, tmp_path, *rows, args=["--max-deactivate", "20"]).exit_code == 0
    before = staff_state(app)
    person_events = len(events(app, "staff.updated") + events(app, "staff.created") + events(app, "staff.deactivated"))

    again = sync(runner, tmp_path, *rows)

    assert again.exit_code == 0, again.output
    assert counts_in(again.output) == {
        "created": 0,
        "updated": 0,
        "moved": 0,
        "deactivated": 0,
        "reactivated": 0,
        "unchanged": 6,
        "errors": 0,
    }
    assert staff_state(app) == before
    assert len(events(app, "staff.updated") + events(app, "staff.created") + events(app, "staff.deactivated")) == (
        person_events
    )
    assert [e.details["outcome"] for e in synced_events(app)] == ["applied", "applied"]


def test_a_dry_run_prints_the_plan_and_changes_nothing(app, runner, tmp_path, ward, deactivate_gina):
    before = state(app)
    result = sync(runner, tmp_path, *FULL_FILE, args=["--dry-run", "--max-deactivate", "50"])

    assert result.exit_code == 0, result.output
    assert "line 5: new person Dan Diaz <dan@example.org>" in result.output
    assert 'line 3: update bob@example.org: department "Pharmacy" -> "Radiology"' in result.output
    assert "line 4: reactivate gina@example.org" in result.output
    assert "deactivate Carl Cole <carl@example.org> (employee_id E3): not in the file" in result.output
    assert "deactivate Rita Ray <rita@example.org> (employee_id E8): not in the file" in result.output
    assert "dry run, nothing was changed." in result.output and counts_in(result.output)["deactivated"] == 2
    assert state(app) == before, "no record, no audit event"


def test_the_safety_limit_refuses_the_run_and_force_applies_it(app, runner, tmp_path, ward, deactivate_gina):
    """Two of the five people the feed manages leave (40%): over the default 10%, refused whole; --force applies it."""
    before = staff_state(app)
    refused = sync(runner, tmp_path, *FULL_FILE)

    assert refused.exit_code == 1
    assert "REFUSED, nothing was changed." in refused.output
    assert "it would deactivate 2 of the 5 people the HR feed manages (40.0%), more than the limit of 10%" in (
        refused.output
    )
    assert staff_state(app) == before
    assert person(app, "dan@example.org") is None and person(app, "carl@example.org").active
    (run,) = synced_events(app)
    assert run.details["outcome"] == "refused" and "more than the limit of 10%" in run.details["reason"]
    assert run.details["counts"]["deactivated"] == 2

    app.config["STAFF_SYNC_MAX_DEACTIVATE_PERCENT"] = 40
    assert sync(runner, tmp_path, *FULL_FILE, args=["--dry-run"]).exit_code == 0, "the setting is the default"
    app.config["STAFF_SYNC_MAX_DEACTIVATE_PERCENT"] = 10

    forced = sync(runner, tmp_path, *FULL_FILE, args=["--force"])
    assert forced.exit_code == 0, forced.output
    assert not person(app, "carl@example.org").active and not person(app, "rita@example.org").active
    assert [(e.details["outcome"], e.details["forced"]) for e in synced_events(app)] == [
        ("refused", False),
        ("applied", True),
    ]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ((), HEADER, "The file has a header but no rows of people."),
        ((), "", "The file is empty."),
        (("E90,New Person,new@example.org,Pharmacy,,,",), HEADER, "would deactivate every one of the 5 people"),
    ],
    ids=["header only", "empty", "nobody known"],
)
def test_a_file_that_would_deactivate_everyone_is_refused_even_forced(
    app, runner, tmp_path, ward, deactivate_gina, rows, header, message
):
    before = staff_state(app)
    result = sync(runner, tmp_path, *rows, header=header, args=["--force"])

    assert result.exit_code == 1
    assert message in result.output and "REFUSED, nothing was changed." in result.output
    assert staff_state(app) == before
    assert [e.details["outcome"] for e in synced_events(app)] == ["refused"]


def test_errors_on_rows_refuse_the_whole_run_with_their_lines(app, runner, tmp_path, ward):
    before = staff_state(app)
    rows = (*FULL_FILE, "E3,Carl Cole,carl@example.org,Pharmacy,,2024-02-30,", "E8,Rita Ray,rita@example.org,,,,x")
    result = sync(runner, tmp_path, *rows)

    assert result.exit_code == 1
    assert "error: line 7: hire_date '2024-02-30' is not a date in the format YYYY-MM-DD" in result.output
    assert "error: line 8: manager_email 'x' is not a valid email address" in result.output
    assert "Refused: the file has 2 error(s); the feed is applied whole or not at all." in result.output
    assert staff_state(app) == before and person(app, "dan@example.org") is None


def test_a_manager_left_out_of_the_file_is_an_error_on_the_rows_naming_them(app, runner, tmp_path, ward):
    rows = (BOB_MOVED, GINA_BACK, EVE_PROMOTED, "E3,Carl Cole,carl@example.org,Pharmacy,,,")
    result = sync(runner, tmp_path, *rows, "E8,Rita Ray,rita@example.org,Radiology,,,", args=["--force"])

    assert result.exit_code == 1
    assert (
        "error: line 2: manager_email alice@example.org is not in this file, so that person would be deactivated"
        in (result.output)
    )
    assert person(app, "alice@example.org").active


@pytest.fixture
def inbox(app):
    """A real SMTP server (aiosmtpd) on 127.0.0.1, and the app configured to send through it."""
    from aiosmtpd.controller import Controller

    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM="Training <training@example.org>"
    )
    yield handler
    controller.stop()


def test_the_summary_is_mailed_once(app, runner, tmp_path, ward, deactivate_gina, inbox):
    result = sync(runner, tmp_path, *FULL_FILE, args=["--force", "--mail-summary", "it-oncall@example.org"])

    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 1
    (message,) = inbox.to("it-oncall@example.org")
    assert message["Subject"] == "Staff sync of hr-export.csv: applied"
    assert message["Auto-Submitted"] == "auto-generated"
    text = inbox.text_to("it-oncall@example.org")
    assert "): applied." in text
    assert counts_in(text) == counts_in(result.output) and counts_in(text)["deactivated"] == 2
    assert "carl@example.org" not in text, "counts only: the names are in the audit record"


def test_a_refused_run_is_mailed_with_its_reason_and_errors(app, runner, tmp_path, ward, inbox):
    result = sync(
        runner, tmp_path, ALICE, "E2,Bob,bob@example.org,Nowhere,,,", args=["--mail-summary", "it@example.org"]
    )

    assert result.exit_code == 1
    text = inbox.text_to("it@example.org")
    assert inbox.to("it@example.org")[0]["Subject"] == "Staff sync of hr-export.csv: REFUSED, nothing was changed"
    assert "Refused: the file has 1 error(s)" in text
    assert 'error: line 3: department "Nowhere" does not exist' in text


def test_a_summary_that_cannot_be_mailed_fails_the_run_after_applying_it(app, runner, tmp_path, ward):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False, MAIL_FROM="t@example.org")
    rows = (*FULL_FILE, "E3,Carl Cole,carl@example.org,Pharmacy,,,", "E8,Rita Ray,rita@example.org,Radiology,,,")
    result = sync(runner, tmp_path, *rows, args=["--mail-summary", "it@example.org"])

    assert result.exit_code == 1
    assert "): applied." in result.output
    assert "error: the summary was not mailed to it@example.org: cannot connect to the mail server" in result.output
    assert person(app, "dan@example.org") is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mail-summary", "not an address"], "'not an address' is not an email address"),
        (["--max-deactivate", "101"], "101 is not in the range 0<=x<=100"),
    ],
)
def test_bad_options_are_refused_before_anything_changes(app, runner, tmp_path, ward, args, message):
    before = state(app)
    result = sync(runner, tmp_path, *FULL_FILE, args=args)
    assert result.exit_code == 2 and message in result.output
    assert state(app) == before


def test_bad_mail_settings_are_refused_before_anything_changes(app, runner, tmp_path, ward):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_FROM="")
    before = state(app)
    result = sync(runner, tmp_path, *FULL_FILE, args=["--force", "--mail-summary", "it@example.org"])
    assert result.exit_code == 1 and "MAIL_FROM must be an email address" in result.output
    assert state(app) == before


def test_a_person_the_feed_deactivates_is_signed_out_and_cannot_sign_in(app, runner, client, auth, tmp_path, ward):
    auth.login(ward["carl"])
    assert client.get("/").status_code == 200
    rows = (ALICE, BOB_MOVED, EVE_PROMOTED, "E4,Gina Gone,gina@example.org,Pharmacy,,,")
    result = sync(runner, tmp_path, *rows, "E8,Rita Ray,rita@example.org,Radiology,,,", args=["--force"])
    assert result.exit_code == 0, result.output

    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    again = auth.login(ward["carl"])
    assert "Email or password is incorrect" in again.get_data(as_text=True)
    (left,) = events(app, "staff.deactivated")
    assert left.details == {"sessions_ended": 1, "source": "sync"}


def test_a_second_sync_while_one_runs_is_refused_and_changes_nothing(app, runner, tmp_path, ward):
    """A second run starts while the first holds the feed's lock (right after taking it): it is refused at
    once, and only the first applies. The second runs in a thread of its own, with its own connection."""
    rows = (*FULL_FILE, "E3,Carl Cole,carl@example.org,Pharmacy,,,", "E8,Rita Ray,rita@example.org,Radiology,,,")
    second = tmp_path / "second.csv"
    second.write_bytes(csv_bytes(*rows))
    outcomes, started = [], []

    def run_second():
        outcomes.append(app.test_cli_runner().invoke(args=["staff", "sync", str(second)]))

    def start_second_once_locked(conn, cursor, statement, parameters, context, executemany):
        locking = "pg_try_advisory_xact_lock" in statement or "WHERE 0 = 1" in statement
        if locking and not started:
            started.append(True)
            thread = threading.Thread(target=run_second)
            thread.start()
            thread.join(timeout=60)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", start_second_once_locked)
    try:
        first = sync(runner, tmp_path, *rows)
    finally:
        event.remove(engine, "after_cursor_execute", start_second_once_locked)

    (refused,) = outcomes
    assert refused.exit_code == 1, refused.output
    assert "Another staff sync is running. Nothing was changed" in refused.output
    assert first.exit_code == 0, first.output
    assert counts_in(first.output)["created"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "staff.created")) == 1
    assert [e.details["outcome"] for e in synced_events(app)] == ["applied"]
