"""HR's requirements, and the obligations derived from them for each active person.

A `Requirement` is a rule HR writes ("everyone in Pharmacy completes Patient confidentiality within
30 days of hire, again every 12 months"). An `Obligation` is what the rules mean for one person and
one course or policy: a due date, the date the counting completion is valid until, and whether they
have started. Obligations are derived data, rebuilt from the rules and the records whenever either
changes (`compliance.services.refresh_obligations`); the status itself is never stored, because it
depends on today's date (see `compliance.rules`).
"""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.auth.models import Department, User
from training.courses.models import Course
from training.db import CreatedAtMixin, utcnow
from training.extensions import db

ONE_ITEM = "(course_id IS NULL) <> (policy_id IS NULL)"


class Requirement(CreatedAtMixin, db.Model):
    """Who must complete a course (or attest to a policy), within how many days, and how often again.

    An empty department and job title means everyone. Retired rules are kept for the record.
    """

    __table_args__ = (
        CheckConstraint(ONE_ITEM, name="one_item"),
        CheckConstraint("due_within_days BETWEEN 0 AND 3650", name="due_within_range"),
        CheckConstraint("recertify_months IS NULL OR recertify_months BETWEEN 1 AND 120", name="recertify_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    job_title: Mapped[str] = mapped_column(String(120), default="")
    due_within_days: Mapped[int] = mapped_column(default=30)
    recertify_months: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    retired_at: Mapped[datetime | None]
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    course: Mapped[Course | None] = relationship()
    policy: Mapped["Policy | None"] = relationship()
    department: Mapped[Department | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Obligation(db.Model):
    """One active person's obligation for one required course or policy (derived; see module docstring).

    `completed_on` is the day of the completion or attestation that counts for the requirement (None
    when there is none, or a material policy change superseded it); `valid_until` is the last day it
    counts (None: no expiry). `due_on` is the day by which the item must be done (again).
    `department_id` is copied from the person so that the dashboard aggregates one table.
    """

    __table_args__ = (
        CheckConstraint(ONE_ITEM, name="one_item"),
        UniqueConstraint("user_id", "course_id"),
        UniqueConstraint("user_id", "policy_id"),
        Index("ix_obligation_department_due", "department_id", "due_on"),
        Index("ix_obligation_department_user", "department_id", "user_id"),
        Index("ix_obligation_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), index=True)
    due_on: Mapped[date]
    completed_on: Mapped[date | None]
    valid_until: Mapped[date | None]
    started: Mapped[bool] = mapped_column(default=False)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Policy(CreatedAtMixin, db.Model):
    """An organisation policy staff must read and attest to; its text lives in versions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    retired_at: Mapped[datetime | None]

    versions: Mapped[list["PolicyVersion"]] = relationship(
        order_by="PolicyVersion.version", back_populates="policy", viewonly=True
    )
    courses: Mapped[list[Course]] = relationship(secondary="policy_course", viewonly=True)


class PolicyVersion(db.Model):
    """A published, immutable text of a policy. A material change asks everyone to attest again and
    to retake the linked courses (45 CFR 164.530(b)(2)(i)(C))."""

    __table_args__ = (
        UniqueConstraint("policy_id", "version"),
        CheckConstraint("min_reading_seconds BETWEEN 0 AND 3600", name="reading_time_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"), index=True)
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    change_summary: Mapped[str] = mapped_column(Text, default="")
    material_change: Mapped[bool] = mapped_column(default=False)
    min_reading_seconds: Mapped[int] = mapped_column(default=60)
    statement: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    policy: Mapped[Policy] = relationship(back_populates="versions")


class PolicyCourse(db.Model):
    """A course that teaches a policy: a material change to the policy means retaking it."""

    __table_args__ = (UniqueConstraint("policy_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)


class PolicyReading(db.Model):
    """When a person first opened a policy version: the minimum reading time counts from here."""

    __table_args__ = (UniqueConstraint("user_id", "policy_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attestation(db.Model):
    """Append-only proof that a person read a policy version and agreed to follow it."""

    __table_args__ = (UniqueConstraint("user_id", "policy_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"), index=True)
    statement: Mapped[str] = mapped_column(String(500))
    attested_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(64), default="")

    policy_version: Mapped[PolicyVersion] = relationship()


class Reminder(db.Model):
    """A reminder email sent (or printed) to a person or a manager's digest; one per kind and day."""

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "sent_on"),
        CheckConstraint("kind IN ('staff', 'manager')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    sent_on: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    transport: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    items: Mapped[list] = mapped_column(JSON, default=list)


class ApiToken(CreatedAtMixin, db.Model):
    """A bearer token for HR systems. Only its SHA-256 is stored; the token is shown once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
