"""Accounts and sign-in sessions: used by the sign-in routes and the `flask users` commands."""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g
from sqlalchemy import and_, func, or_, select, update

from training import events
from training.audit.services import record_event
from training.auth import password_rules, session_rules
from training.auth.models import ROLES, SESSION_END_REASONS, Department, User, UserSession
from training.auth.passwords import hash_password, needs_rehash, verify_password
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db
from training.visible_text import text_problem, tidy

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


def refuse_password_sign_in(user: User, *, ip_address: str = "") -> None:
    """The password was right, but PASSWORD_SIGN_IN=admins-only keeps this person to single sign-on."""
    _sign_in_failed(user.email, user, "password_sign_in_off", ip_address)


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


def record_signed_in(
    user: User, *, two_step: bool, ip_address: str = "", method: str = "password", authn_context: str = ""
) -> None:
    """Audit a completed sign-in (ASVS 16.3.1): whether it took our second step, and for a single
    sign-on how the identity provider says it authenticated the person (OIDC amr/acr, SAML
    AuthnContextClassRef), since its own MFA stands in for ours."""
    details: dict = {"two_step": two_step}
    if method != "password":
        details |= {"method": method, "authn_context": authn_context[:200]}
    record_event(
        "user.signed_in",
        actor_id=user.id,
        subject_type="user",
        subject_id=str(user.id),
        details=details,
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


def idle_timeout() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def session_lapse(record: UserSession, now: datetime) -> session_rules.Lapse | None:
    """Whether (and when, and why) a session has ended by itself: idle or past its absolute end."""
    return session_rules.lapse(
        last_seen_at=record.last_seen_at,
        expires_at=record.expires_at,
        remember=record.remember,
        now=now,
        idle=idle_timeout(),
    )


def _live(now: datetime):
    """SQL for "this session is live at `now`": not ended, before its end, not idle (unless remembered)."""
    return and_(
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
        or_(UserSession.remember.is_(True), UserSession.last_seen_at >= now - idle_timeout()),
    )


def live_session_count(user_id: int, now: datetime | None = None) -> int:
    """How many sessions of an account are live now, counted by the database."""
    now = now or utcnow()
    return db.session.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id, _live(now))
    )


def sign_out_everywhere(email: str) -> int:
    """End every open session of one account (reason "revoked"), audited; returns how many were live."""
    ended = revoke_all_sessions(user_by_email(email).id, actor_id=None)
    db.session.commit()
    return ended


def revoke_all_sessions(user_id: int, *, actor_id: int | None, ip_address: str = "") -> int:
    """End every open session of an account (reason "revoked") and audit it; the caller commits.

    Returns how many live sessions were ended.
    """
    ended = end_all_sessions(user_id, reason="revoked")
    record_event(
        "session.revoked_all",
        actor_id=actor_id,
        subject_type="user",
        subject_id=str(user_id),
        details={"sessions_ended": ended},
        ip_address=ip_address,
    )
    return ended


def end_everyones_sessions(now: datetime | None = None) -> int:
    """Sign everybody out (reason "revoked"), audited; returns how many live sessions were ended.

    Sessions that lapsed unseen are left for sign-in to mark with their own reason.
    """
    now = now or utcnow()
    result = db.session.execute(
        update(UserSession).where(_live(now)).values(ended_at=now, ended_reason="revoked"),
        execution_options={"synchronize_session": False},
    )
    record_event("session.revoked_all", actor_id=None, details={"everyone": True, "sessions_ended": result.rowcount})
    db.session.commit()
    return result.rowcount


def start_session(
    user: User, *, user_agent: str = "", ip_address: str = "", remember: bool = False, method: str = "password"
) -> str:
    """Record a new sign-in and return the token for the cookie.

    The account's sessions that lapsed unseen (closed browsers, other devices) are marked ended
    first, so the record says when and why each one ended.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    remember = remember and bool(current_app.config["REMEMBER_ME_DAYS"])
    _end_lapsed_sessions(user.id, now)
    record = UserSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        user_agent=user_agent[:255],
        ip_address=ip_address[:64],
        created_at=now,
        last_seen_at=now,
        expires_at=now + session_lifetime(remember),
        remember=remember,
        sign_in_method=method,
    )
    db.session.add(record)
    db.session.commit()
    user.session_token = token
    user.current_session = record
    return token


def _end_lapsed_sessions(user_id: int, now: datetime) -> None:
    open_sessions = db.session.execute(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    ).scalars()
    for record in open_sessions:
        ended = session_lapse(record, now)
        if ended is not None:
            record.ended_at, record.ended_reason = ended.at, ended.reason


def user_for_session(token: str) -> User | None:
    """The Flask-Login user loader: the user of a live session token, or None.

    A session past its idle timeout or absolute end is ended here (reason "idle" or "expired") and
    the message for the sign-in page is left in `g.session_end_message`. `last_seen_at` is written
    at most once a minute (session_rules.TOUCH_INTERVAL). This commits: web.py loads the user at
    the start of each request, before a view has changed anything.
    """
    row = db.session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _token_hash(token), UserSession.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    record, user = row.UserSession, row.User
    now = utcnow()
    if not user.active:
        _end_record(record, now, "deactivated")
        return None
    ended = session_lapse(record, now)
    if ended is not None:
        _end_record(record, ended.at, ended.reason)
        g.session_end_message = session_end_message(record, ended.reason)
        return None
    if session_rules.needs_touch(record.last_seen_at, now):
        record.last_seen_at = now
        db.session.commit()
    user.session_token = token
    user.current_session = record
    return user


def _end_record(record: UserSession, at: datetime, reason: str) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == record.id, UserSession.ended_at.is_(None))
        .values(ended_at=at, ended_reason=reason)
    )
    db.session.commit()


def session_end_message(record: UserSession, reason: str) -> str:
    if reason == "idle":
        idle = session_rules.duration_words(idle_timeout())
        return f"Your session ended after {idle} without activity. Please sign in again."
    lifetime = session_rules.duration_words(record.expires_at - record.created_at)
    return f"Your session reached its time limit of {lifetime} after signing in. Please sign in again."


def end_session(token: str | None, *, reason: str, now: datetime | None = None) -> None:
    """End one session by its cookie token (sign-out), saying why."""
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _token_hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), ended_reason=_known(reason))
    )
    db.session.commit()


def end_all_sessions(user_id: int, *, reason: str, keep_token: str | None = None, now: datetime | None = None) -> int:
    """End every open session of an account (but `keep_token`'s); the caller commits.

    Sessions that had already lapsed keep their own reason (idle, expired); returns how many live
    sessions were ended.
    """
    now = now or utcnow()
    _end_lapsed_sessions(user_id, now)
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_token:
        query = query.where(UserSession.token_hash != _token_hash(keep_token))
    result = db.session.execute(query.values(ended_at=now, ended_reason=_known(reason)))
    return result.rowcount


def _known(reason: str) -> str:
    if reason not in SESSION_END_REASONS:
        raise ValueError(f"unknown session end reason {reason!r}")
    return reason


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
    """Create an account after checking email, role, password rules and that name, department and job
    title are one line of visible text (a leading byte order mark is dropped)."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"Email is not valid: {exc}") from exc
    if role not in ROLES:
        raise DomainError(f"Role must be one of: {', '.join(ROLES)}.")
    name, job_title, department = tidy(name), tidy(job_title), tidy(department or "")
    if not name:
        raise DomainError("Name is required.")
    _check_visible_text({"Name": name, "Department": department, "Job title": job_title})
    if password_hash is None:
        check_password_rules(password, email=email)
        password_hash = hash_password(password)
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        role=role,
        job_title=job_title,
        department=get_or_create_department(department) if department else None,
    )
    db.session.add(user)
    db.session.flush()
    events.publish(events.person_changed, "auth", user_ids=[user.id])
    if commit:
        db.session.commit()
    return user


def _check_visible_text(values: dict[str, str]) -> None:
    for label, value in values.items():
        problem = text_problem(value)
        if problem is not None:
            raise DomainError(f"{label} contains {problem}. Remove it.")


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
        end_all_sessions(user.id, reason="deactivated")
    db.session.commit()
    return user
