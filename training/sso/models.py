"""The link between a person and an identity at the organisation's identity provider."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.auth.models import User
from training.db import CreatedAtMixin
from training.extensions import db

PROTOCOLS = ("oidc", "saml")


class SsoIdentity(CreatedAtMixin, db.Model):
    """One identity (issuer + subject) that signs one person in.

    The subject is the provider's non-reassignable identifier (OIDC `sub`, a SAML persistent NameID),
    never an email address: an address can be given to someone else later. HR can remove a link; the
    next sign-in then links again by the configured rules.
    """

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_sso_identity_issuer_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(10))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    last_sign_in_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
