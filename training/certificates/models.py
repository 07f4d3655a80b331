"""Certificates, the files rendered for them and their revocations.

A certificate copies what it certifies (name, course title and version, dates, score) at the moment
of issue, so later edits to a person or a course never change a certificate already handed out.
All three tables only ever gain rows: a re-rendered file is a new `CertificateFile`, a revocation a
new `CertificateRevocation`.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.auth.models import User
from training.completions.models import Completion
from training.content.models import Course
from training.extensions import db


class Certificate(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(16), unique=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completion.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(200))
    course_version: Mapped[int]
    score: Mapped[int]
    completed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    issued_at: Mapped[datetime] = mapped_column(index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    completion: Mapped[Completion] = relationship()
    files: Mapped[list["CertificateFile"]] = relationship(
        back_populates="certificate", order_by="CertificateFile.id", lazy="selectin"
    )
    revocation: Mapped["CertificateRevocation | None"] = relationship(back_populates="certificate", lazy="selectin")

    @property
    def latest_file(self) -> "CertificateFile | None":
        return self.files[-1] if self.files else None

    @property
    def revoked_at(self) -> datetime | None:
        return self.revocation.revoked_at if self.revocation else None


class CertificateFile(db.Model):
    """One rendering of a certificate: its SHA-256 is what a holder's file is checked against."""

    __table_args__ = (
        UniqueConstraint("certificate_id", "sha256"),
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    rendered_at: Mapped[datetime]

    certificate: Mapped[Certificate] = relationship(back_populates="files")


class CertificateRevocation(db.Model):
    __table_args__ = (CheckConstraint("length(reason) > 0", name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), unique=True)
    revoked_at: Mapped[datetime]
    revoked_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text)

    certificate: Mapped[Certificate] = relationship(back_populates="revocation")
    revoked_by: Mapped[User] = relationship()
