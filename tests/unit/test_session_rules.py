"""The rules that end a session by itself (idle, absolute end) and when its activity is written."""

from datetime import UTC, datetime, timedelta

import pytest

from training.auth.session_rules import TOUCH_INTERVAL, Lapse, duration_words, lapse, needs_touch

SIGNED_IN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)
END = SIGNED_IN + timedelta(hours=12)


def at(**delta) -> datetime:
    return SIGNED_IN + timedelta(**delta)


@pytest.mark.parametrize(
    ("last_seen", "now", "expected"),
    [
        (at(minutes=0), at(minutes=30), None),  # exactly the idle timeout: still live
        (at(minutes=0), at(minutes=30, seconds=1), Lapse("idle", at(minutes=30))),
        (at(hours=3), at(hours=3, minutes=29), None),
        (at(hours=11, minutes=50), at(hours=11, minutes=59), None),
        (at(hours=11, minutes=50), at(hours=12), Lapse("expired", END)),  # active, but the absolute end came
        (at(hours=1), at(hours=20), Lapse("idle", at(hours=1, minutes=30))),  # idle first, noticed late
        (at(hours=11, minutes=45), at(hours=13), Lapse("expired", END)),  # the end came before the idle timeout
    ],
)
def test_a_session_lapses_at_its_idle_timeout_or_its_absolute_end(last_seen, now, expected):
    assert lapse(last_seen_at=last_seen, expires_at=END, remember=False, now=now, idle=IDLE) == expected


def test_remember_me_has_no_idle_timeout_but_keeps_its_end():
    end = SIGNED_IN + timedelta(days=14)
    assert lapse(last_seen_at=SIGNED_IN, expires_at=end, remember=True, now=at(days=13), idle=IDLE) is None
    assert lapse(last_seen_at=at(days=13), expires_at=end, remember=True, now=end, idle=IDLE) == Lapse("expired", end)


@pytest.mark.parametrize(
    ("age", "expected"), [(timedelta(0), False), (TOUCH_INTERVAL - timedelta(seconds=1), False), (TOUCH_INTERVAL, True)]
)
def test_last_activity_is_written_at_most_once_a_minute(age, expected):
    assert needs_touch(SIGNED_IN, SIGNED_IN + age) is expected


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=12), "12 hours"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(days=14), "14 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=36), "36 hours"),
    ],
)
def test_durations_read_as_people_say_them(delta, words):
    assert duration_words(delta) == words
