"""Pure compliance rules: which requirements apply to a person, their due dates, and the status today.

Everything here takes plain values (whole days in the organisation's timezone) and returns plain
values, so the same rules serve pages, exports, reminders and the API, and are unit tested alone.
The dashboard evaluates `status_on` inside the database for speed; `services.status_conditions` is the
SQL form of the same rule, and a test checks that both agree on every case.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from training.courses.rules import add_months

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
EXPIRED = "expired"

# Worst first: the order of filters, legends and "the status of a person".
STATUSES = (OVERDUE, EXPIRED, DUE_SOON, IN_PROGRESS, NOT_STARTED, COMPLETED)
LABELS = {
    NOT_STARTED: "Not started",
    IN_PROGRESS: "In progress",
    COMPLETED: "Completed",
    DUE_SOON: "Due soon",
    OVERDUE: "Overdue",
    EXPIRED: "Expired",
}
# A person is out of compliance while any obligation is overdue or expired.
NON_COMPLIANT = frozenset({OVERDUE, EXPIRED})
DEFAULT_DUE_SOON_DAYS = 30


@dataclass(frozen=True)
class Rule:
    """The parts of a `Requirement` that decide who it applies to and the dates it sets."""

    due_within_days: int
    created_on: date
    department_id: int | None = None
    job_title: str = ""
    recertify_months: int | None = None


@dataclass(frozen=True)
class Person:
    department_id: int | None
    job_title: str
    hire_date: date | None


@dataclass(frozen=True)
class ItemRecord:
    """What a person has done for one course or policy, in local days.

    `done_on`: the latest completion (or attestation of the current version); `natural_until`: the
    last day it is valid on its own terms (course certificate expiry, revocation), None for no
    expiry; `superseded_on`: the day a material policy change made it no longer count.
    """

    done_on: date | None = None
    natural_until: date | None = None
    started: bool = False
    superseded_on: date | None = None


@dataclass(frozen=True)
class ObligationDates:
    due_on: date
    completed_on: date | None
    valid_until: date | None
    started: bool


def applies_to(rule: Rule, person: Person) -> bool:
    """Empty department or job title in a rule means any; job titles compare without case."""
    if rule.department_id is not None and rule.department_id != person.department_id:
        return False
    return not rule.job_title or rule.job_title.strip().casefold() == person.job_title.strip().casefold()


def obligation_dates(rules: list[Rule], person: Person, record: ItemRecord) -> ObligationDates:
    """Combine every rule that applies to a person for one item: the strictest due date and cycle win.

    First-time training is due N days after the later of the hire date and the rule's creation
    (existing staff get N days from the day HR made the rule). A material change restarts the clock.
    """
    if not rules:
        raise ValueError("obligation_dates needs at least one applicable rule")
    anchor_due = min(_first_due(rule, person.hire_date) for rule in rules)
    within = min(rule.due_within_days for rule in rules)
    recertify = min((r.recertify_months for r in rules if r.recertify_months), default=None)
    counts = record.done_on is not None and record.superseded_on is None
    if record.superseded_on is not None:
        anchor_due = max(anchor_due, record.superseded_on + timedelta(days=within))
    if not counts:
        return ObligationDates(due_on=anchor_due, completed_on=None, valid_until=None, started=record.started)
    valid_until = record.natural_until
    if recertify:
        by_rule = add_months_to_date(record.done_on, recertify)
        valid_until = by_rule if valid_until is None else min(valid_until, by_rule)
    return ObligationDates(
        due_on=valid_until or anchor_due,
        completed_on=record.done_on,
        valid_until=valid_until,
        started=record.started,
    )


def _first_due(rule: Rule, hire_date: date | None) -> date:
    start = max(hire_date, rule.created_on) if hire_date else rule.created_on
    return start + timedelta(days=rule.due_within_days)


def add_months_to_date(day: date, months: int) -> date:
    return add_months(datetime(day.year, day.month, day.day), months).date()


def status_on(dates: ObligationDates, today: date, due_soon_days: int = DEFAULT_DUE_SOON_DAYS) -> str:
    """The status of one obligation on `today`. Dates are inclusive: due on the 5th is on time on the 5th."""
    horizon = today + timedelta(days=due_soon_days)
    if dates.completed_on is not None:
        if dates.valid_until is None or dates.valid_until > horizon:
            return COMPLETED
        return DUE_SOON if dates.valid_until >= today else EXPIRED
    if dates.due_on < today:
        return OVERDUE
    if dates.due_on <= horizon:
        return DUE_SOON
    return IN_PROGRESS if dates.started else NOT_STARTED


def status_detail(status: str, dates: ObligationDates, format_day) -> str:
    """The words after the label: "valid until 2 Mar 2027", "due 12 Dec 2026", "expired 1 Nov 2026"."""
    if status == COMPLETED:
        return f"valid until {format_day(dates.valid_until)}" if dates.valid_until else "no expiry"
    if status == EXPIRED:
        return f"expired {format_day(dates.valid_until + timedelta(days=1))}"
    if status == DUE_SOON and dates.completed_on is not None:
        return f"renew by {format_day(dates.valid_until)}"
    if status == OVERDUE:
        return f"was due {format_day(dates.due_on)}"
    return f"due {format_day(dates.due_on)}"


def worst(statuses) -> str | None:
    """The most urgent of several statuses (a person's overall status), or None for none."""
    present = set(statuses)
    return next((s for s in STATUSES if s in present), None)


def local_day(moment: datetime | None, zone: ZoneInfo) -> date | None:
    """The calendar day of a UTC moment in the organisation's timezone."""
    return moment.astimezone(zone).date() if moment else None


def local_last_valid_day(expires_at: datetime | None, zone: ZoneInfo) -> date | None:
    """The last whole local day on which something that stops at `expires_at` is still valid."""
    if expires_at is None:
        return None
    local = expires_at.astimezone(zone)
    day = local.date()
    at_midnight = local.hour == local.minute == local.second == local.microsecond == 0
    return day - timedelta(days=1) if at_midnight else day
