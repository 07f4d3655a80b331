"""Pure rules for what a certificate says about itself."""

from datetime import datetime
from zoneinfo import ZoneInfo

VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"

STATUS_LABELS = {VALID: "Valid", EXPIRED: "Expired", REVOKED: "Revoked"}


def certificate_status(expires_at: datetime, revoked_at: datetime | None, now: datetime) -> str:
    """Revocation wins over expiry: a revoked certificate never reads as merely expired."""
    if revoked_at is not None and revoked_at <= now:
        return REVOKED
    if now >= expires_at:
        return EXPIRED
    return VALID


def format_date(moment: datetime) -> str:
    """`March 12, 2026`: the way the product writes dates for people."""
    return f"{moment:%B} {moment.day}, {moment.year}"


def day_in(moment: datetime | None, zone: ZoneInfo) -> str:
    """The ISO date (`2026-03-12`) of a moment in the organisation's zone; empty for none."""
    return moment.astimezone(zone).date().isoformat() if moment else ""
