"""API tokens: HR and admins create and revoke them; every API request presents one.

A token is `trn_` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored, with the first characters as a label people can recognise, so a copy of the database
cannot be used to call the API, and the full token is shown once, on the page that creates it.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased, joinedload

from training.audit.services import record_event
from training.auth.models import User
from training.compliance.models import ApiToken
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db

TOKEN_PREFIX = "trn_"  # noqa: S105 - a label that makes leaked tokens recognisable, not a secret
LABEL_LENGTH = 12  # "trn_" and 8 random characters: enough to tell tokens apart, useless alone
TOKEN_PATTERN = re.compile(r"trn_[A-Za-z0-9_-]{43}")
NAME_MAX = 100
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

MISSING_MESSAGE = "Send an API token in the Authorization header, as: Authorization: Bearer <token>."
INVALID_MESSAGE = "The API token is not valid. Ask HR for a new token if it was revoked."


class Unauthorized(DomainError):
    """No usable token. `challenge` is the WWW-Authenticate header value (RFC 6750)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, challenge: str):
        super().__init__(message)
        self.challenge = challenge


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is the full token, which exists only in this response."""

    token: ApiToken
    secret: str


@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    revoked_by_name: str | None


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(actor: User, name: str, *, ip_address: str = "") -> NewToken:
    """A new token named for the system that will use it, with an audit record, committed."""
    name = " ".join(name.split())
    if CONTROL_CHARACTERS.search(name):
        raise DomainError("A token name cannot contain control characters.", status=422)
    if not name:
        raise DomainError("Give the token a name, such as the system that will use it.", status=422)
    if len(name) > NAME_MAX:
        raise DomainError(f"A token name has at most {NAME_MAX} characters.", status=422)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(secret), prefix=secret[:LABEL_LENGTH], created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    record_event(
        "api_token.created",
        actor_id=actor.id,
        subject_type="api_token",
        subject_id=str(token.id),
        details={"name": name, "prefix": token.prefix},
        ip_address=ip_address,
    )
    db.session.commit()
    return NewToken(token=token, secret=secret)


def revoke_token(actor: User, token_id: int, *, ip_address: str = "") -> ApiToken:
    """Stop a token at once. A conditional update, so two revocations cannot both succeed."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("There is no such API token.")
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by_id=actor.id)
    )
    if revoked.rowcount != 1:
        db.session.rollback()
        raise Conflict(f"The token “{token.name}” was already revoked.")
    record_event(
        "api_token.revoked",
        actor_id=actor.id,
        subject_type="api_token",
        subject_id=str(token_id),
        details={"name": token.name, "prefix": token.prefix},
        ip_address=ip_address,
    )
    db.session.commit()
    db.session.refresh(token)
    return token


def list_tokens() -> list[TokenRow]:
    """Every token ever created, newest first, with who made and who revoked it (one query)."""
    revoker = aliased(User)
    rows = db.session.execute(
        select(ApiToken, revoker.name)
        .options(joinedload(ApiToken.created_by))
        .outerjoin(revoker, revoker.id == ApiToken.revoked_by_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return [TokenRow(token, revoked_by) for token, revoked_by in rows]


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer <token>` header, or Unauthorized for anything else."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        raise Unauthorized(MISSING_MESSAGE, 'Bearer realm="api"')
    return credentials


def authenticate(authorization: str | None, now: datetime | None = None) -> ApiToken:
    """The live token named by this header; wrong and revoked tokens get the same answer.

    Only the hash is looked up, never the token itself. Marks the token used (once a minute).
    """
    secret = bearer_token(authorization)
    invalid = Unauthorized(INVALID_MESSAGE, 'Bearer realm="api", error="invalid_token"')
    if not TOKEN_PATTERN.fullmatch(secret):
        raise invalid
    token = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
    ).scalar()
    if token is None:
        raise invalid
    _mark_used(token, now or utcnow())
    return token


def _mark_used(token: ApiToken, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
    )
    db.session.commit()
