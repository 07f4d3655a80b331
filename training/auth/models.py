"""People, departments, the server-side record of each signed-in session, password resets and
the second factor (TOTP) with its recovery codes."""

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from training.db import CreatedAtMixin, create_triggers_with, utcnow
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
    # SCIM provisioning: the identity provider's own id for the person, and when it deleted them
    # (they are deactivated and answered as gone over SCIM; their record and history stay).
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    deprovisioned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime | None]
    # Two-step sign-in: the TOTP secret encrypted with a key derived from SECRET_KEY, when it was
    # confirmed, and the last time step accepted (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    department: Mapped[Department | None] = relationship(lazy="joined")
    manager: Mapped["User | None"] = relationship(remote_side="User.id", foreign_keys=[manager_id])

    # Set by the user loader: the server-side session this request belongs to (its cookie token
    # and its UserSession row), and `active` as last read or written in this request.
    session_token = None
    current_session = None
    _active_seen = None

    @validates("active")
    def _note_active(self, _key, value):
        self._active_seen = value
        return value

    @property
    def is_active(self) -> bool:
        """After a commit has expired the row, the value last read or written, without reading it again:
        Flask-Login asks on every `is_authenticated`, after-request hooks included."""
        if "active" in self.__dict__ or self._active_seen is None:
            return self.active
        return self._active_seen

    def get_id(self) -> str | None:
        """Flask-Login keeps this in the cookie: the session token, never the user id alone."""
        return self.session_token


class PersonWord(db.Model):
    """A word a person is found by (`auth/words.py`: folded, from their name, email and employee id), one row
    per word and person, so that a search reads a range of the primary key's index instead of every name.

    Written by `auth/search.py` in the transaction that changes the person: triggers on `user` note who changed
    (`PersonWordPending`), whatever wrote them (the ORM or the bulk statements of the staff import, the HR
    feed, SCIM), and the session's commit hook rewrites their words. `flask compliance reconcile` checks them.
    """

    # "C" on PostgreSQL: a prefix range (`word >= 'pat' AND word < 'pau'`) holds exactly the words starting
    # with it, whatever the database's collation.
    word: Mapped[str] = mapped_column(
        String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True)


class PersonWordPending(db.Model):
    """People whose name, email or employee id changed since their words were written (see `PersonWord`)."""

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


# The same statements run in the migration that made `person_word`; these cover schemas made by create_all.
_NOTE_PENDING_SQLITE = "INSERT OR IGNORE INTO person_word_pending (user_id) VALUES (NEW.id)"
_SEARCHED_CHANGED = (
    "OLD.name {differs} NEW.name OR OLD.email {differs} NEW.email OR OLD.employee_id {differs} NEW.employee_id"
)
SQLITE_WORD_TRIGGERS = (
    f'CREATE TRIGGER person_word_insert AFTER INSERT ON "user" BEGIN {_NOTE_PENDING_SQLITE}; END',
    'CREATE TRIGGER person_word_update AFTER UPDATE OF name, email, employee_id ON "user" '
    f"WHEN {_SEARCHED_CHANGED.format(differs='IS NOT')} BEGIN {_NOTE_PENDING_SQLITE}; END",
)
POSTGRESQL_WORD_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION person_word_note_pending() RETURNS trigger AS $$\n"
    "BEGIN\n"
    "    INSERT INTO person_word_pending (user_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;\n"
    "    RETURN NULL;\n"
    "END;\n"
    "$$ LANGUAGE plpgsql",
    'CREATE TRIGGER person_word_insert AFTER INSERT ON "user" FOR EACH ROW EXECUTE FUNCTION person_word_note_pending()',
    'CREATE TRIGGER person_word_update AFTER UPDATE OF name, email, employee_id ON "user" FOR EACH ROW '
    f"WHEN ({_SEARCHED_CHANGED.format(differs='IS DISTINCT FROM')}) EXECUTE FUNCTION person_word_note_pending()",
)

create_triggers_with(db.metadata, SQLITE_WORD_TRIGGERS, POSTGRESQL_WORD_TRIGGERS, function="person_word_note_pending")


SESSION_END_REASONS = ("signed_out", "idle", "expired", "revoked", "password_changed", "deactivated", "upgrade")


class UserSession(CreatedAtMixin, db.Model):
    """One sign-in. The cookie holds a random token; only its SHA-256 is stored here.

    Signing out, deactivating the account or a password change ends the row, so a copied cookie
    stops working. `expires_at` is the absolute end (12 hours, or the remember-me days); the idle
    timeout counts from `last_seen_at`.
    """

    __table_args__ = (CheckConstraint(f"ended_reason IN {('', *SESSION_END_REASONS)!r}", name="ended_reason_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str] = mapped_column(String(20), default="")
    expires_at: Mapped[datetime]
    remember: Mapped[bool] = mapped_column(default=False)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    # How the person proved who they are: "password" (with or without our second step), or the
    # single sign-on protocol ("oidc", "saml") whose identity provider vouched for them.
    sign_in_method: Mapped[str] = mapped_column(String(10), default="password", server_default="password")

    user: Mapped[User] = relationship()


class PasswordReset(CreatedAtMixin, db.Model):
    """An emailed reset link: only the token's SHA-256 is kept; usable once, until `expires_at`."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    ip_address: Mapped[str] = mapped_column(String(64), default="")


class RecoveryCode(CreatedAtMixin, db.Model):
    """A one-time code for signing in without the authenticator app; stored as a SHA-256 digest."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]


# The people lists show active people ordered by name: this index serves the order without a sort.
Index(
    "ix_user_active_name",
    func.lower(User.name),
    User.id,
    sqlite_where=User.active.is_(True),
    postgresql_where=User.active.is_(True),
)
# A department's people by name (the people list filtered by department): the same order within one department.
Index(
    "ix_user_active_department_name",
    User.department_id,
    func.lower(User.name),
    User.id,
    sqlite_where=User.active.is_(True),
    postgresql_where=User.active.is_(True),
)
