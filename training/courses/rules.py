"""Pure rules for a learner's status in a course, and the date arithmetic behind expiry."""

import calendar
from dataclasses import dataclass
from datetime import datetime

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
EXPIRED = "expired"

STATUS_LABELS = {
    NOT_STARTED: "Not started",
    IN_PROGRESS: "In progress",
    COMPLETED: "Completed",
    EXPIRED: "Expired",
}


@dataclass(frozen=True)
class ProgressFacts:
    """What we know about one learner in one course, as of `now`."""

    now: datetime
    modules_total: int
    modules_done: int
    attempts_in_cycle: int
    passed_in_cycle: bool
    last_completed_at: datetime | None = None
    last_expires_at: datetime | None = None


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def completion_is_current(facts: ProgressFacts) -> bool:
    return facts.last_expires_at is not None and facts.now < facts.last_expires_at


def course_status(facts: ProgressFacts) -> str:
    if completion_is_current(facts):
        return COMPLETED
    started = facts.modules_done > 0 or facts.attempts_in_cycle > 0
    if started:
        return IN_PROGRESS
    if facts.last_completed_at is not None:
        return EXPIRED
    return NOT_STARTED


def progress_percent(facts: ProgressFacts) -> int:
    """Modules and the quiz each count as one step; a current completion is 100%."""
    if completion_is_current(facts):
        return 100
    steps = facts.modules_total + 1
    done = min(facts.modules_done, facts.modules_total) + (1 if facts.passed_in_cycle else 0)
    return 100 * done // steps


def ready_to_complete(facts: ProgressFacts) -> bool:
    """A course is completed when every module is done and a quiz attempt passed, in this cycle."""
    return (
        not completion_is_current(facts)
        and facts.modules_total > 0
        and facts.modules_done >= facts.modules_total
        and facts.passed_in_cycle
    )
