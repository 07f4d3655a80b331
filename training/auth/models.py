"""People, departments and the server-side record of each signed-in session."""

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.db import CreatedAtMixin, utcnow
from training.extensions import db

ROLES = ("staff", "manager", "hr", "author", "admin")


class Department(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class User(UserMixin, CreatedAtMixin, db.Model):
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="staff")
    job_title: Mapped[str] = mapped_column(String(120), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # HR record: the organisation's own employee number, the hire date that due dates count from,
    # and the manager who receives the department digest.
    employee_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    hire_date: Mapped[date | None]
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")
    manager: Mapped["User | None"] = relationship(remote_side="User.id", foreign_keys=[manager_id])

    # Set by the user loader: the server-side session this request belongs to.
    session_token = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        """Flask-Login keeps this in the cookie: the session token, never the user id alone."""
        return self.session_token


class UserSession(CreatedAtMixin, db.Model):
    """One sign-in. The cookie holds a random token; only its SHA-256 is stored here.

    Signing out or deactivating the account ends the row, so a copied cookie stops working.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


# The people lists show active people ordered by name: this index serves the order without a sort.
Index(
    "ix_user_active_name",
    func.lower(User.name),
    User.id,
    sqlite_where=User.active.is_(True),
    postgresql_where=User.active.is_(True),
)
