"""Time as the organisation reads it: its zone, today's date there, and the ways the product writes dates.

Every moment is stored in UTC (`training.db.utcnow`); people see days and times in the organisation's zone
(`ORGANISATION_TIMEZONE`). The pure helpers take the zone as an argument; `organisation_zone()` and `today()`
read it from the app's configuration.

Dates people may enter are held to years that mean something for staff records: Python's dates end in year
9999 and the app adds days, months and years to the dates it is given (due dates, recertification, report
periods), so a hire date of 9999-12-31 once overflowed as a 500.
"""

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from wtforms.validators import StopValidation

from training.db import utcnow

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
OUT_OF_RANGE = f"Enter a date from {EARLIEST.year} to {LATEST.year}."


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["ORGANISATION_TIMEZONE"])


def today(now: datetime | None = None) -> date:
    """Today in the organisation's timezone: every compliance date is a whole local day."""
    return (now or utcnow()).astimezone(organisation_zone()).date()


@lru_cache(maxsize=8192)
def format_day(day: date) -> str:
    """`12 Mar 2026`: a day on pages, in lists, emails and reports. Kept per day: `strftime` is slow, and the
    people list writes a hundred dates per page from a few thousand days."""
    return f"{day.day} {day:%b %Y}"


def format_date(moment: date) -> str:
    """`12 March 2026`: the way a certificate writes a date, the same order as the pages, the month in full."""
    return f"{moment.day} {moment:%B %Y}"


def day_text(value: date | datetime | None, zone: ZoneInfo | None = None) -> str:
    """`12 Mar 2026`, the one way pages write a day (the `day` filter); a moment is read in `zone`, the
    organisation's by default; empty for none."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone or organisation_zone()).date()
    return format_day(value)


def machine_time(moment: datetime) -> str:
    """A moment for machines (`<time datetime>`): ISO 8601 in UTC to the millisecond, as HTML allows."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_date_text(moment: datetime) -> str:
    """A moment's day in the organisation's zone, written as a certificate writes it."""
    return format_date(moment.astimezone(organisation_zone()))


def local_time(moment: datetime) -> str:
    """A moment as people in the organisation read it: its timezone, with the zone's name."""
    return moment.astimezone(organisation_zone()).strftime("%-d %b %Y at %H:%M %Z")


def day_of(moment: datetime | None, zone: ZoneInfo) -> date | None:
    """The day of a moment in the organisation's zone; None for none."""
    return moment.astimezone(zone).date() if moment else None


def day_in(moment: datetime | None, zone: ZoneInfo) -> str:
    """The ISO date (`2026-03-12`) of a moment in the organisation's zone, for files machines read; empty for none."""
    day = day_of(moment, zone)
    return day.isoformat() if day else ""


def in_range(day: date) -> bool:
    return EARLIEST <= day <= LATEST


class SupportedDate:
    """WTForms validator: an empty field passes (Optional/InputRequired decide); a date outside
    the range stops the field's other checks, so none of them computes with it."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not in_range(field.data):
            raise StopValidation(OUT_OF_RANGE)
