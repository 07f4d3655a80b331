"""The rules for the values of a staff record (lengths, visible text, email, hire date, privileged roles): pure."""

import re
from datetime import date
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from training import clock
from training.visible_text import text_problem

MAX_LENGTHS = {"employee_id": 64, "name": 200, "email": 254, "department": 120, "job_title": 120}
ONE_LINE_TEXT = ("employee_id", "name", "department", "job_title")
PRIVILEGED_ROLES = ("hr", "author", "admin")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def hidden_characters(values: dict[str, str], errors: list[str]) -> set[str]:
    """The one-line columns holding a character they refuse (training/visible_text.py), each with an error."""
    refused = set()
    for column in ONE_LINE_TEXT:
        problem = text_problem(values[column])
        if problem is not None:
            errors.append(f"{column} contains {problem}; remove it")
            refused.add(column)
    return refused


def email_address(value: str, column: str, errors: list[str]) -> str | None:
    """The normalised address, or None (with an error) when it is not one."""
    address, problem = checked_email(value)
    if problem:
        errors.append(f"{column} {value!r} is not a valid email address ({problem})")
    return address


@lru_cache(maxsize=65536)
def checked_email(value: str) -> tuple[str | None, str]:
    """The normalised address and "", or None and why it is not one.

    Cached: a manager's address repeats on many rows, and checking one is the slowest step per row.
    """
    try:
        return validate_email(value, check_deliverability=False).normalized.lower(), ""
    except EmailNotValidError as error:
        return None, str(error)


def forget_checked_emails() -> None:
    """Empty the cache of checked addresses (a benchmark's runs each start cold, as a new process does)."""
    checked_email.cache_clear()


def hire_date(value: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if ISO_DATE.match(value) else None
    except ValueError:
        day = None
    if day is not None and not clock.in_range(day):
        errors.append(f"hire_date {value!r}: {clock.OUT_OF_RANGE}")
        return None
    if day is not None:
        return day
    errors.append(f"hire_date {value!r} is not a date in the format YYYY-MM-DD (for example 2024-03-31)")
    return None
