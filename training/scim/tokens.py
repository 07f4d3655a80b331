"""SCIM tokens: admins create and revoke them; the identity provider presents one on every SCIM call.

A token is `scim_` and 43 URL-safe characters (256 random bits); only its SHA-256 is stored, with the
first characters as a label. SCIM tokens live in their own table: one never opens the reporting API,
and an API token never opens SCIM.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased, joinedload

from training.api.tokens import CONTROL_CHARACTERS, NAME_MAX, hash_token
from training.audit.services import record_event
from training.auth.models import User
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db
from training.scim.models import ScimToken

TOKEN_PREFIX = "scim_"  # noqa: S105 - a label that makes leaked tokens recognisable, not a secret
LABEL_LENGTH = 13  # "scim_" and 8 random characters
TOKEN_PATTERN = re.compile(r"scim_[A-Za-z0-9_-]{43}")
# last_used_at is written at most this often per token, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)

MISSING_MESSAGE = "Send the SCIM token in the Authorization header, as: Authorization: Bearer <token>."
INVALID_MESSAGE = "The SCIM token is not valid. Ask an admin for a new token if it was revoked."


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is the full token, which exists only in this response."""

    token: ScimToken
    secret: str


@dataclass(frozen=True)
class TokenRow:
    token: ScimToken
    revoked_by_name: str | None


def create_token(actor: User, name: str, *, ip_address: str = "") -> NewToken:
    """A new SCIM token named for the identity provider that will use it, audited, committed."""
    name = " ".join(name.split())
    if CONTROL_CHARACTERS.search(name):
        raise DomainError("A token name cannot contain control characters.", status=422)
    if not name:
        raise DomainError("Give the token a name, such as the identity provider that will use it.", status=422)
    if len(name) > NAME_MAX:
        raise DomainError(f"A token name has at most {NAME_MAX} characters.", status=422)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(name=name, token_hash=hash_token(secret), prefix=secret[:LABEL_LENGTH], created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    record_event(
        "scim_token.created",
        actor_id=actor.id,
        subject_type="scim_token",
        subject_id=str(token.id),
        details={"name": name, "prefix": token.prefix},
        ip_address=ip_address,
    )
    db.session.commit()
    return NewToken(token=token, secret=secret)


def revoke_token(actor: User, token_id: int, *, ip_address: str = "") -> ScimToken:
    """Stop a token at once. A conditional update, so two revocations cannot both succeed."""
    token = db.session.get(ScimToken, token_id)
    if token is None:
        raise NotFound("There is no such SCIM token.")
    revoked = db.session.execute(
        update(ScimToken)
        .where(ScimToken.id == token_id, ScimToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by_id=actor.id)
    )
    if revoked.rowcount != 1:
        db.session.rollback()
        raise Conflict(f"The SCIM token “{token.name}” was already revoked.")
    record_event(
        "scim_token.revoked",
        actor_id=actor.id,
        subject_type="scim_token",
        subject_id=str(token_id),
        details={"name": token.name, "prefix": token.prefix},
        ip_address=ip_address,
    )
    db.session.commit()
    db.session.refresh(token)
    return token


def list_tokens() -> list[TokenRow]:
    """Every SCIM token ever created, newest first, with who made and who revoked it (one query)."""
    revoker = aliased(User)
    rows = db.session.execute(
        select(ScimToken, revoker.name)
        .options(joinedload(ScimToken.created_by))
        .outerjoin(revoker, revoker.id == ScimToken.revoked_by_id)
        .order_by(ScimToken.created_at.desc(), ScimToken.id.desc())
    ).all()
    return [TokenRow(token, revoked_by) for token, revoked_by in rows]


def authenticate(authorization: str | None, now: datetime | None = None) -> ScimToken:
    """The live SCIM token named by this header; missing, wrong and revoked tokens are Unauthorized.

    Only the hash is looked up. Records the call on the token (at most once a minute): the last SCIM call.
    """
    scheme, _, secret = (authorization or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized(MISSING_MESSAGE)
    if not TOKEN_PATTERN.fullmatch(secret):
        raise Unauthorized(INVALID_MESSAGE)
    token = db.session.execute(
        select(ScimToken).where(ScimToken.token_hash == hash_token(secret), ScimToken.revoked_at.is_(None))
    ).scalar()
    if token is None:
        raise Unauthorized(INVALID_MESSAGE)
    _mark_used(token, now or utcnow())
    return token


def _mark_used(token: ScimToken, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    db.session.execute(
        update(ScimToken)
        .where(ScimToken.id == token.id)
        .where(or_(ScimToken.last_used_at.is_(None), ScimToken.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
    )
    db.session.commit()
