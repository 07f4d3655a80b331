"""Two-step sign-in (TOTP): enrolment, the second step of sign-in, recovery codes, turning it off
and an admin's reset. Used by training/auth/mfa_routes.py and the staff record page.

The TOTP secret is stored encrypted (training/auth/totp.py: SecretBox); recovery codes only as
SHA-256 digests. A code's time step is remembered so that no code works twice.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from training.audit.models import AuditEvent
from training.audit.services import record_event
from training.auth import totp
from training.auth.models import RecoveryCode, User
from training.auth.passwords import verify_password
from training.auth.sessions import end_all_sessions
from training.db import utcnow
from training.errors import Conflict, FieldRefused, Forbidden, NotFound
from training.extensions import db

# The clock TOTP codes are checked against; tests replace it to step through time.
clock = time.time

# A setup page's secret is confirmed within this time or a new one is made.
SETUP_SECONDS = 15 * 60
# Wrong codes allowed in one pending sign-in before the password must be typed again.
MAX_FAILURES = 5
LOW_RECOVERY_CODES = 3

WRONG_CODE = "That code is not right, or it was already used. Enter the newest code from your authenticator app."
REFUSED_PASSWORD = "That is not your current password."  # noqa: S105 - a message, not a secret
REQUIRED_FOR_ROLE = (
    "Your role requires two-step sign-in, so it cannot be turned off. "
    "If you have lost your phone, ask an admin to reset your two-step sign-in."
)


@dataclass(frozen=True)
class Enrolment:
    """What the setup page shows: the secret as text (in groups of four) and as a QR code."""

    secret_text: str
    uri: str
    qr_data_uri: str
    account: str
    issuer: str


@dataclass(frozen=True)
class Status:
    enabled: bool
    enabled_at: datetime | None
    codes_left: int
    required: bool


@dataclass(frozen=True)
class SecondStep:
    """How a second-step attempt ended. `user` is set when it succeeded."""

    user: User | None = None
    codes_left: int | None = None
    locked: bool = False
    gone: bool = False


# --- who needs it ---------------------------------------------------------------------------------


def is_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def required_of(user: User) -> bool:
    """Whether this person's role must use two-step sign-in (MFA_REQUIRED, MFA_REQUIRED_ROLES)."""
    config = current_app.config
    return bool(config["MFA_REQUIRED"]) and user.role in config["MFA_REQUIRED_ROLES"]


def must_enrol(user: User) -> bool:
    """Signed in with a password only, in a role that requires two-step sign-in: the session is
    limited to setting it up. A single sign-on counts as two steps (the identity provider's own
    MFA, recorded in the sign-in's audit event) unless SSO_TWO_STEP=1."""
    if _signed_in_through_sso(user) and not current_app.config["SSO_RULES"].two_step:
        return False
    return required_of(user) and not is_enabled(user)


def _signed_in_through_sso(user: User) -> bool:
    record = getattr(user, "current_session", None)
    return record is not None and record.sign_in_method != "password"


def status(user: User) -> Status:
    codes_left = _codes_left(user.id) if is_enabled(user) else 0
    return Status(is_enabled(user), user.totp_enabled_at, codes_left, required_of(user))


# --- secrets --------------------------------------------------------------------------------------


def _box() -> totp.SecretBox:
    config = current_app.config
    return totp.SecretBox(config["SECRET_KEY"], config.get("SECRET_KEY_FALLBACKS") or ())


def new_setup() -> tuple[str, str]:
    """A new secret for the setup page, and the same sealed for the Flask session (which the
    browser holds, so it is encrypted there too)."""
    secret = totp.new_secret()
    return secret, _box().encrypt(secret)


def open_setup_token(token: str | None) -> str | None:
    """The secret from the session, or None once it is SETUP_SECONDS old (or was tampered with)."""
    return _box().decrypt(token, ttl=SETUP_SECONDS)


def enrolment(user: User, secret: str) -> Enrolment:
    issuer = current_app.config["ORGANISATION_NAME"]
    uri = totp.provisioning_uri(secret, account=user.email, issuer=issuer)
    qr = segno.make_qr(uri, error="m")
    return Enrolment(totp.grouped(secret), uri, qr.png_data_uri(scale=5, border=4), user.email, issuer)


# --- enrolment and changes ------------------------------------------------------------------------


def enable(user: User, secret: str, code: str, password: str, *, ip_address: str = "") -> list[str]:
    """Turn two-step sign-in on with a secret the person has just added to their app.

    Needs their password (a session left open cannot enrol someone else's phone) and a current
    code (the app really has the secret). Other sessions of the account end: they were opened with
    the password alone. Returns the recovery codes, which are shown once and never stored.
    """
    _check_password(user, password)
    step = totp.matching_step(secret, code, clock())
    if step is None:
        raise FieldRefused("code", WRONG_CODE)
    with _transaction():
        result = db.session.execute(
            update(User)
            .where(User.id == user.id, User.totp_enabled_at.is_(None))
            .values(totp_secret=_box().encrypt(secret), totp_enabled_at=utcnow(), totp_last_step=step)
        )
        if result.rowcount != 1:
            raise Conflict("Two-step sign-in is already on for your account.")
        codes = _replace_recovery_codes(user.id)
        ended = _end_other_sessions(user)
        _audit("mfa.enabled", user, user, {"recovery_codes": len(codes), "other_sessions_ended": ended}, ip_address)
    return codes


def regenerate_recovery_codes(user: User, password: str, *, ip_address: str = "") -> list[str]:
    """New recovery codes; every unused old one stops working."""
    _check_password(user, password)
    if not is_enabled(user):
        raise Conflict("Two-step sign-in is off, so there are no recovery codes to replace.")
    with _transaction():
        codes = _replace_recovery_codes(user.id)
        _audit("mfa.recovery_codes_regenerated", user, user, {"recovery_codes": len(codes)}, ip_address)
    return codes


def disable(user: User, password: str, code: str, *, ip_address: str = "") -> None:
    """Turn two-step sign-in off: needs the password and a current code, and is refused to roles
    that must use it."""
    if required_of(user):
        raise Forbidden(REQUIRED_FOR_ROLE)
    if not is_enabled(user):
        raise Conflict("Two-step sign-in is already off.")
    _check_password(user, password)
    with _transaction():
        if not _use_code(user, code):
            raise FieldRefused("code", WRONG_CODE)
        _switch_off(user.id)
        _audit("mfa.disabled", user, user, {}, ip_address)


def reset(actor: User, user_id: int, *, ip_address: str = "") -> User:
    """An admin turns off someone else's two-step sign-in (a lost phone) and ends their sessions.

    Their next sign-in is by password alone, and a role that requires two-step sign-in must set
    it up again before doing anything else.
    """
    if actor.role != "admin":
        raise Forbidden("Only an admin can reset two-step sign-in.")
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound("There is no such person.")
    if person.id == actor.id:
        raise Forbidden("You cannot reset your own two-step sign-in here. Ask another admin.")
    if not is_enabled(person):
        raise Conflict(f"{person.name} does not have two-step sign-in turned on.")
    with _transaction():
        _switch_off(person.id)
        ended = end_all_sessions(person.id, reason="revoked")
        _audit("mfa.reset", actor, person, {"sessions_ended": ended}, ip_address)
    return person


# --- the second step of sign-in -------------------------------------------------------------------


def pending_user(user_id: int) -> User | None:
    """The user of a pending sign-in, if they may still finish it (active, two-step still on)."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or not is_enabled(user):
        return None
    return user


def verify_code(user_id: int, code: str, *, since: datetime, ip_address: str = "") -> SecondStep:
    """Check a code from the authenticator app for a pending sign-in that started at `since`."""
    user = pending_user(user_id)
    if user is None:
        return SecondStep(gone=True)
    if _failures(user.id, since) >= MAX_FAILURES:
        return SecondStep(locked=True)
    with _transaction():
        if _use_code(user, code):
            _audit("mfa.verified", user, user, {}, ip_address)
            return SecondStep(user=user)
    return _failed(user, "code", since, ip_address)


def verify_recovery_code(user_id: int, text: str, *, since: datetime, ip_address: str = "") -> SecondStep:
    """Use up one recovery code for a pending sign-in; reports how many are left."""
    user = pending_user(user_id)
    if user is None:
        return SecondStep(gone=True)
    if _failures(user.id, since) >= MAX_FAILURES:
        return SecondStep(locked=True)
    canonical = totp.normalise_recovery_code(text)
    with _transaction():
        if canonical is not None and _use_recovery_code(user.id, totp.recovery_code_hash(canonical)):
            left = _codes_left(user.id)
            _audit("mfa.recovery_code_used", user, user, {"codes_left": left}, ip_address)
            return SecondStep(user=user, codes_left=left)
    return _failed(user, "recovery_code", since, ip_address)


def _failed(user: User, method: str, since: datetime, ip_address: str) -> SecondStep:
    with _transaction():
        _audit("mfa.failed", user, user, {"method": method}, ip_address)
    return SecondStep(locked=_failures(user.id, since) >= MAX_FAILURES)


def _failures(user_id: int, since: datetime) -> int:
    """Wrong codes since a pending sign-in began, counted in the audit record: the browser holds the
    pending sign-in, and could replay an older copy of it, but cannot roll this count back."""
    return db.session.execute(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "mfa.failed", AuditEvent.actor_id == user_id, AuditEvent.occurred_at >= since)
    ).scalar_one()


# --- helpers --------------------------------------------------------------------------------------


def _check_password(user: User, password: str) -> None:
    if not verify_password(user.password_hash, password or ""):
        raise FieldRefused("password", REFUSED_PASSWORD)


def _use_code(user: User, code: str) -> bool:
    """Accept a TOTP code once: the step is stored with a conditional UPDATE, so two requests
    racing with the same code cannot both succeed."""
    secret = _box().decrypt(user.totp_secret)
    if secret is None:
        current_app.logger.warning("The TOTP secret of user %s cannot be decrypted with SECRET_KEY.", user.id)
        return False
    step = totp.matching_step(secret, code, clock(), user.totp_last_step)
    if step is None:
        return False
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return result.rowcount == 1


def _use_recovery_code(user_id: int, code_hash: str) -> bool:
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1


def _codes_left(user_id: int) -> int:
    return db.session.execute(
        select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def _replace_recovery_codes(user_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))
    codes = totp.new_recovery_codes()
    now = utcnow()
    db.session.add_all(
        RecoveryCode(user_id=user_id, code_hash=totp.recovery_code_hash(code), created_at=now) for code in codes
    )
    return codes


def _switch_off(user_id: int) -> None:
    db.session.execute(
        update(User).where(User.id == user_id).values(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
    )
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))


def _end_other_sessions(user: User) -> int:
    """End the account's sessions except this one."""
    return end_all_sessions(user.id, reason="revoked", keep_token=user.session_token)


def _audit(action: str, actor: User, subject: User, details: dict, ip_address: str) -> None:
    record_event(
        action,
        actor_id=actor.id,
        subject_type="user",
        subject_id=str(subject.id),
        details=details,
        ip_address=ip_address,
    )


@contextmanager
def _transaction() -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back; a clash with a simultaneous write is a 409."""
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Someone else changed this at the same moment. Reload the page and try again.") from None
    except BaseException:
        db.session.rollback()
        raise
