"""Accounts and sign-in sessions: used by the sign-in routes and the `flask users` commands."""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select, update

from training.audit.services import record_event
from training.auth import password_rules
from training.auth.models import ROLES, Department, User, UserSession
from training.auth.passwords import hash_password, needs_rehash, verify_password
from training.compliance.services import refresh_obligations
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db

MIN_PASSWORD_LENGTH = password_rules.MIN_LENGTH
MAX_PASSWORD_LENGTH = password_rules.MAX_LENGTH


class PasswordRejected(DomainError):
    """A new password that breaks a rule; the message says which, for the person choosing it."""

    status = 422
    code = "password_rejected"


_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
NOT_AN_EMAIL = "(not an email address)"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_for_audit(email: str) -> str:
    """The submitted email, normalised, for an audit record; text that is not shaped like an email
    address (a password typed into the email field, say) is never kept (ASVS 16.2.5)."""
    email = normalise_email(email)[:254]
    return email if _EMAIL_SHAPE.fullmatch(email) else NOT_AN_EMAIL


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(email: str, password: str, *, ip_address: str = "") -> User | None:
    """The active user with this email and password, or None (whatever was wrong).

    A failure is audited with its reason (unknown_account, wrong_password, inactive); the caller
    shows the same answer for every reason.
    """
    email = normalise_email(email)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password):
        _sign_in_failed(email, user, "wrong_password" if user else "unknown_account", ip_address)
        return None
    if not user.active:
        _sign_in_failed(email, user, "inactive", ip_address)
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def _sign_in_failed(email: str, user: User | None, reason: str, ip_address: str) -> None:
    record_event(
        "user.sign_in_failed",
        actor_id=None,
        subject_type="user" if user else "",
        subject_id=str(user.id) if user else "",
        details={"email": email_for_audit(email), "reason": reason},
        ip_address=ip_address,
    )
    db.session.commit()


def record_signed_in(user: User, *, two_step: bool, ip_address: str = "") -> None:
    """Audit a completed sign-in (ASVS 16.3.1), saying whether it took a second step."""
    record_event(
        "user.signed_in",
        actor_id=user.id,
        subject_type="user",
        subject_id=str(user.id),
        details={"two_step": two_step},
        ip_address=ip_address,
    )
    db.session.commit()


def record_refused(action: str, email: str, *, limit: str, ip_address: str = "") -> None:
    """Audit a request that a rate limit refused (ASVS 16.3.3): for which email, by which limit, from where."""
    email = normalise_email(email)[:254]
    user_id = db.session.execute(select(User.id).where(User.email == email)).scalar_one_or_none()
    record_event(
        action,
        actor_id=None,
        subject_type="user" if user_id else "",
        subject_id=str(user_id) if user_id else "",
        details={"email": email_for_audit(email), "limit": limit},
        ip_address=ip_address,
    )
    db.session.commit()


def session_lifetime(remember: bool) -> timedelta:
    """The absolute lifetime of a new session: 12 hours, or the remember-me days."""
    if remember and current_app.config["REMEMBER_ME_DAYS"]:
        return timedelta(days=current_app.config["REMEMBER_ME_DAYS"])
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def start_session(user: User, *, user_agent: str = "", ip_address: str = "", remember: bool = False) -> str:
    """Record a new sign-in and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    remember = remember and bool(current_app.config["REMEMBER_ME_DAYS"])
    db.session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            user_agent=user_agent[:255],
            ip_address=ip_address[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + session_lifetime(remember),
            remember=remember,
        )
    )
    db.session.commit()
    user.session_token = token
    return token


def user_for_session(token: str) -> User | None:
    """The user of a live session token, or None if it was ended or the account deactivated."""
    row = db.session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _token_hash(token), UserSession.ended_at.is_(None), User.active.is_(True))
    ).first()
    if row is None:
        return None
    user = row.User
    user.session_token = token
    return user


def end_session(token: str | None, now: datetime | None = None) -> None:
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _token_hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
    db.session.commit()


def end_all_sessions(user_id: int, now: datetime | None = None, *, reason: str = "") -> int:
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), ended_reason=reason)
    )
    return result.rowcount


def check_password_rules(password: str, *, email: str | None = None) -> None:
    """Raise PasswordRejected unless `password` meets the rules in training.auth.password_rules.

    With the account's `email`, a password containing it is refused too, and one containing the
    organisation's name (ORGANISATION_NAME) always is.
    """
    words = (current_app.config["ORGANISATION_NAME"],)
    problem = password_rules.password_problem(password, email=email or "", context_words=words)
    if problem:
        raise PasswordRejected(problem)


def get_or_create_department(name: str) -> Department:
    name = name.strip()
    department = db.session.execute(select(Department).where(Department.name == name)).scalar_one_or_none()
    if department is None:
        department = Department(name=name)
        db.session.add(department)
        db.session.flush()
    return department


def create_user(
    email: str,
    name: str,
    password: str,
    *,
    role: str = "staff",
    department: str | None = None,
    job_title: str = "",
    password_hash: str | None = None,
    commit: bool = True,
) -> User:
    """Create an account after checking email, role and password rules."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"Email is not valid: {exc}") from exc
    if role not in ROLES:
        raise DomainError(f"Role must be one of: {', '.join(ROLES)}.")
    if not name.strip():
        raise DomainError("Name is required.")
    if password_hash is None:
        check_password_rules(password, email=email)
        password_hash = hash_password(password)
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=password_hash,
        role=role,
        job_title=job_title.strip(),
        department=get_or_create_department(department) if department else None,
    )
    db.session.add(user)
    db.session.flush()
    refresh_obligations([user.id])
    if commit:
        db.session.commit()
    return user


def user_by_email(email: str) -> User:
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user with email {email}.")
    return user


def set_password(email: str, password: str) -> User:
    """Give an account a new password; its open sessions end, so old cookies stop working."""
    user = user_by_email(email)
    check_password_rules(password, email=user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user.id, reason="password_changed")
    db.session.commit()
    return user


def set_active(email: str, active: bool) -> User:
    """Activate or deactivate an account; deactivating ends every open session at once."""
    user = user_by_email(email)
    user.active = active
    if not active:
        end_all_sessions(user.id)
    db.session.commit()
    return user
