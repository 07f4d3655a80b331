"""One `flask reminders send` run: the kinds of reminder, the interval setting, and what the run did."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import current_app

from training.errors import DomainError

STAFF = "staff"
MANAGER = "manager"
KIND_NAMES = {STAFF: "reminder", MANAGER: "manager digest"}
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
