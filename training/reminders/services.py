"""Who gets which reminder: each person their own training due soon, overdue or expired; each manager
a digest of their department.

`send_reminders` works in batches with a fixed number of reads per batch, whatever the number of
staff: the batch's obligations with course and policy titles, and its last reminders. Then each
message on its own: one INSERT of its reminder row, the send, and a commit (or a rollback if the
send failed, so the next run tries again). A crash or a failure therefore loses or repeats at most
the one message in flight, and a message sent again carries the same Message-ID (derived from the
person, kind and day of its row) so that mail servers can drop the copy. A concurrent run that
recorded the same person, kind and day first wins through the unique constraint.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from training.auth.models import Department, User
from training.auth.search import person_matches
from training.clock import format_day
from training.clock import today as compliance_today
from training.compliance import rules
from training.compliance.models import Obligation
from training.compliance.status import status_case
from training.content.models import Course
from training.db import utcnow
from training.errors import DomainError
from training.extensions import db
from training.mail import MailError, MailUnavailable, build_message, stable_message_id
from training.paging import Page, paginate_rows
from training.policies.models import Policy
from training.reminders import schedule
from training.reminders.models import Reminder

STAFF = "staff"
MANAGER = "manager"
KIND_NAMES = {STAFF: "reminder", MANAGER: "manager digest"}
ATTENTION = (rules.OVERDUE, rules.EXPIRED, rules.DUE_SOON)
# People per batch, read and decided on together (each message is then recorded and committed on its own).
BATCH_SIZE = 100
MANAGER_BATCH_SIZE = 50
# Connection-level failures in a row after which the run stops: the server is down, not one address.
MAX_UNAVAILABLE = 3
# People listed per status in a digest; the rest are counted and one link away.
DIGEST_LIST_LIMIT = 50
DEFAULT_INTERVAL_DAYS = 7


def interval_days() -> int:
    """REMINDER_INTERVAL_DAYS: the least number of days between two reminders of a kind to one person."""
    raw = current_app.config.get("REMINDER_INTERVAL_DAYS", DEFAULT_INTERVAL_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise DomainError(f"REMINDER_INTERVAL_DAYS must be a whole number of days, not {raw!r}.") from None
    if not 1 <= days <= 365:
        raise DomainError(f"REMINDER_INTERVAL_DAYS must be between 1 and 365, not {days}.")
    return days


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class ReminderItem:
    """One course or policy that needs the person's attention, ready for an email and the record."""

    kind: str
    key: str
    title: str
    status: str
    detail: str
    url: str

    @property
    def label(self) -> str:
        return rules.LABELS[self.status]

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "status": self.status,
            "label": self.label,
            "detail": self.detail,
            "url": self.url,
        }


def _severity(item: ReminderItem) -> tuple:
    return rules.STATUSES.index(item.status), item.title.lower()


@dataclass(frozen=True)
class Outgoing:
    """A message decided on: who, which kind, what it says and what the record lists."""

    person: Person
    kind: str
    subject: str
    text: str
    html: str
    items: list[dict]


@dataclass
class ReminderRun:
    """One `send` run: its settings, and what happened (the command's summary and exit status)."""

    on: date
    interval: int
    window: int
    dry_run: bool
    transport: object | None
    sender: str
    say: Callable[[str], None]
    warn: Callable[[str], None]
    sent: dict[str, int] = field(default_factory=lambda: {STAFF: 0, MANAGER: 0})
    skipped: set[tuple[str, int]] = field(default_factory=set)
    already_sent: int = 0
    failed: int = 0
    unavailable_in_a_row: int = 0
    stopped: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped

    def summary(self) -> str:
        staff, managers = self.sent[STAFF], self.sent[MANAGER]
        counts = f"{_plural(staff, 'reminder')} and {_plural(managers, 'manager digest')}"
        people = len({user_id for _, user_id in self.skipped})
        skipped = f"{_plural(people, 'person', 'people')} skipped (reminded within {_plural(self.interval, 'day')})"
        if self.dry_run:
            return f"Dry run: would send {counts}; {skipped}. Nothing was sent or recorded."
        line = f"Sent {counts}; {skipped}."
        if self.transport is not None and getattr(self.transport, "name", "") == "console":
            line += " Printed to the console: MAIL_SERVER is not set."
        if self.already_sent:
            line += f" {_plural(self.already_sent, 'message')} already sent today by another run."
        if self.failed:
            line += f" {self.failed} failed: not recorded, so the next run tries again."
        if self.stopped:
            line += f" Stopped early: {self.stopped}"
        return line


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


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
        _remind_staff(run)
        _remind_managers(run)
    finally:
        if dry_run:
            db.session.rollback()
    return run


# --- Reading: who needs attention ----------------------------------------------------------------


def _attention_rows(run: ReminderRun):
    """Active people's obligations that are due soon, overdue or expired on the run's day."""
    return (
        select(
            Obligation.user_id,
            User.name,
            User.email,
            User.department_id,
            Obligation.course_id,
            Obligation.policy_id,
            Obligation.due_on,
            Obligation.completed_on,
            Obligation.valid_until,
            Obligation.started,
            Course.slug.label("course_slug"),
            Course.title.label("course_title"),
            Policy.slug.label("policy_slug"),
            Policy.title.label("policy_title"),
        )
        .join(User, User.id == Obligation.user_id)
        .outerjoin(Course, Course.id == Obligation.course_id)
        .outerjoin(Policy, Policy.id == Obligation.policy_id)
        .where(*_attention_filter(run))
    )


def _attention_filter(run: ReminderRun) -> list:
    return [
        User.active.is_(True),
        status_case(run.on, run.window).in_(ATTENTION),
        or_(Obligation.policy_id.is_(None), Policy.retired_at.is_(None)),
    ]


def _item(row, run: ReminderRun) -> ReminderItem | None:
    dates = rules.ObligationDates(row.due_on, row.completed_on, row.valid_until, row.started)
    status = rules.status_on(dates, run.on, run.window)
    if status not in ATTENTION:
        return None
    if row.course_id is not None:
        kind, item_id, slug, title, path = "course", row.course_id, row.course_slug, row.course_title, "/courses/"
    else:
        kind, item_id, slug, title, path = "policy", row.policy_id, row.policy_slug, row.policy_title, "/policies/"
    detail = rules.status_detail(status, dates, format_day)
    return ReminderItem(kind, f"{kind}:{item_id}", title, status, detail, public_url(path + slug))


def _last_reminders(user_ids: Sequence[int], kind: str, run: ReminderRun) -> dict[int, schedule.LastReminder]:
    """Each person's latest reminder of this kind within the interval (one query)."""
    last: dict[int, schedule.LastReminder] = {}
    if not user_ids:
        return last
    rows = db.session.execute(
        select(Reminder.user_id, Reminder.sent_on, Reminder.items)
        .where(
            Reminder.user_id.in_(user_ids),
            Reminder.kind == kind,
            Reminder.sent_on > run.on - timedelta(days=run.interval),
            Reminder.sent_on <= run.on,
        )
        .order_by(Reminder.sent_on)
    )
    for user_id, sent_on, items in rows:
        last[user_id] = schedule.LastReminder(sent_on, schedule.urgent_refs(_recorded_refs(kind, items or [])))
    return last


def _recorded_refs(kind: str, items: list) -> Iterable[tuple[str, str]]:
    for item in items:
        if isinstance(item, dict):
            ref = item.get("key", "") if kind == STAFF else f"{item.get('user_id')}/{item.get('key', '')}"
            yield ref, item.get("status", "")


def _chunks(values: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- Staff ---------------------------------------------------------------------------------------


def _remind_staff(run: ReminderRun) -> None:
    ids = list(
        db.session.execute(
            select(Obligation.user_id)
            .join(User, User.id == Obligation.user_id)
            .outerjoin(Policy, Policy.id == Obligation.policy_id)
            .where(*_attention_filter(run))
            .distinct()
            .order_by(Obligation.user_id)
        ).scalars()
    )
    for batch in _chunks(ids, BATCH_SIZE):
        if run.stopped:
            return
        people: dict[int, Person] = {}
        items: dict[int, list[ReminderItem]] = defaultdict(list)
        for row in db.session.execute(_attention_rows(run).where(Obligation.user_id.in_(batch))):
            item = _item(row, run)
            if item is not None:
                people[row.user_id] = Person(row.user_id, row.name, row.email)
                items[row.user_id].append(item)
        last = _last_reminders(batch, STAFF, run)
        outgoing = []
        for user_id in batch:
            mine = sorted(items.get(user_id, []), key=_severity)
            if not mine:
                continue
            urgent = schedule.urgent_refs((item.key, item.status) for item in mine)
            if schedule.decide(last.get(user_id), urgent, run.on, run.interval) != schedule.SEND:
                run.skipped.add((STAFF, user_id))
                continue
            outgoing.append(_staff_message(people[user_id], mine, run))
        _deliver(outgoing, run)


def _staff_message(person: Person, items: list[ReminderItem], run: ReminderRun) -> Outgoing:
    groups = [(rules.LABELS[s], [i for i in items if i.status == s]) for s in ATTENTION]
    groups = [(label, group) for label, group in groups if group]
    counts = ", ".join(f"{len(group)} {label.lower()}" for label, group in groups)
    context = {
        "person": person,
        "groups": groups,
        "count": len(items),
        "organisation": current_app.config["ORGANISATION_NAME"],
        "home_url": public_url("/"),
        "interval": run.interval,
    }
    return Outgoing(
        person=person,
        kind=STAFF,
        subject=f"Training reminder: {counts}",
        text=render_template("reminders/staff.txt", **context),
        html=render_template("reminders/staff.html", **context),
        items=[item.as_json() for item in items],
    )


# --- Managers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestGroup:
    """The people in a department with items of one status, and how many there are in all."""

    status: str
    entries: list[tuple[Person, list[ReminderItem]]]
    people: int
    items: int

    @property
    def label(self) -> str:
        return rules.LABELS[self.status]

    @property
    def more(self) -> int:
        return self.people - len(self.entries)


def _remind_managers(run: ReminderRun) -> None:
    managers = db.session.execute(
        select(User.id, User.name, User.email, User.department_id, Department.name.label("department"))
        .join(Department, Department.id == User.department_id)
        .where(User.role == "manager", User.active.is_(True))
        .order_by(User.id)
    ).all()
    for batch in _chunks(managers, MANAGER_BATCH_SIZE):
        if run.stopped:
            return
        teams: dict[int, dict[Person, list[ReminderItem]]] = defaultdict(lambda: defaultdict(list))
        department_ids = {manager.department_id for manager in batch}
        for row in db.session.execute(_attention_rows(run).where(User.department_id.in_(department_ids))):
            item = _item(row, run)
            if item is not None:
                teams[row.department_id][Person(row.user_id, row.name, row.email)].append(item)
        last = _last_reminders([manager.id for manager in batch], MANAGER, run)
        outgoing = []
        for manager in batch:
            team = {p: sorted(i, key=_severity) for p, i in teams[manager.department_id].items() if p.id != manager.id}
            if not team:
                continue
            urgent = schedule.urgent_refs((f"{p.id}/{i.key}", i.status) for p, items in team.items() for i in items)
            if schedule.decide(last.get(manager.id), urgent, run.on, run.interval) != schedule.SEND:
                run.skipped.add((MANAGER, manager.id))
                continue
            recipient = Person(manager.id, manager.name, manager.email)
            outgoing.append(_digest_message(recipient, manager.department, team, run))
        _deliver(outgoing, run)


def _digest_message(manager: Person, department: str, team: dict, run: ReminderRun) -> Outgoing:
    by_name = sorted(team.items(), key=lambda entry: (entry[0].name.lower(), entry[0].id))
    groups = []
    for status in ATTENTION:
        entries = [(p, [i for i in items if i.status == status]) for p, items in by_name]
        entries = [(p, items) for p, items in entries if items]
        if entries:
            total_items = sum(len(items) for _, items in entries)
            groups.append(DigestGroup(status, entries[:DIGEST_LIST_LIMIT], len(entries), total_items))
    people = len(team)
    context = {
        "manager": manager,
        "department": department,
        "groups": groups,
        "people": people,
        "organisation": current_app.config["ORGANISATION_NAME"],
        "list_url": public_url("/compliance/people?status=non_compliant"),
        "interval": run.interval,
    }
    needs = "person needs" if people == 1 else "people need"
    items = [{"user_id": p.id, "name": p.name} | item.as_json() for p, person_items in by_name for item in person_items]
    return Outgoing(
        person=manager,
        kind=MANAGER,
        subject=f"Team training digest for {department}: {people} {needs} attention",
        text=render_template("reminders/manager.txt", **context),
        html=render_template("reminders/manager.html", **context),
        items=items,
    )


# --- Sending and recording -------------------------------------------------------------------------


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


# --- Reading back: what was sent -----------------------------------------------------------------------


def recent_reminders(since: date):
    """Reminders sent on or after `since`, newest first, with the person's name and email (streamed)."""
    return db.session.execute(
        select(Reminder, User.name, User.email)
        .join(User, User.id == Reminder.user_id)
        .where(Reminder.sent_on >= since)
        .order_by(Reminder.sent_on.desc(), Reminder.sent_at.desc(), Reminder.id.desc())
        .execution_options(yield_per=500)
    )


@dataclass(frozen=True)
class ReminderFilter:
    """HR's view of recent reminders: the last `days` days (today included), one kind or both, a name or email."""

    days: int = 30
    kind: str = ""
    q: str = ""


@dataclass(frozen=True)
class SentReminder:
    reminder: Reminder
    name: str
    email: str


def reminders_since(criteria: ReminderFilter) -> date:
    """The first day the filter shows: `days` days back, today included."""
    return compliance_today() - timedelta(days=criteria.days - 1)


def reminders_page(criteria: ReminderFilter, since: date, page: int = 1, per_page: int = 50) -> Page[SentReminder]:
    """One page of the reminders sent from `since` on, newest first, in two queries."""
    query = select(Reminder, User.name, User.email).join(User, User.id == Reminder.user_id)
    query = query.where(Reminder.sent_on >= since)
    if criteria.kind in KIND_NAMES:
        query = query.where(Reminder.kind == criteria.kind)
    if criteria.q:
        query = query.where(person_matches(criteria.q))
    ordered = query.order_by(Reminder.sent_on.desc(), Reminder.sent_at.desc(), Reminder.id.desc())
    return paginate_rows(ordered, page, per_page).map(lambda row: SentReminder(*row))
