"""The calendar dates people may enter (pure: no Flask, no database).

Python's dates end in year 9999, and the app adds days, months and years to the dates it is
given (due dates, recertification, report periods, the day after a range for queries). A hire
date of 9999-12-31 overflowed there as a 500, so every date typed into a form or a CSV file is
held to years that mean something for staff records.
"""

from datetime import date

from wtforms.validators import StopValidation

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
OUT_OF_RANGE = f"Enter a date from {EARLIEST.year} to {LATEST.year}."


def in_range(day: date) -> bool:
    return EARLIEST <= day <= LATEST


class SupportedDate:
    """WTForms validator: an empty field passes (Optional/InputRequired decide); a date outside
    the range stops the field's other checks, so none of them computes with it."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not in_range(field.data):
            raise StopValidation(OUT_OF_RANGE)
