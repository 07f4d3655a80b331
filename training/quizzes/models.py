"""Quiz attempts, the questions each attempt drew, the record of every answer, and extra attempts HR grants."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.content.models import Course, QuestionVersion
from training.db import utcnow
from training.extensions import db


class QuizAttempt(db.Model):
    """One sitting of a course quiz. Submitting is a conditional update, so it happens once."""

    __table_args__ = (
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="score_percent"),
        CheckConstraint(
            "(submitted_at IS NULL AND score IS NULL AND passed IS NULL)"
            " OR (submitted_at IS NOT NULL AND score IS NOT NULL AND passed IS NOT NULL)",
            name="graded_when_submitted",
        ),
        # At most one open attempt per learner and course, whatever the timing of requests.
        Index(
            "uq_quiz_attempt_open",
            "user_id",
            "course_id",
            unique=True,
            sqlite_where=text("submitted_at IS NULL"),
            postgresql_where=text("submitted_at IS NULL"),
        ),
        # A person's attempts newest first, a page at a time (the transcript pages).
        Index("ix_quiz_attempt_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    course_version: Mapped[int]
    cycle: Mapped[int] = mapped_column(default=0)
    pass_mark: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    score: Mapped[int | None]
    passed: Mapped[bool | None]

    course: Mapped[Course] = relationship(lazy="joined")
    questions: Mapped[list["AttemptQuestion"]] = relationship(
        order_by="AttemptQuestion.position", back_populates="attempt"
    )


class AttemptQuestion(db.Model):
    """Which question version was asked in an attempt, where, and with its options in which order."""

    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        UniqueConstraint("attempt_id", "question_version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempt.id"), index=True)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    position: Mapped[int]
    option_order: Mapped[list] = mapped_column(JSON)

    attempt: Mapped[QuizAttempt] = relationship(back_populates="questions")
    question_version: Mapped[QuestionVersion] = relationship()
    answer: Mapped["AttemptAnswer | None"] = relationship(back_populates="attempt_question")


class AttemptAnswer(db.Model):
    """What the learner chose for one question; at most one per asked question, never updated."""

    __table_args__ = (UniqueConstraint("attempt_question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_question_id: Mapped[int] = mapped_column(ForeignKey("attempt_question.id"))
    selected_option_ids: Mapped[list] = mapped_column(JSON)
    correct: Mapped[bool]
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt_question: Mapped[AttemptQuestion] = relationship(back_populates="answer")


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
