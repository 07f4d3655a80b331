"""Finding people by what HR types into a search box."""

from sqlalchemy import func, or_

from training.auth.models import User
from training.db import LIKE_ESCAPE, literal_like


def person_matches(text: str):
    """A condition on `User`: name, email or employee id contains `text`, ignoring case.

    The text is matched literally: `%` and `_` typed in a search box are not wildcards.
    """
    needle = "%" + literal_like(text.strip().lower()) + "%"
    return or_(
        func.lower(User.name).like(needle, escape=LIKE_ESCAPE),
        func.lower(User.email).like(needle, escape=LIKE_ESCAPE),
        func.lower(func.coalesce(User.employee_id, "")).like(needle, escape=LIKE_ESCAPE),
    )
