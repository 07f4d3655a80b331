"""Who is due a reminder: the obligations that need attention on the run's day, the last reminders, the schedule.

Each batch of people costs a fixed number of reads, whatever the number of staff: the batch's
obligations with course and policy titles, and its last reminders.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select

from training.auth.models import Department, User
from training.clock import format_day
from training.compliance import rules
from training.compliance.models import Obligation
from training.compliance.status import OBLIGATION_COLUMNS, status_case
from training.content.models import Course
from training.extensions import db
from training.policies.models import Policy
from training.reminders import schedule
from training.reminders.models import Reminder
from training.reminders.run import MANAGER, STAFF, ReminderRun
from training.urls import public_url

ATTENTION = (rules.OVERDUE, rules.EXPIRED, rules.DUE_SOON)
# People per batch, read and decided on together (each message is then recorded and committed on its own).
BATCH_SIZE = 100
MANAGER_BATCH_SIZE = 50


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


# --- Reading: who needs attention ----------------------------------------------------------------


def _attention_rows(run: ReminderRun):
    """Active people's obligations that are due soon, overdue or expired on the run's day."""
    return (
        select(
            Obligation.user_id,
            User.name,
            User.email,
            User.department_id,
            *OBLIGATION_COLUMNS,
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


# --- Who is due, batch by batch -------------------------------------------------------------------


def staff_due(run: ReminderRun) -> Iterator[list[tuple[Person, list[ReminderItem]]]]:
    """Batch by batch, the people to remind now, each with their items, most severe first.

    Those the schedule says to leave for now are noted in `run.skipped`; once the run has stopped,
    no further batch is read.
    """
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
        due = []
        for user_id in batch:
            mine = sorted(items.get(user_id, []), key=_severity)
            if not mine:
                continue
            urgent = schedule.urgent_refs((item.key, item.status) for item in mine)
            if schedule.decide(last.get(user_id), urgent, run.on, run.interval) != schedule.SEND:
                run.skipped.add((STAFF, user_id))
                continue
            due.append((people[user_id], mine))
        yield due


def managers_due(run: ReminderRun) -> Iterator[list[tuple[Person, str, dict[Person, list[ReminderItem]]]]]:
    """Batch by batch, the managers to send a digest now: (manager, department, their team's items).

    A manager's team is everyone else in their department with items that need attention.
    """
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
        due = []
        for manager in batch:
            team = {p: sorted(i, key=_severity) for p, i in teams[manager.department_id].items() if p.id != manager.id}
            if not team:
                continue
            urgent = schedule.urgent_refs((f"{p.id}/{i.key}", i.status) for p, items in team.items() for i in items)
            if schedule.decide(last.get(manager.id), urgent, run.on, run.interval) != schedule.SEND:
                run.skipped.add((MANAGER, manager.id))
                continue
            due.append((Person(manager.id, manager.name, manager.email), manager.department, team))
        yield due
