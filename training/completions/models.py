"""What each learner has finished: modules read and courses completed, per cycle (append-only records)."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.content.models import Course
from training.db import utcnow
from training.extensions import db


class ModuleProgress(db.Model):
    """A learner marked a module complete in a given cycle (cycle n leads to completion n + 1)."""

    __table_args__ = (UniqueConstraint("user_id", "module_id", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_module.id"))
    cycle: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Completion(db.Model):
    """Proof that a learner completed a course: append-only, one per learner, course and cycle."""

    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "cycle"),
        UniqueConstraint("attempt_id"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score_percent"),
        # A person's completions newest first, a page at a time (the transcript pages).
        Index("ix_completion_user_completed", "user_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    cycle: Mapped[int]
    course_version: Mapped[int]
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempt.id"))
    score: Mapped[int]
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    course: Mapped[Course] = relationship()
