"""When a person is reminded again (pure): the rate limit, and the one thing that overrides it.

The rule: at most one reminder of a kind per person per day, and none within `interval_days` of the
last one of that kind, unless something has become overdue or expired since then (an item listed as
overdue or expired now that the last reminder did not list as overdue or expired). Items merely due
soon never cut the wait short: they are repeated at the next regular reminder.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from training.compliance import rules

SEND = "send"
SENT_TODAY = "sent_today"
RECENT = "recent"
URGENT = frozenset({rules.OVERDUE, rules.EXPIRED})


@dataclass(frozen=True)
class LastReminder:
    """The most recent reminder of one kind to one person: its day and the items it called urgent."""

    sent_on: date
    urgent: frozenset[str]


def urgent_refs(items: Iterable[tuple[str, str]]) -> frozenset[str]:
    """From (ref, status) pairs, the refs that are overdue or expired."""
    return frozenset(ref for ref, status in items if status in URGENT)


def decide(last: LastReminder | None, urgent_now: frozenset[str], today: date, interval_days: int) -> str:
    """SEND, SENT_TODAY (never twice a day) or RECENT (within the interval and nothing got worse)."""
    if last is None:
        return SEND
    if last.sent_on >= today:
        return SENT_TODAY
    if (today - last.sent_on).days >= interval_days:
        return SEND
    return SEND if urgent_now - last.urgent else RECENT
