"""Pure rules for a learner's status in a course, and the date arithmetic behind expiry."""

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class AttemptFacts:
    """A learner's submitted quiz attempts in the current cycle, and the course's limits."""

    now: datetime
    max_attempts: int | None  # None: unlimited
    extra_attempts: int  # allowed on top by HR for this cycle
    submitted: int
    wait_minutes: int
    last_submitted_at: datetime | None = None
    last_passed: bool | None = None


@dataclass(frozen=True)
class AttemptGate:
    """Whether a new attempt may start; if not, why ("limit" or "wait") and, for a wait, until when."""

    allowed: bool
    reason: str = ""
    allowed_attempts: int | None = None
    used: int = 0
    wait_until: datetime | None = None

    @property
    def remaining(self) -> int | None:
        return None if self.allowed_attempts is None else max(self.allowed_attempts - self.used, 0)


def attempt_gate(facts: AttemptFacts) -> AttemptGate:
    """Apply the course's attempt limit (plus HR's allowances) and the wait after a failed attempt."""
    allowed = None if facts.max_attempts is None else facts.max_attempts + facts.extra_attempts
    if allowed is not None and facts.submitted >= allowed:
        return AttemptGate(False, "limit", allowed, facts.submitted)
    if facts.wait_minutes > 0 and facts.last_submitted_at is not None and facts.last_passed is False:
        until = facts.last_submitted_at + timedelta(minutes=facts.wait_minutes)
        if facts.now < until:
            return AttemptGate(False, "wait", allowed, facts.submitted, until)
    return AttemptGate(True, "", allowed, facts.submitted)
