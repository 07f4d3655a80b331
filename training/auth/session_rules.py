"""When a sign-in session ends by itself, and when its last activity is worth writing: pure rules.

A session ends after SESSION_IDLE_MINUTES without a request (unless the person chose "remember
me") and, whatever happens, at its absolute end `expires_at`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

# `last_seen_at` is written at most this often per session: a write on every page view would make
# every request a database write (SQLite serialises writers) for a figure needed to the minute.
# The price: the idle timeout may end a session up to this much early, never late.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class Lapse:
    """Why a session ended by itself ("idle" or "expired") and the moment it did."""

    reason: str
    at: datetime


def lapse(
    *, last_seen_at: datetime, expires_at: datetime, remember: bool, now: datetime, idle: timedelta
) -> Lapse | None:
    """The lapse of a session at `now`, or None while it is live.

    Idle: more than `idle` since the last request, except for remember-me sessions. Expired: the
    absolute end has come. When both have passed, the one that came first is the reason.
    """
    idle_end = None if remember else last_seen_at + idle
    if idle_end is not None and idle_end < expires_at and now > idle_end:
        return Lapse("idle", idle_end)
    if now >= expires_at:
        return Lapse("expired", expires_at)
    return None


def needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    """True when `last_seen_at` is old enough to be written again (see TOUCH_INTERVAL)."""
    return now - last_seen_at >= TOUCH_INTERVAL


def duration_words(delta: timedelta) -> str:
    """A session length for people: "14 days", "12 hours", "30 minutes"."""
    minutes = round(delta.total_seconds() / 60)
    if minutes >= 24 * 60 and minutes % (24 * 60) == 0:
        return _plural(minutes // (24 * 60), "day")
    if minutes >= 60 and minutes % 60 == 0:
        return _plural(minutes // 60, "hour")
    return _plural(minutes, "minute")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
