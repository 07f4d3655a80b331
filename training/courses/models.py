"""Courses, their modules, and each learner's progress and completions."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.db import CreatedAtMixin, utcnow
from training.extensions import db


class Course(CreatedAtMixin, db.Model):
    __table_args__ = (
        CheckConstraint("pass_mark BETWEEN 1 AND 100", name="pass_mark_percent"),
        CheckConstraint("questions_per_attempt >= 1", name="questions_per_attempt_positive"),
        CheckConstraint("certificate_validity_months >= 1", name="validity_positive"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint("attempt_wait_minutes >= 0", name="attempt_wait_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    pass_mark: Mapped[int]
    questions_per_attempt: Mapped[int]
    certificate_validity_months: Mapped[int]
    estimated_minutes: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    published: Mapped[bool] = mapped_column(default=True)
    # Attempts allowed per completion cycle (None: unlimited) and the wait after a failed attempt.
    max_attempts: Mapped[int | None]
    attempt_wait_minutes: Mapped[int] = mapped_column(default=0)
    # Files versus the browser: see Question and docs/authoring.md.
    synced_hash: Mapped[str | None] = mapped_column(String(64))
    browser_edited_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    modules: Mapped[list["TrainingModule"]] = relationship(
        back_populates="course",
        order_by="TrainingModule.position",
        primaryjoin="and_(Course.id == TrainingModule.course_id, TrainingModule.retired.is_(False))",
        viewonly=True,
    )


class TrainingModule(CreatedAtMixin, db.Model):
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(default=False)
    synced_hash: Mapped[str | None] = mapped_column(String(64))
    browser_edited_at: Mapped[datetime | None]

    course: Mapped[Course] = relationship(back_populates="modules")


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


class AttemptAllowance(db.Model):
    """Extra quiz attempts granted to one learner for one cycle of a course. Append-only.

    `idempotency_key` is the one-time key of the form that granted it (unique): the same form sent
    twice (a double-click, a resubmitted POST) finds this row instead of granting again. Empty for
    grants from before the key existed.
    """

    __table_args__ = (CheckConstraint("extra_attempts BETWEEN 1 AND 10", name="extra_attempts_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    cycle: Mapped[int]
    extra_attempts: Mapped[int]
    reason: Mapped[str] = mapped_column(String(300), default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
