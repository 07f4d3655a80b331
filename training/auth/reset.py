"""Password reset by email (ASVS 6.4): a single-use link that works for PASSWORD_RESET_MINUTES.

Only the SHA-256 of the link's random token is stored. Asking for a link gives the same answer
whether or not the account exists, and the email goes out on a background thread so the answer
takes about as long either way. Using the link sets the password, ends every session of the
account and does not sign anyone in: two-step sign-in, if the account has it, still applies.
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from logging import Logger

from flask import current_app
from sqlalchemy import select, update

from training.audit.services import record_event
from training.auth.authentication import record_about_email
from training.auth.models import PasswordReset, User
from training.auth.passwords import hash_password
from training.auth.sessions import end_all_sessions
from training.auth.users import check_password_rules, normalise_email
from training.db import utcnow
from training.errors import NotFound
from training.extensions import db
from training.mail import MailConfigError, MailError, MailSettings, build_message, transport_for
from training.urls import public_url

TOKEN_BYTES = 32
LINK_PATH = "/password/reset/"
INVALID_LINK = "This link has expired or was already used."


class ResetLinkInvalid(NotFound):
    """An unknown, used or expired link (or its account was deactivated): all look the same."""

    code = "reset_link_invalid"

    def __init__(self):
        super().__init__(INVALID_LINK)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(email: str, *, ip_address: str = "") -> None:
    """Email a reset link if an active account has this address; otherwise only audit the request.

    Earlier unused links of the account stop working (marked used), so only the newest one does.
    """
    email = normalise_email(email)[:254]
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    outcome = "sent" if user is not None and user.active else ("inactive" if user else "unknown_account")
    if outcome == "sent" and not current_app.config["SSO_RULES"].password_allowed(user.email, user.role):
        outcome = "password_sign_in_off"  # PASSWORD_SIGN_IN=admins-only: this person signs in through SSO
    record_about_email("password.reset_requested", email, user.id if user else None, {"outcome": outcome}, ip_address)
    if outcome != "sent":
        db.session.commit()
        return
    now = utcnow()
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    db.session.add(
        PasswordReset(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=now + timedelta(minutes=minutes),
            ip_address=ip_address[:64],
            created_at=now,
        )
    )
    db.session.commit()
    _send_link(user, token, minutes)


def reset_email_text(link: str, minutes: int, organisation: str) -> str:
    """The email's text: the link and what to do, nothing about the account beyond its name."""
    return (
        f"Someone asked to reset the password of your {organisation} training account.\n\n"
        f"To choose a new password, open this link within {minutes} minutes. It works once:\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )


def _send_link(user: User, token: str, minutes: int) -> None:
    config = current_app.config
    logger = current_app.logger
    try:
        settings = MailSettings.from_config(config)
    except MailConfigError as exc:
        logger.error("Password-reset email for user %s not sent: %s", user.id, exc.message)
        return
    if settings.console and config["TRAINING_ENV"] != "development":
        # Outside development a link printed to the console would end up in the server's logs.
        logger.warning("Password-reset email for user %s not sent: MAIL_SERVER is not set.", user.id)
        return
    link = public_url(LINK_PATH + token)
    organisation = config["ORGANISATION_NAME"]
    message = build_message(
        settings.sender,
        user.name,
        user.email,
        f"Reset your {organisation} training password",
        reset_email_text(link, minutes, organisation),
    )
    threading.Thread(target=_deliver, args=(settings, message, user.id, logger), daemon=True).start()


def _deliver(settings: MailSettings, message: EmailMessage, user_id: int, logger: Logger) -> None:
    try:
        with transport_for(settings, _print) as transport:
            transport.send(message)
    except MailError as exc:
        logger.error("Password-reset email for user %s not sent: %s", user_id, exc.message)


def _print(text: str) -> None:
    print(text, flush=True)


@dataclass(frozen=True)
class ResetLink:
    reset_id: int
    user_id: int
    email: str


def check_link(token_hash_: str) -> ResetLink:
    """The account a link resets, if the link is still usable; raises ResetLinkInvalid if not."""
    row = db.session.execute(
        select(PasswordReset.id, PasswordReset.user_id, User.email)
        .join(User, User.id == PasswordReset.user_id)
        .where(
            PasswordReset.token_hash == token_hash_,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).first()
    if row is None:
        raise ResetLinkInvalid()
    return ResetLink(*row)


def complete_reset(token_hash_: str, password: str, *, ip_address: str = "") -> User:
    """Set the new password through a usable link, once; ends every session of the account.

    The link is claimed with a conditional UPDATE (WHERE used_at IS NULL), so of two requests
    sent together only one can succeed. PasswordRejected (nothing used up) if the password
    breaks a rule; ResetLinkInvalid if the link cannot be used.
    """
    link = check_link(token_hash_)
    check_password_rules(password, email=link.email)
    new_hash = hash_password(password)  # before the claim, so the row is locked only briefly
    now = utcnow()
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == link.reset_id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise ResetLinkInvalid()
    user = db.session.get(User, link.user_id)
    user.password_hash = new_hash
    user.password_changed_at = now
    ended = end_all_sessions(user.id, reason="password_changed", now=now)
    record_event(
        "password.reset",
        actor_id=user.id,
        subject_type="user",
        subject_id=str(user.id),
        details={"sessions_ended": ended},
        ip_address=ip_address,
    )
    db.session.commit()
    return user
