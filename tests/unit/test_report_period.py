"""Report date ranges: validation, defaults and the UTC bounds of local days."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from training.reports.period import Period, last_twelve_months, period_problem


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), None),
        (date(2026, 1, 2), date(2026, 1, 1), "The last day is before the first day."),
        (date(2019, 1, 1), date(2026, 1, 1), None),
        (date(2019, 1, 1), date(2026, 1, 2), "Choose a range of at most 7 years."),
        (date(2020, 2, 29), date(2027, 2, 28), None),
        (date(9999, 12, 30), date(9999, 12, 31), "Enter a date from 1900 to 2999."),
        (date(1, 1, 1), date(1, 12, 31), "Enter a date from 1900 to 2999."),
    ],
)
def test_period_problem(start, end, problem):
    assert period_problem(start, end) == problem


def test_the_default_is_the_last_twelve_months():
    assert last_twelve_months(date(2026, 11, 24)) == Period(date(2025, 11, 24), date(2026, 11, 24))
    assert last_twelve_months(date(2028, 2, 29)) == Period(date(2027, 2, 28), date(2028, 2, 29))


def test_bounds_cover_whole_local_days_in_utc():
    period = Period(date(2026, 3, 1), date(2026, 3, 31))
    first, after = period.bounds(ZoneInfo("America/Chicago"))
    assert first == datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert after == datetime(2026, 4, 1, 5, tzinfo=UTC), "daylight saving time began on 8 March"
    assert period.describe() == "1 Mar 2026 to 31 Mar 2026"
