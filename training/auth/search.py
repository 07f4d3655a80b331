"""Finding people by what HR types into a search box."""

from sqlalchemy import func, or_

from training.auth.models import User


def person_matches(text: str):
    """A condition on `User`: name, email or employee id contains `text`, ignoring case.

    The text is matched literally: `%` and `_` typed in a search box are not wildcards.
    """
    needle = "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(User.name).like(needle, escape="\\"),
        func.lower(User.email).like(needle, escape="\\"),
        func.lower(func.coalesce(User.employee_id, "")).like(needle, escape="\\"),
    )
