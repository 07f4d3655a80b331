"""Date ranges for reports (pure): whole local days, checked, and turned into UTC bounds for queries."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from training.clock import OUT_OF_RANGE, format_day, in_range
from training.compliance.rules import add_months_to_date

MAX_YEARS = 7


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both days included, in the organisation's timezone."""

    start: date
    end: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[first moment, first moment after) in UTC, for `start <= column < end` queries."""
        first = datetime.combine(self.start, time(), zone).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return first, after

    def describe(self) -> str:
        return f"{format_day(self.start)} to {format_day(self.end)}"


def period_problem(start: date, end: date) -> str | None:
    """What is wrong with a requested range, in words for the form; None when it is fine."""
    if not (in_range(start) and in_range(end)):
        return OUT_OF_RANGE
    if end < start:
        return "The last day is before the first day."
    if end > add_months_to_date(start, 12 * MAX_YEARS):
        return f"Choose a range of at most {MAX_YEARS} years."
    return None


def last_twelve_months(today: date) -> Period:
    """The default range: the same day a year ago up to today."""
    return Period(add_months_to_date(today, -12), today)
