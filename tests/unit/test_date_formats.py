"""The ways people and machines read dates (training/clock.py): one format on pages, one on certificates."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from training import clock

AUCKLAND = ZoneInfo("Pacific/Auckland")


def test_pages_write_a_day_with_the_short_month():
    assert clock.day_text(date(2026, 12, 6)) == "6 Dec 2026"
    assert clock.day_text(None) == ""


def test_a_moment_is_written_as_its_day_in_the_organisations_zone():
    moment = datetime(2026, 1, 9, 11, 0, tzinfo=UTC)  # midnight starting 10 January in Auckland
    assert clock.day_text(moment, AUCKLAND) == "10 Jan 2026"
    assert clock.day_text(moment, ZoneInfo("UTC")) == "9 Jan 2026"


def test_certificates_write_the_month_in_full_in_the_same_order():
    assert clock.format_date(date(2026, 12, 6)) == "6 December 2026"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 3, 2, 23, 5, 7, 123456, tzinfo=UTC), "2026-03-02T23:05:07.123Z"),
        (datetime(2026, 3, 2, 23, 5, 7, tzinfo=UTC), "2026-03-02T23:05:07.000Z"),
        (datetime(2026, 3, 3, 12, 5, 7, 999999, tzinfo=AUCKLAND), "2026-03-02T23:05:07.999Z"),
    ],
)
def test_machines_read_utc_to_the_millisecond_as_html_allows(moment, expected):
    assert clock.machine_time(moment) == expected
