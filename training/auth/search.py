"""Finding people by what HR types into a search box."""

from sqlalchemy import func, or_

from training.auth.models import User
from training.db import LIKE_ESCAPE, literal_like


def person_matches(text: str):
    """A condition on `User`: name, email or employee id contains `text`, ignoring case.

    The text is matched literally: `%` and `_` typed in a search box are not wildcards.
    """
    return person_matches_pattern(search_pattern(text))


def search_pattern(text: str) -> str:
    """The LIKE pattern `person_matches` uses for `text`."""
    return "%" + literal_like(text.strip().lower()) + "%"


def person_matches_pattern(pattern):
    """`person_matches` for a pattern made by `search_pattern`, or a bound parameter that will hold one."""
    return or_(
        func.lower(User.name).like(pattern, escape=LIKE_ESCAPE),
        func.lower(User.email).like(pattern, escape=LIKE_ESCAPE),
        func.lower(func.coalesce(User.employee_id, "")).like(pattern, escape=LIKE_ESCAPE),
    )
