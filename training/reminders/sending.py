"""Sending reminders: staff, then managers, each message recorded, sent and committed on its own.

`send_reminders` works in batches (`selection.py`). Then each message on its own: one INSERT of its
reminder row, the send, and a commit (or a rollback if the send failed, so the next run tries again).
A crash or a failure therefore loses or repeats at most the one message in flight, and a message sent
again carries the same Message-ID (derived from the person, kind and day of its row) so that mail
servers can drop the copy. A concurrent run that recorded the same person, kind and day first wins
through the unique constraint.
"""

from collections.abc import Callable
from datetime import date
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from training.db import utcnow
from training.extensions import db
from training.mail import MailError, MailUnavailable, build_message, stable_message_id
from training.reminders.messages import Outgoing, digest_message, staff_message
from training.reminders.models import Reminder
from training.reminders.run import KIND_NAMES, ReminderRun
from training.reminders.selection import managers_due, staff_due

# Connection-level failures in a row after which the run stops: the server is down, not one address.
MAX_UNAVAILABLE = 3


def send_reminders(
    transport,
    *,
    on: date,
    interval: int,
    window: int,
    sender: str = "",
    dry_run: bool = False,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> ReminderRun:
    """Remind staff, then managers, as of `on`; returns the run with its counts (see module docstring)."""
    run = ReminderRun(on, interval, window, dry_run, None if dry_run else transport, sender, say, warn)
    try:
        for due in staff_due(run):
            _deliver([staff_message(person, items, run) for person, items in due], run)
        for due in managers_due(run):
            _deliver([digest_message(manager, department, team, run) for manager, department, team in due], run)
    finally:
        if dry_run:
            db.session.rollback()
    return run


def _deliver(outgoing: list[Outgoing], run: ReminderRun) -> None:
    """Send the batch's messages one by one, each recorded and committed on its own."""
    if run.dry_run:
        for message in outgoing:
            run.say(f"Would send a {KIND_NAMES[message.kind]} to {message.person.email}: {message.subject}")
            run.sent[message.kind] += 1
        return
    for message in outgoing:
        if run.stopped:
            return
        _deliver_one(message, run)


def _deliver_one(message: Outgoing, run: ReminderRun) -> None:
    """Record the message, send it, and commit the record only if the server took the message.

    The record goes in first with an INSERT that skips a person a concurrent run has already
    recorded for the day (on PostgreSQL it waits for that run's commit), and its commit follows the
    send at once: what is recorded was sent, and what was sent is recorded, but for a crash between
    the two (the rerun then sends that message again under the same Message-ID).
    """
    email = _email(message, run)
    if email is None:
        return
    if _record(message, run) is None:
        run.already_sent += 1
        db.session.rollback()
    elif _send(email, message, run):
        db.session.commit()
    else:
        db.session.rollback()


def _email(message: Outgoing, run: ReminderRun) -> EmailMessage | None:
    person = message.person
    try:
        return build_message(
            run.sender,
            person.name,
            person.email,
            message.subject,
            message.text,
            message.html,
            message_id=_message_id(message, run),
        )
    except ValueError as exc:  # the mail library refused a header: only this message is lost
        _failed(message, run, f"the message could not be built: {exc}")
        return None


def _message_id(message: Outgoing, run: ReminderRun) -> str:
    """The same for every send of one reminder record (person, kind, day), different for any other."""
    config = current_app.config
    domain = urlsplit(config["PUBLIC_BASE_URL"]).hostname or "localhost"
    name = f"reminder-{message.kind}-{message.person.id}-{run.on:%Y%m%d}"
    return stable_message_id(name, config["SECRET_KEY"], domain)


def _record(message: Outgoing, run: ReminderRun) -> int | None:
    """Insert the message's reminder row unless one is there for the person, kind and day; its id or None."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Reminder)
        .values(
            user_id=message.person.id,
            kind=message.kind,
            sent_on=run.on,
            sent_at=utcnow(),
            transport=run.transport.name,
            subject=message.subject[:200],
            items=message.items,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "sent_on"])
        .returning(Reminder.id)
    )
    return db.session.execute(statement).scalar_one_or_none()


def _send(email: EmailMessage, message: Outgoing, run: ReminderRun) -> bool:
    try:
        run.transport.send(email)
    except MailError as exc:
        _failed(message, run, exc.message)
        if isinstance(exc, MailUnavailable):
            run.unavailable_in_a_row += 1
            if run.unavailable_in_a_row >= MAX_UNAVAILABLE:
                run.stopped = f"the mail server failed {MAX_UNAVAILABLE} times in a row; the rest were not attempted."
        return False
    run.unavailable_in_a_row = 0
    run.sent[message.kind] += 1
    return True


def _failed(message: Outgoing, run: ReminderRun, reason: str) -> None:
    run.failed += 1
    run.warn(f"error: the {KIND_NAMES[message.kind]} to {message.person.email} was not sent: {reason}")
