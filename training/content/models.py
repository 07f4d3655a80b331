"""The published course content: courses, their modules, and versioned scenario questions with their options.

Content files (modules/, quizzes/) and authors in the browser write these tables; nothing about a learner lives here.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training import question_types
from training.db import CreatedAtMixin, utcnow
from training.extensions import db

QUESTION_STATUSES = ("draft", "published", "retired")

VERSION_SOURCES = ("file", "browser", "import")


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


class ContentVersion(db.Model):
    """One row whose token changes in every transaction that writes the catalog (training/content/catalog.py),
    so each process can keep the published content and know, with one column read, when to drop it."""

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
