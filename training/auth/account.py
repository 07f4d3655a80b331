"""A person's own account: their sign-in sessions (list, end) and changing their password.

Ending sessions and changing the password ask for the password again (ASVS 7.5.1, 7.5.2): someone
holding a stolen session cookie cannot use it to shut the owner out or take the account over.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from training.audit.services import record_event
from training.auth import sessions
from training.auth.devices import device_summary
from training.auth.models import User, UserSession
from training.auth.passwords import hash_password, verify_password
from training.auth.users import check_password_rules
from training.db import utcnow
from training.errors import DomainError, FieldRefused, NotFound
from training.extensions import db

RECENTLY_ENDED = 10

END_REASON_LABELS = {
    "signed_out": "Signed out",
    "idle": "No activity for too long",
    "expired": "Reached its time limit",
    "revoked": "Ended from another session or by an administrator",
    "password_changed": "Password changed",
    "deactivated": "Account deactivated",
    "upgrade": "Replaced by a new sign-in",
}


@dataclass(frozen=True)
class SessionRow:
    """One session as the account pages show it: plain values, no ORM object."""

    id: int
    device: str
    ip_address: str
    signed_in_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    remember: bool
    current: bool = False
    ended_at: datetime | None = None
    ended_reason: str = ""

    @property
    def ended_because(self) -> str:
        return END_REASON_LABELS.get(self.ended_reason, "Ended")


@dataclass(frozen=True)
class SessionsOverview:
    live: list[SessionRow]  # the current session first, then the most recently active
    ended: list[SessionRow]  # the last RECENTLY_ENDED, newest first


def _row(record: UserSession, *, current: bool = False, ended_at=None, ended_reason: str = "") -> SessionRow:
    return SessionRow(
        id=record.id,
        device=device_summary(record.user_agent),
        ip_address=record.ip_address,
        signed_in_at=record.created_at,
        last_seen_at=record.last_seen_at,
        expires_at=record.expires_at,
        remember=record.remember,
        current=current,
        ended_at=ended_at or record.ended_at,
        ended_reason=ended_reason or record.ended_reason,
    )


def sessions_overview(user: User, current_id: int, now: datetime | None = None) -> SessionsOverview:
    """Every live session of `user` and the recently ended ones, with why they ended.

    Reads only: a session that lapsed unseen is shown as ended (idle or expired) without writing;
    sign-in marks such sessions in the database (sessions.start_session).
    """
    now = now or utcnow()
    open_records = db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ).scalars()
    live, lapsed = [], []
    for record in open_records:
        ended = sessions.session_lapse(record, now)
        if ended is None or record.id == current_id:
            live.append(_row(record, current=record.id == current_id))
        else:
            lapsed.append(_row(record, ended_at=ended.at, ended_reason=ended.reason))
    ended_records = db.session.execute(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_not(None))
        .order_by(UserSession.ended_at.desc(), UserSession.id.desc())
        .limit(RECENTLY_ENDED)
    ).scalars()
    ended_rows = lapsed + [_row(record) for record in ended_records]
    live.sort(key=lambda row: (not row.current, -row.last_seen_at.timestamp()))
    ended_rows.sort(key=lambda row: row.ended_at, reverse=True)
    return SessionsOverview(live=live, ended=ended_rows[:RECENTLY_ENDED])


def _confirm_password(user: User, password: str, field: str = "password") -> None:
    if not verify_password(user.password_hash, password):
        raise FieldRefused(field, "That is not your password.")


def end_own_session(
    user: User, session_id: int, password: str, *, current_id: int, ip_address: str = ""
) -> tuple[str, bool]:
    """End one of the user's other sessions after checking their password.

    Returns its device summary and whether it was still live. Someone else's session is "no such
    session" (404), exactly as an id that does not exist.
    """
    record = db.session.execute(
        select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound("There is no such session.")
    if record.id == current_id:
        raise DomainError("This is the session you are using now. To end it, sign out.", code="current_session")
    _confirm_password(user, password)
    device = device_summary(record.user_agent)
    if record.ended_at is not None:
        return device, False
    now = utcnow()
    lapse = sessions.session_lapse(record, now)
    if lapse is not None:
        record.ended_at, record.ended_reason = lapse.at, lapse.reason
    else:
        record.ended_at, record.ended_reason = now, "revoked"
        _audit_revoked(user, [record], "one", ip_address)
    db.session.commit()
    return device, lapse is None


def end_other_sessions(user: User, password: str, *, current_id: int, ip_address: str = "") -> int:
    """End every live session of the user but the current one, after checking their password.

    Sessions that had already lapsed are marked with their own reason (idle, expired) and not
    counted. Returns how many were ended.
    """
    _confirm_password(user, password)
    now = utcnow()
    records = db.session.execute(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None), UserSession.id != current_id)
        .order_by(UserSession.id)
    ).scalars()
    ended = []
    for record in records:
        lapse = sessions.session_lapse(record, now)
        if lapse is not None:
            record.ended_at, record.ended_reason = lapse.at, lapse.reason
        else:
            record.ended_at, record.ended_reason = now, "revoked"
            ended.append(record)
    if ended:
        _audit_revoked(user, ended, "others", ip_address)
    db.session.commit()
    return len(ended)


def _audit_revoked(user: User, records: list[UserSession], scope: str, ip_address: str) -> None:
    record_event(
        "session.revoked",
        actor_id=user.id,
        subject_type="user",
        subject_id=str(user.id),
        details={
            "scope": scope,
            "count": len(records),
            "sessions": [
                {"id": r.id, "device": device_summary(r.user_agent), "ip_address": r.ip_address} for r in records
            ],
        },
        ip_address=ip_address,
    )


def change_password(user: User, current: str, new: str, *, keep_token: str, ip_address: str = "") -> int:
    """Check the current password and the rules, then set the new one and end every other session
    (reason "password_changed"); the session in use stays. Returns how many others were ended."""
    _confirm_password(user, current, "current_password")
    try:
        check_password_rules(new, email=user.email)
    except DomainError as refused:
        raise FieldRefused("new_password", refused.message) from refused
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    ended = sessions.end_all_sessions(user.id, reason="password_changed", keep_token=keep_token)
    record_event(
        "password.changed",
        actor_id=user.id,
        subject_type="user",
        subject_id=str(user.id),
        details={"other_sessions_ended": ended},
        ip_address=ip_address,
    )
    db.session.commit()
    return ended
