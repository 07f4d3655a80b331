"""The record of each reminder sent, one per person, kind and day."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from training.db import utcnow
from training.extensions import db


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
