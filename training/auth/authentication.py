"""Checking a password at sign-in, and the audit records of sign-ins: failed, refused by a rate limit, completed.

A submitted email is kept in an audit record only when it is shaped like an email address.
"""

import re

from sqlalchemy import select

from training.audit.services import record_event
from training.auth.models import User
from training.auth.passwords import hash_password, needs_rehash, verify_password
from training.auth.users import normalise_email
from training.extensions import db

_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
NOT_AN_EMAIL = "(not an email address)"


def email_for_audit(email: str) -> str:
    """The submitted email, normalised, for an audit record; text that is not shaped like an email
    address (a password typed into the email field, say) is never kept (ASVS 16.2.5)."""
    email = normalise_email(email)[:254]
    return email if _EMAIL_SHAPE.fullmatch(email) else NOT_AN_EMAIL


def record_about_email(action: str, email: str, user_id: int | None, details: dict, ip_address: str) -> None:
    """Audit a request made with a submitted email and no one signed in: the account it names, if
    any, is the subject; the email is kept only as `email_for_audit` keeps it. The caller commits."""
    record_event(
        action,
        actor_id=None,
        subject_type="user" if user_id else "",
        subject_id=str(user_id) if user_id else "",
        details={"email": email_for_audit(email), **details},
        ip_address=ip_address,
    )


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
    record_about_email("user.sign_in_failed", email, user.id if user else None, {"reason": reason}, ip_address)
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
    record_about_email(action, email, user_id, {"limit": limit}, ip_address)
    db.session.commit()
