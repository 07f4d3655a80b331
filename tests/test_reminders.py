"""`flask reminders send` and `flask reminders list`, through the CLI, with a real SMTP server (aiosmtpd)."""

import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, insert, select

from tests.helpers import complete_course, free_port, header_field_names, smtp_server
from training.clock import format_day
from training.extensions import db
from training.policies.models import Policy, PolicyVersion
from training.reminders.models import Reminder

BASE = "https://training.example.org"


def made_on() -> date:
    """Requirements count from the day they are made, which is the real today (the tests' zone is UTC).

    Read when a test runs, not when the module is collected: a run that passes midnight UTC would
    otherwise put every date a day out."""
    return datetime.now(UTC).date()


def day(offset: int) -> date:
    return made_on() + timedelta(days=offset)


def send(runner, *args, on: date | None = None):
    extra = ["--today", on.isoformat()] if on else []
    return runner.invoke(args=["reminders", "send", *extra, *args])


class Inbox:
    """Records what an aiosmtpd server accepted; refuses the recipients in `refuse`."""

    def __init__(self):
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.hang_up_on: set[int] = set()  # answer these DATA commands (counted from 1) with 421
        self.lose_reply_to: set[str] = set()  # take messages to these recipients, then hang up without a reply
        self.data_commands = 0
        self.raw: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.data_commands in self.hang_up_on:
            return "421 4.3.2 Service shutting down, try again"
        parsed = message_from_bytes(envelope.original_content, policy=email_policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        self.raw.append((list(envelope.rcpt_tos), envelope.original_content))
        if self.lose_reply_to & set(envelope.rcpt_tos):
            server.transport.close()  # the message is taken; the "250" never reaches the client
        return "250 Message accepted"

    def to(self, email: str) -> list[EmailMessage]:
        return [message for recipients, message in self.messages if recipients == [email]]

    def raw_to(self, email: str) -> list[bytes]:
        return [raw for recipients, raw in self.raw if recipients == [email]]

    def text_to(self, email: str) -> str:
        (message,) = self.to(email)
        return message.get_body(("plain",)).get_content()


@pytest.fixture
def inbox(app):
    """A real SMTP server on 127.0.0.1, and the app configured to send through it."""
    handler = Inbox()
    with smtp_server(handler) as port:
        app.config.update(
            MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM="Training <training@example.org>"
        )
        yield handler


@pytest.fixture
def policy(app):
    """A published policy (the policy pages and their publishing are not part of these tests)."""
    with app.app_context():
        item = Policy(slug="social-media", title="Social media policy")
        db.session.add(item)
        db.session.flush()
        body = "Do not post about patients."
        db.session.add(
            PolicyVersion(
                policy_id=item.id,
                version=1,
                body=body,
                statement="I have read and will follow the social media policy.",
                content_hash=hashlib.sha256(body.encode()).hexdigest(),
            )
        )
        db.session.commit()
    return "social-media"


def reminders(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(
            select(Reminder.user_id, Reminder.kind, Reminder.sent_on, Reminder.transport).order_by(Reminder.id)
        ).all()


def test_without_a_mail_server_each_message_is_printed_and_recorded(
    app, runner, make_user, make_requirement, course, policy
):
    nurse = make_user(name="Nia Okafor", email="nia@example.org", department="Pharmacy")
    make_requirement(course, department="Pharmacy", due_within_days=10)
    make_requirement(policy=policy, department="Pharmacy", due_within_days=40)

    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    assert "To: Nia Okafor <nia@example.org>" in result.stdout
    assert "Subject: Training reminder: 1 overdue, 1 due soon" in result.stdout
    assert f"Course: Test Course (was due {format_day(day(10))})" in result.stdout
    assert f"{BASE}/courses/test-course" in result.stdout
    assert f"Policy: Social media policy (due {format_day(day(40))})" in result.stdout
    assert f"{BASE}/policies/social-media" in result.stdout
    assert result.stdout.index("Overdue") < result.stdout.index("Due soon")
    assert "Sent 1 reminder and 0 manager digests; 0 people skipped (reminded within 7 days)." in result.stdout
    assert "Printed to the console: MAIL_SERVER is not set." in result.stdout
    assert reminders(app) == [(nurse.id, "staff", day(11), "console")]
    with app.app_context():
        items = db.session.execute(select(Reminder.items)).scalar_one()
    assert [(i["title"], i["status"], i["url"]) for i in items] == [
        ("Test Course", "overdue", f"{BASE}/courses/test-course"),
        ("Social media policy", "due_soon", f"{BASE}/policies/social-media"),
    ]


def emails_of(inbox: Inbox) -> list[str]:
    return sorted(recipient for recipients, _ in inbox.messages for recipient in recipients)


@pytest.fixture
def ward(make_user, make_requirement, course):
    """Pharmacy: two nurses and their manager, the course due 10 days after the rule (overdue on day 11).
    Radiology: a radiographer and their manager, due 30 days after (due soon on day 11)."""
    people = {
        "nia": make_user(name="Nia Okafor", email="nia@example.org", department="Pharmacy"),
        "omar": make_user(name="Omar Haddad", email="omar@example.org", department="Pharmacy"),
        "morgan": make_user("manager", name="Morgan Lee", email="morgan@example.org", department="Pharmacy"),
        "rosa": make_user(name="Rosa Silva", email="rosa@example.org", department="Radiology"),
        "victor": make_user("manager", name="Victor Sato", email="victor@example.org", department="Radiology"),
    }
    make_requirement(course, department="Pharmacy", due_within_days=10)
    make_requirement(course, department="Radiology", due_within_days=30)
    return people


EVERYONE = sorted(
    ["nia@example.org", "omar@example.org", "morgan@example.org", "rosa@example.org", "victor@example.org"]
)
MANAGERS = ["morgan@example.org", "victor@example.org"]


def test_smtp_sends_each_person_their_items_and_each_manager_their_department(app, runner, inbox, ward):
    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    assert "Sent 5 reminders and 2 manager digests; 0 people skipped (reminded within 7 days)." in result.stdout
    assert emails_of(inbox) == sorted(EVERYONE + MANAGERS)
    (nia,) = inbox.to("nia@example.org")
    assert nia["Subject"] == "Training reminder: 1 overdue"
    assert nia["From"] == "Training <training@example.org>"
    assert nia["To"] == "Nia Okafor <nia@example.org>"
    assert nia["Auto-Submitted"] == "auto-generated"
    text = nia.get_body(("plain",)).get_content()
    assert f"Course: Test Course (was due {format_day(day(10))})" in text
    assert f"{BASE}/courses/test-course" in text
    assert f'<a href="{BASE}/courses/test-course">Test Course</a>' in nia.get_body(("html",)).get_content()
    (rosa,) = inbox.to("rosa@example.org")
    assert rosa["Subject"] == "Training reminder: 1 due soon"
    assert f"Course: Test Course (due {format_day(day(30))})" in rosa.get_body(("plain",)).get_content()

    digests = {m["Subject"]: m for m in inbox.to("morgan@example.org") + inbox.to("victor@example.org")}
    pharmacy = digests["Team training digest for Pharmacy: 2 people need attention"].get_body(("plain",)).get_content()
    assert "Overdue: 2 people, 2 items" in pharmacy
    assert "Nia Okafor (nia@example.org)" in pharmacy and "Omar Haddad (omar@example.org)" in pharmacy
    assert "Morgan Lee (" not in pharmacy, "a manager's own items come in their own reminder"
    assert "Rosa" not in pharmacy and "Due soon" not in pharmacy
    assert f"{BASE}/compliance/people?status=non_compliant" in pharmacy
    radiology = (
        digests["Team training digest for Radiology: 1 person needs attention"].get_body(("plain",)).get_content()
    )
    assert "Due soon: 1 person, 1 item" in radiology and "Rosa Silva (rosa@example.org)" in radiology
    assert "Nia" not in radiology and "Omar" not in radiology
    assert len(reminders(app)) == 7 and {row.transport for row in reminders(app)} == {"smtp"}


def test_a_second_run_the_same_day_sends_nothing_twice(app, runner, inbox, ward):
    assert send(runner, on=day(11)).exit_code == 0
    again = send(runner, on=day(11))

    assert again.exit_code == 0, again.output
    assert "Sent 0 reminders and 0 manager digests; 5 people skipped (reminded within 7 days)." in again.stdout
    assert len(inbox.messages) == 7 and len(reminders(app)) == 7


def test_reminders_repeat_after_the_interval(app, runner, inbox, ward):
    assert send(runner, on=day(11)).exit_code == 0
    assert send(runner, on=day(17)).exit_code == 0
    assert len(inbox.messages) == 7, "six days later is within the seven-day interval"

    later = send(runner, on=day(18))

    assert later.exit_code == 0, later.output
    assert "Sent 5 reminders and 2 manager digests" in later.stdout
    assert len(inbox.messages) == 14
    assert [row.sent_on for row in reminders(app)] == [day(11)] * 7 + [day(18)] * 7


def test_the_interval_is_configurable(app, runner, inbox, ward):
    app.config["REMINDER_INTERVAL_DAYS"] = "2"
    send(runner, on=day(11))
    assert "0 people skipped" not in send(runner, on=day(12)).stdout
    assert "Sent 5 reminders and 2 manager digests" in send(runner, on=day(13)).stdout


def test_an_item_that_becomes_overdue_is_reminded_sooner(app, runner, inbox, ward):
    assert send(runner, on=day(25)).exit_code == 0
    assert len(inbox.messages) == 7

    result = send(runner, on=day(31))

    assert result.exit_code == 0, result.output
    assert "Sent 2 reminders and 1 manager digest; 3 people skipped (reminded within 7 days)." in result.stdout
    new = inbox.messages[7:]
    assert sorted(r for recipients, _ in new for r in recipients) == [
        "rosa@example.org",
        "victor@example.org",
        "victor@example.org",
    ]
    assert inbox.to("rosa@example.org")[-1]["Subject"] == "Training reminder: 1 overdue"


def test_deactivated_staff_get_nothing(app, runner, inbox, ward):
    assert runner.invoke(args=["users", "deactivate", "omar@example.org"]).exit_code == 0

    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    assert "omar@example.org" not in emails_of(inbox)
    (digest,) = [m for m in inbox.to("morgan@example.org") if m["Subject"].startswith("Team")]
    assert "Omar" not in digest.get_body(("plain",)).get_content()
    assert digest["Subject"] == "Team training digest for Pharmacy: 1 person needs attention"


def test_a_deactivated_manager_gets_no_digest(app, runner, inbox, ward):
    assert runner.invoke(args=["users", "deactivate", "morgan@example.org"]).exit_code == 0
    send(runner, on=day(11))
    assert "morgan@example.org" not in emails_of(inbox)


def test_people_with_nothing_due_get_nothing(app, runner, auth, make_user, make_requirement, course):
    done = make_user(name="Quinn Done", email="quinn@example.org", department="Pharmacy")
    make_user(name="Tara Later", email="tara@example.org", department="Outpatient Clinic")
    make_user("manager", name="Uma Boss", email="uma@example.org", department="Outpatient Clinic")
    make_requirement(course, department="Pharmacy", due_within_days=10)
    make_requirement(course, department="Outpatient Clinic", due_within_days=365)
    auth.login(done)
    complete_course(app, auth, course)

    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    assert "To:" not in result.stdout
    assert "Sent 0 reminders and 0 manager digests; 0 people skipped" in result.stdout
    assert reminders(app) == []


def test_a_refused_recipient_is_reported_not_recorded_and_retried(app, runner, inbox, ward):
    inbox.refuse = {"nia@example.org"}

    result = send(runner, on=day(11))

    assert result.exit_code == 1
    assert (
        "error: the reminder to nia@example.org was not sent: the mail server refused the recipient "
        "(nia@example.org: 550 5.1.1 Mailbox unavailable)"
    ) in result.stderr
    assert "Sent 4 reminders and 2 manager digests" in result.stdout and "1 failed" in result.stdout
    assert "nia@example.org" not in emails_of(inbox)
    assert ward["nia"].id not in {row.user_id for row in reminders(app)}
    assert len(reminders(app)) == 6

    inbox.refuse = set()
    retry = send(runner, on=day(11))
    assert retry.exit_code == 0, retry.output
    assert "Sent 1 reminder and 0 manager digests" in retry.stdout
    assert emails_of(inbox).count("nia@example.org") == 1 and len(inbox.messages) == 7


def test_a_server_that_hangs_up_is_reconnected_to(app, runner, inbox, ward):
    inbox.hang_up_on = {2}

    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    assert emails_of(inbox) == sorted(EVERYONE + MANAGERS)
    assert inbox.data_commands == 8


# A plain ASCII name that the CSV import and /staff/new accept: an RFC 2047 encoded word for CR LF and a header.
ENCODED_WORD_NAME = "Eve =?utf-8?q?=0D=0ABcc:_enc@evil.example?="
MESSAGE_ID = re.compile(r"<reminder-(staff|manager)-\d+-\d{8}\.[0-9a-f]{32}@training\.example\.org>")


def test_a_name_with_an_encoded_word_reaches_its_owner_safely_and_stops_nobody(app, runner, inbox, ward, make_user):
    """Issue 17.1: building this name's To header raised ValueError in the middle of a batch, after
    emails had gone out: the run exited 1 with nothing recorded and each rerun sent them all again."""
    make_user(name=ENCODED_WORD_NAME, email="eve@example.org", department="Pharmacy")

    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    assert "Sent 6 reminders and 2 manager digests" in result.stdout
    assert emails_of(inbox) == sorted(EVERYONE + MANAGERS + ["eve@example.org"])
    (eve,) = inbox.to("eve@example.org")
    assert eve["To"].addresses[0].display_name == ENCODED_WORD_NAME
    assert eve["To"].addresses[0].addr_spec == "eve@example.org"
    (raw,) = inbox.raw_to("eve@example.org")
    assert "Bcc" not in header_field_names(raw)
    assert b"=?utf-8?q?=0D=0A" not in raw.split(b"\r\n\r\n")[0], "the name's encoded word is itself encoded"
    (digest,) = [m for m in inbox.to("morgan@example.org") if m["Subject"].startswith("Team training digest")]
    assert f"{ENCODED_WORD_NAME} (eve@example.org)" in digest.get_body(("plain",)).get_content()

    again = send(runner, on=day(11))
    assert again.exit_code == 0, again.output
    assert "Sent 0 reminders and 0 manager digests; 6 people skipped" in again.stdout
    assert len(inbox.messages) == 8 and len(reminders(app)) == 8


def test_a_department_name_cannot_add_headers_to_a_digest(app, runner, inbox, make_user, make_requirement, course):
    """The digest's subject holds the department's name: an encoded word there made the mail library
    write a real line break and a Bcc header into the message."""
    department = "Ward 7 =?utf-8?q?=0D=0ABcc:_enc@evil.example?="
    make_user(name="Nia Okafor", email="nia@example.org", department=department)
    make_user("manager", name="Morgan Lee", email="morgan@example.org", department=department)
    make_requirement(course, department=department, due_within_days=10)

    result = send(runner, on=day(11))

    assert result.exit_code == 0, result.output
    subject = f"Team training digest for {department}: 1 person needs attention"
    assert subject in [message["Subject"] for message in inbox.to("morgan@example.org")]
    for raw in inbox.raw_to("morgan@example.org"):
        assert sorted(header_field_names(raw)) == sorted(
            ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type", "MIME-Version"]
        )


def test_a_run_that_crashes_midway_keeps_what_it_sent_and_a_rerun_sends_nothing_twice(app, runner, inbox, ward):
    """Each message is committed once the server took it: after a crash (here the database fails the
    commit after the third message) the rerun sends only what was not recorded. The message in flight at the crash
    may go twice, under the same Message-ID, so that the mail server can drop the copy."""
    failed = []

    def fail_once_three_messages_went_out(connection):
        if len(inbox.messages) >= 3 and not failed:
            failed.append(connection)
            raise RuntimeError("the database server went away")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", fail_once_three_messages_went_out)
    try:
        crashed = send(runner, on=day(11))
    finally:
        event.remove(engine, "commit", fail_once_three_messages_went_out)
    engine.dispose()  # the crashed process's connections close: what it did not commit is gone
    assert crashed.exit_code == 1 and "the database server went away" in str(crashed.exception)
    assert len(reminders(app)) == 2 and len(inbox.messages) == 3

    rerun = send(runner, on=day(11))

    assert rerun.exit_code == 0, rerun.output
    assert "Sent 3 reminders and 2 manager digests; 2 people skipped" in rerun.stdout
    assert sorted(set(emails_of(inbox))) == sorted(set(EVERYONE + MANAGERS)) and len(reminders(app)) == 7
    copies = Counter(message["Message-ID"] for _, message in inbox.messages)
    assert len(copies) == 7, "one Message-ID per reminder"
    assert sorted(copies.values()) == [1, 1, 1, 1, 1, 1, 2], "only the message in flight at the crash went twice"


def test_a_reminder_sent_again_after_a_lost_acknowledgement_keeps_its_message_id(app, runner, inbox, ward):
    """Issue 17.7: the server takes the message and hangs up before its "250": the run reports the
    reminder as not sent and the next run sends it again, with the same Message-ID."""
    inbox.lose_reply_to = {"nia@example.org"}

    first = send(runner, on=day(11))

    assert first.exit_code == 1
    assert "error: the reminder to nia@example.org was not sent: the mail server" in first.stderr
    assert "Sent 4 reminders and 2 manager digests" in first.stdout and "1 failed" in first.stdout
    inbox.lose_reply_to = set()
    rerun = send(runner, on=day(11))
    assert rerun.exit_code == 0, rerun.output
    assert "Sent 1 reminder and 0 manager digests" in rerun.stdout
    copies = inbox.to("nia@example.org")
    assert len(copies) == 3, "twice in the first run (it reconnects once), once in the rerun"
    (message_id,) = {message["Message-ID"] for message in copies}
    assert MESSAGE_ID.fullmatch(message_id), message_id
    others = [message["Message-ID"] for recipients, message in inbox.messages if recipients != ["nia@example.org"]]
    assert len(set(others)) == 6 and message_id not in others
    assert all(MESSAGE_ID.fullmatch(other) for other in others)


def test_an_unreachable_server_is_a_clear_error_and_records_nothing(app, runner, ward):
    port = free_port()  # closed again: nothing listens there
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_USE_TLS="0", MAIL_FROM="training@example.org")

    result = send(runner, on=day(11))

    assert result.exit_code == 1
    assert f"cannot connect to the mail server 127.0.0.1:{port}" in result.stderr
    assert result.stderr.count("was not sent") == 3
    assert "Stopped early: the mail server failed 3 times in a row" in result.stdout
    assert reminders(app) == []


def test_a_server_without_starttls_is_not_used_in_plain_text(app, runner, inbox, ward):
    app.config["MAIL_USE_TLS"] = True

    result = send(runner, on=day(11))

    assert result.exit_code == 1
    assert "does not offer STARTTLS" in result.stderr
    assert inbox.messages == [] and reminders(app) == []


def test_a_refused_login_is_a_clear_error(app, runner, ward):
    from aiosmtpd.smtp import AuthResult

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == b"right"
        return AuthResult(success=ok, handled=False)

    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False, "MAIL_FROM": "t@example.org"}
        app.config.update(settings, MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong")
        refused = send(runner, on=day(11))
        assert refused.exit_code == 1
        assert f"the mail server 127.0.0.1:{port} refused the login for mailer" in refused.stderr
        assert reminders(app) == [] and handler.messages == []

        app.config["MAIL_PASSWORD"] = "right"
        assert send(runner, on=day(11)).exit_code == 0
        assert len(handler.messages) == 7
    finally:
        controller.stop()


def test_a_dry_run_shows_who_would_get_what_and_sends_nothing(app, runner, inbox, ward):
    result = send(runner, "--dry-run", on=day(11))

    assert result.exit_code == 0, result.output
    assert "Would send a reminder to nia@example.org: Training reminder: 1 overdue" in result.stdout
    assert (
        "Would send a manager digest to morgan@example.org: Team training digest for Pharmacy: 2 people need attention"
        in result.stdout
    )
    assert "Dry run: would send 5 reminders and 2 manager digests" in result.stdout
    assert inbox.messages == [] and reminders(app) == []


def test_a_concurrent_run_that_recorded_first_wins(app, runner, inbox, ward):
    """Another run records Nia's reminder between this run's decision and its insert: she gets one email."""
    raced = []

    def other_run_first(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO REMINDER") and not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(
                    insert(Reminder).values(
                        user_id=ward["nia"].id, kind="staff", sent_on=day(11), transport="smtp", subject="x", items=[]
                    )
                )

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", other_run_first)
        try:
            result = send(runner, on=day(11))
        finally:
            event.remove(db.engine, "before_cursor_execute", other_run_first)

    assert result.exit_code == 0, result.output
    assert "1 message already sent today by another run" in result.stdout
    assert "nia@example.org" not in emails_of(inbox)
    assert "Sent 4 reminders and 2 manager digests" in result.stdout
    assert len(reminders(app)) == 7


def count_selects(app, runner, args) -> tuple[int, str]:
    selects = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            result = runner.invoke(args=args)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert result.exit_code == 0, result.output
    return len(selects), result.stdout


def test_the_number_of_queries_does_not_grow_with_the_number_of_people(
    app, runner, make_user, make_requirement, course
):
    def add_people(staff):
        for _ in range(staff):
            make_user(department="Pharmacy")
        make_user("manager", department="Pharmacy")

    add_people(3)
    make_requirement(course, department="Pharmacy", due_within_days=10)
    args = ["reminders", "send", "--dry-run", "--today", day(11).isoformat()]
    few, few_output = count_selects(app, runner, args)
    add_people(12)

    many, many_output = count_selects(app, runner, args)

    assert "would send 4 reminders and 1 manager digest" in few_output
    assert "would send 17 reminders and 2 manager digests" in many_output
    assert few == many


def test_the_day_defaults_to_today_in_the_organisation_timezone(app, runner, make_user, make_requirement, course):
    from zoneinfo import ZoneInfo

    app.config["ORGANISATION_TIMEZONE"] = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC
    make_user(email="nia@example.org", department="Pharmacy")
    make_requirement(course, department="Pharmacy", due_within_days=0)

    result = runner.invoke(args=["reminders", "send"])

    assert result.exit_code == 0, result.output
    local_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert f"Course: Test Course (due {format_day(local_today)})" in result.stdout
    assert [row.sent_on for row in reminders(app)] == [local_today]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MAIL_SERVER": "smtp.example.org", "MAIL_FROM": ""}, "MAIL_FROM must be an email address"),
        ({"MAIL_PORT": "smtp"}, "MAIL_PORT must be a number, not 'smtp'"),
        ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be 1 or 0"),
        ({"REMINDER_INTERVAL_DAYS": "weekly"}, "REMINDER_INTERVAL_DAYS must be a whole number of days"),
        ({"REMINDER_INTERVAL_DAYS": "0"}, "REMINDER_INTERVAL_DAYS must be between 1 and 365"),
    ],
)
def test_bad_settings_are_a_clear_error_before_anything_is_sent(app, runner, ward, settings, message):
    app.config.update(settings)
    result = send(runner, on=day(11))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert reminders(app) == []


def test_bad_dates_are_refused(runner):
    result = runner.invoke(args=["reminders", "send", "--today", "31/12/2026"])
    assert result.exit_code == 2 and "31/12/2026" in result.output


def test_list_shows_recent_reminders_with_their_items(app, runner, ward):
    with app.app_context():
        db.session.add(
            Reminder(user_id=ward["rosa"].id, kind="staff", sent_on=day(-40), transport="smtp", subject="Old", items=[])
        )
        db.session.commit()
    assert runner.invoke(args=["reminders", "send"]).exit_code == 0

    result = runner.invoke(args=["reminders", "list"])

    assert result.exit_code == 0, result.output
    assert f"{made_on()}  staff    console  Nia Okafor <nia@example.org>" in result.stdout
    assert f"- Due soon: Test Course (due {format_day(day(10))})" in result.stdout
    assert f"{made_on()}  manager  console  Morgan Lee <morgan@example.org>" in result.stdout
    assert f"- Due soon: Omar Haddad: Test Course (due {format_day(day(10))})" in result.stdout
    assert "Old" not in result.stdout
    assert "7 reminder(s) in the last 30 days." in result.stdout
    assert "8 reminder(s) in the last 41 days." in runner.invoke(args=["reminders", "list", "--days", "41"]).stdout
    assert runner.invoke(args=["reminders", "list", "--days", "0"]).exit_code == 2


def test_list_with_nothing_sent(runner):
    result = runner.invoke(args=["reminders", "list", "--days", "1"])
    assert result.exit_code == 0 and "No reminders today." in result.stdout


def test_every_reminder_row_is_unique_per_person_kind_and_day(app, runner, ward):
    send(runner, on=day(11))
    send(runner, on=day(11))
    with app.app_context():
        counts = db.session.execute(
            select(func.count()).select_from(Reminder).group_by(Reminder.user_id, Reminder.kind, Reminder.sent_on)
        ).scalars()
        assert set(counts) == {1}


# --- The HR page ---------------------------------------------------------------------------------


def test_hr_sees_what_was_sent(app, runner, client, auth, make_user, ward):
    assert send(runner).exit_code == 0
    auth.login(make_user("hr", department="Human Resources"))

    page = client.get("/reminders")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "7 reminders since" in html
    assert "Nia Okafor" in html and "nia@example.org" in html
    assert "Training reminder: 1 due soon" in html
    badge = '<span class="badge badge-c-due_soon">Due soon</span>'
    assert f'Test Course {badge} <span class="status-detail">due {format_day(day(10))}</span>' in html
    assert "Team training digest for Pharmacy: 2 people need attention" in html
    assert 'class="stack"' in html and 'data-label="Items"' in html

    digests = client.get("/reminders?kind=manager").get_data(as_text=True)
    assert "2 reminders since" in digests and "Training reminder:" not in digests
    nia = client.get("/reminders?q=NIA").get_data(as_text=True)
    assert "1 reminder since" in nia and "Omar Haddad" not in nia
    assert client.get("/reminders?q=100%25").status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("days=soon", "Not a valid integer value."),
        ("days=0", "Enter a number of days from 1 to 3660."),
        ("days=99999", "Enter a number of days from 1 to 3660."),
        ("kind=everyone", "Not a valid choice"),
        ("q=" + "x" * 201, "Enter at most 200 characters."),
    ],
)
def test_a_bad_filter_is_a_clear_400(client, auth, make_user, query, message):
    auth.login(make_user("hr"))
    response = client.get(f"/reminders?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_page_past_the_end_shows_the_last_page(client, auth, make_user):
    auth.login(make_user("admin"))
    response = client.get("/reminders?page=99&days=")
    assert response.status_code == 200 and "No reminders match this filter." in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_hr_and_admins_see_reminders(client, auth, make_user, role):
    auth.login(make_user(role, department="Pharmacy"))
    response = client.get("/reminders")
    assert response.status_code == 403
    assert "Reminders" not in client.get("/").get_data(as_text=True).split("<main")[0]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/reminders")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
