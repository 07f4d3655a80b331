"""Organisation policies, their published versions, the courses that teach them, and who read and attested to each."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.content.models import Course
from training.db import CreatedAtMixin, utcnow
from training.extensions import db


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
