"""Sign-in sessions: starting one, the user of a cookie's token, idle and absolute timeouts, ending one or all.

The cookie holds a random token; only its SHA-256 is stored (`UserSession.token_hash`).
"""

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, g
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import lazyload

from training.audit.services import record_event
from training.auth import session_rules
from training.auth.models import SESSION_END_REASONS, User, UserSession
from training.db import utcnow
from training.extensions import db


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_lifetime(remember: bool) -> timedelta:
    """The absolute lifetime of a new session: 12 hours, or the remember-me days."""
    if remember and current_app.config["REMEMBER_ME_DAYS"]:
        return timedelta(days=current_app.config["REMEMBER_ME_DAYS"])
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def idle_timeout() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


@dataclass(frozen=True)
class SessionRecord:
    """The signed-in request's session as the user loader read it: plain values, not an ORM row, so the
    request's commits cannot expire it and nothing reads it again (the after-request hooks use it)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    remember: bool
    sign_in_method: str


_RECORD_COLUMNS = (
    UserSession.id,
    UserSession.created_at,
    UserSession.last_seen_at,
    UserSession.expires_at,
    UserSession.remember,
    UserSession.sign_in_method,
)


def session_lapse(record: UserSession | SessionRecord, now: datetime) -> session_rules.Lapse | None:
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


@cache
def _session_statement(also):
    """The open session of a token hash with its user (and `also`), built once per process and column.

    The session's columns come as plain values and the user without its department (read when a page asks
    for it): entities and joined columns are most of what loading a row costs, on every request.
    """
    columns = (*_RECORD_COLUMNS, User) if also is None else (*_RECORD_COLUMNS, User, also)
    return (
        select(*columns)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == bindparam("token_hash"), UserSession.ended_at.is_(None))
        .options(lazyload(User.department))
    )


def user_for_session(token: str, also=None, receive=None) -> User | None:
    """The Flask-Login user loader: the user of a live session token, or None.

    `also` is a column of another area's that the request needs anyway, read in the same statement
    (web.py: the content version); `receive` is given its value when the session exists.

    A session past its idle timeout or absolute end is ended here (reason "idle" or "expired") and
    the message for the sign-in page is left in `g.session_end_message`. `last_seen_at` is written
    at most once a minute (session_rules.TOUCH_INTERVAL). This commits: web.py loads the user at
    the start of each request, before a view has changed anything.
    """
    row = db.session.execute(_session_statement(also), {"token_hash": _token_hash(token)}).first()
    if row is None:
        return None
    columns = len(_RECORD_COLUMNS)
    record, user = SessionRecord(*row[:columns]), row[columns]
    if receive is not None:
        receive(row[columns + 1])
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
        db.session.execute(update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now))
        db.session.commit()
        record = replace(record, last_seen_at=now)
    user._active_seen = user.active
    user.session_token = token
    user.current_session = record
    return user


def _end_record(record: SessionRecord, at: datetime, reason: str) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == record.id, UserSession.ended_at.is_(None))
        .values(ended_at=at, ended_reason=reason)
    )
    db.session.commit()


def session_end_message(record: UserSession | SessionRecord, reason: str) -> str:
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


def _known(reason: str) -> str:
    if reason not in SESSION_END_REASONS:
        raise ValueError(f"unknown session end reason {reason!r}")
    return reason
