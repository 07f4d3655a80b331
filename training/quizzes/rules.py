"""Pure rules for quiz attempts: how many a learner may make in a cycle, and the wait after a failed one."""

from dataclasses import dataclass
from datetime import datetime, timedelta


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
