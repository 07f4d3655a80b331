"""Assertions already used for a sign-in, so that each is accepted once, across every worker (ASVS 6.8.3)."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from training.db import utcnow
from training.extensions import db


class SamlAssertionUsed(db.Model):
    """One SAML assertion ID (per IdP) accepted for a sign-in; kept until it expires, then purged.

    The primary key makes a second use fail in the database, whichever worker receives it.
    """

    __tablename__ = "saml_assertion_used"

    issuer: Mapped[str] = mapped_column(String(1024), primary_key=True)
    assertion_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    not_on_or_after: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
