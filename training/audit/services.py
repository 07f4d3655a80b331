"""Writing to the audit record, inside the caller's transaction (the event lands or fails with it)."""

from training.audit.models import AuditEvent
from training.db import utcnow
from training.extensions import db


def record_event(
    action: str,
    *,
    actor_id: int | None,
    subject_type: str = "",
    subject_id: str = "",
    details: dict | None = None,
    ip_address: str = "",
) -> AuditEvent:
    """Add one event; the caller commits. Routes pass the client's address; the CLI has none."""
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details or {},
        ip_address=ip_address,
    )
    db.session.add(event)
    return event
