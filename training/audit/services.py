"""Writing to the audit record, inside the caller's transaction (the event lands or fails with it)."""

from flask import has_request_context, request

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
) -> AuditEvent:
    """Add one event; the caller commits. From a request, the client's address is kept too."""
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details or {},
        ip_address=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    return event
