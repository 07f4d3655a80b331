"""Bearer tokens that other systems present: the reporting API's and SCIM's, each in a table of its own.

A token is a recognisable prefix and 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored, with the first characters as a label people can recognise, so a copy of the database cannot
be used to call anything, and the full token is shown once, on the page that creates it. A kind of
token (`TokenKind`) names its table (with the columns of `BearerTokenColumns`), its prefix and its
words; the rules are the same for every kind, and so is the guard of the calls that present one.
"""

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import Blueprint, current_app, g, request
from sqlalchemy import ForeignKey, String, or_, select, update
from sqlalchemy.orm import Mapped, aliased, declared_attr, joinedload, mapped_column, relationship

from training.audit.services import record_event
from training.auth.models import User
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db, limiter
from training.https_redirect import plain_http_under
from training.security_log import security_event

NAME_MAX = 100
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
RANDOM_LABEL_CHARACTERS = 8  # after the prefix: enough to tell tokens apart, useless alone
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenColumns:
    """The columns of every kind of token's table, so that the API's and SCIM's tables stay the same."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    @declared_attr
    def created_by(cls) -> Mapped[User | None]:
        return relationship(foreign_keys=[cls.created_by_id])


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is the full token, which exists only in this response."""

    token: object
    secret: str


@dataclass(frozen=True)
class TokenRow:
    token: object
    revoked_by_name: str | None


@dataclass(frozen=True)
class TokenKind:
    """One kind of token. `model` has the columns of BearerTokenColumns; `subject` names it in the
    audit record (`api_token.created`); `noun` in messages; `used_by` says who will present it."""

    model: type
    subject: str
    noun: str
    secret_prefix: str
    used_by: str

    @property
    def pattern(self) -> re.Pattern:
        return re.compile(re.escape(self.secret_prefix) + r"[A-Za-z0-9_-]{43}")

    @property
    def label_length(self) -> int:
        return len(self.secret_prefix) + RANDOM_LABEL_CHARACTERS

    def create(self, actor: User, name: str, *, ip_address: str = "") -> NewToken:
        """A new token named for the system that will use it, with an audit record, committed."""
        name = _checked_name(name, self.used_by)
        secret = self.secret_prefix + secrets.token_urlsafe(32)
        token = self.model(
            name=name, token_hash=hash_token(secret), prefix=secret[: self.label_length], created_by_id=actor.id
        )
        db.session.add(token)
        db.session.flush()
        self._audit("created", actor, token, ip_address)
        db.session.commit()
        return NewToken(token=token, secret=secret)

    def revoke(self, actor: User, token_id: int, *, ip_address: str = ""):
        """Stop a token at once. A conditional update, so two revocations cannot both succeed."""
        model = self.model
        token = db.session.get(model, token_id)
        if token is None:
            raise NotFound(f"There is no such {self.noun}.")
        revoked = db.session.execute(
            update(model)
            .where(model.id == token_id, model.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by_id=actor.id)
        )
        if revoked.rowcount != 1:
            db.session.rollback()
            raise Conflict(f"The token “{token.name}” was already revoked.")
        self._audit("revoked", actor, token, ip_address)
        db.session.commit()
        db.session.refresh(token)
        return token

    def listed(self) -> list[TokenRow]:
        """Every token of this kind ever created, newest first, with who made and who revoked it (one query)."""
        model, revoker = self.model, aliased(User)
        rows = db.session.execute(
            select(model, revoker.name)
            .options(joinedload(model.created_by))
            .outerjoin(revoker, revoker.id == model.revoked_by_id)
            .order_by(model.created_at.desc(), model.id.desc())
        ).all()
        return [TokenRow(token, revoked_by) for token, revoked_by in rows]

    def live(self, secret: str, now: datetime | None = None):
        """The live token with this secret, or None; only the hash is looked up. Marks it used (once a minute)."""
        if not self.pattern.fullmatch(secret):
            return None
        model = self.model
        token = db.session.execute(
            select(model).where(model.token_hash == hash_token(secret), model.revoked_at.is_(None))
        ).scalar()
        if token is not None:
            self._mark_used(token, now or utcnow())
        return token

    def _mark_used(self, token, now: datetime) -> None:
        if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
            return
        model = self.model
        db.session.execute(
            update(model)
            .where(model.id == token.id)
            .where(or_(model.last_used_at.is_(None), model.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now)
        )
        db.session.commit()

    def _audit(self, what: str, actor: User, token, ip_address: str) -> None:
        record_event(
            f"{self.subject}.{what}",
            actor_id=actor.id,
            subject_type=self.subject,
            subject_id=str(token.id),
            details={"name": token.name, "prefix": token.prefix},
            ip_address=ip_address,
        )


def _checked_name(name: str, used_by: str) -> str:
    name = " ".join(name.split())
    if CONTROL_CHARACTERS.search(name):
        raise DomainError("A token name cannot contain control characters.", status=422)
    if not name:
        raise DomainError(f"Give the token a name, such as {used_by}.", status=422)
    if len(name) > NAME_MAX:
        raise DomainError(f"A token name has at most {NAME_MAX} characters.", status=422)
    return name


# --- the calls that present a token ---------------------------------------------------------------


class Unauthorized(DomainError):
    """No usable token. `challenge` is the WWW-Authenticate header value (RFC 6750)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, challenge: str):
        super().__init__(message)
        self.challenge = challenge


def bearer_credentials(authorization: str | None) -> str:
    """What follows `Bearer` in an Authorization header, stripped; "" for no header or another scheme."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def token_required(authenticate: Callable[[str | None], object]):
    """A view decorator: the token comes from the Authorization header alone, cookies are never
    consulted; `authenticate` raises Unauthorized or returns the token, whose id is kept in
    `g.bearer_token_id`."""

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            g.bearer_token_id = authenticate(request.headers.get("Authorization")).id
            return view(*args, **kwargs)

        return guarded

    return decorator


def per_token_limit(setting: str, scope: str):
    """One budget per token (the app's `setting`) across every endpoint it decorates, counted after
    the token is known (under token_required)."""
    return limiter.shared_limit(
        lambda: current_app.config[setting], scope=scope, key_func=lambda: f"{scope}-token:{g.bearer_token_id}"
    )


def guard_token_calls(bp: Blueprint, refuse_plain_http: Callable[[], object]) -> None:
    """What every blueprint called with bearer tokens does, registered on `bp`.

    A call over plain HTTP is answered with `refuse_plain_http()` and a security event, not the
    redirect pages get (ASVS 4.1.2): a redirect would make a misconfigured client work while its
    token travels unencrypted; an error makes the mistake visible. Registered with the blueprint, so
    it runs before Talisman's redirect (set up later, in training.web), and it counts a request as
    HTTPS exactly as Talisman does. No response is stored by a cache.
    """

    @bp.before_app_request
    def _refuse_plain_http():
        if not plain_http_under(bp.url_prefix):
            return None
        security_event("https_required")
        return refuse_plain_http()

    @bp.after_request
    def _no_store(response):
        response.headers["Cache-Control"] = "no-store"
        return response
