"""Pure rules for what a certificate says about itself."""

from datetime import datetime

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
