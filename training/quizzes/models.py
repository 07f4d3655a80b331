"""Question banks (versioned), quiz attempts, and the record of every answer."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training import question_types
from training.db import CreatedAtMixin, utcnow
from training.extensions import db

QUESTION_STATUSES = ("draft", "published", "retired")
VERSION_SOURCES = ("file", "browser", "import")


class Question(CreatedAtMixin, db.Model):
    """A stable question identity; what learners see lives in its versions.

    Only published questions are drawn into new attempts. `synced_hash` is the content hash of the
    file version the last content sync saw; `browser_edited_at` is set by any change made in the
    browser and cleared when the files catch up, so a sync never overwrites an author's edit.
    """

    __table_args__ = (CheckConstraint(f"status IN {QUESTION_STATUSES!r}", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="published")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_version.id", use_alter=True, name="fk_question_current_version")
    )
    synced_hash: Mapped[str | None] = mapped_column(String(64))
    browser_edited_at: Mapped[datetime | None]

    current_version: Mapped["QuestionVersion | None"] = relationship(foreign_keys=[current_version_id])


class QuestionVersion(CreatedAtMixin, db.Model):
    """An immutable snapshot of a question; attempts point here, so edits never change old grades."""

    __table_args__ = (
        UniqueConstraint("question_id", "version"),
        CheckConstraint(f"type IN {question_types.names()!r}", name="type_known"),
        CheckConstraint(f"source IN {VERSION_SOURCES!r}", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    version: Mapped[int]
    type: Mapped[str] = mapped_column(String(20))
    scenario: Mapped[str] = mapped_column(Text, default="")
    prompt: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    references: Mapped[list] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20), default="file")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    change_note: Mapped[str] = mapped_column(String(300), default="")

    question: Mapped[Question] = relationship(foreign_keys=[question_id])
    created_by: Mapped["User | None"] = relationship()  # noqa: F821 - resolved by name
    options: Mapped[list["QuestionOption"]] = relationship(
        order_by="QuestionOption.position", back_populates="question_version"
    )


class QuestionOption(db.Model):
    __table_args__ = (UniqueConstraint("question_version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool]
    feedback: Mapped[str] = mapped_column(Text)

    question_version: Mapped[QuestionVersion] = relationship(back_populates="options")


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

    course: Mapped["Course"] = relationship(lazy="joined")  # noqa: F821 - resolved by name
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
