"""The bearer tokens that identity providers (Entra ID, Okta) present to /scim/v2."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.auth.models import User
from training.db import CreatedAtMixin
from training.extensions import db


class ScimToken(CreatedAtMixin, db.Model):
    """A SCIM bearer token, apart from the reporting API's tokens so that neither opens the other.

    Only its SHA-256 is stored; the token is shown once. `last_used_at` is the last SCIM call made with it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
