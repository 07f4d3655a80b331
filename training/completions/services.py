"""Reading the completion records that areas below the learner's course progress need."""

from sqlalchemy import func, select

from training.completions.models import Completion
from training.extensions import db


def current_cycle(user_id: int, course_id: int) -> int:
    """The learner's current cycle in a course: how many times they have completed it (0 before the first)."""
    return db.session.execute(
        select(func.count())
        .select_from(Completion)
        .where(Completion.user_id == user_id, Completion.course_id == course_id)
    ).scalar_one()
