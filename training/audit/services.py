"""Writing to the audit record, inside the caller's transaction (the event lands or fails with it)."""

import logging
from dataclasses import dataclass

from training.audit.models import AuditEvent
from training.db import utcnow
from training.extensions import db

log = logging.getLogger(__name__)

PATH_MAX = 500  # a path in the details is cut here: the record is evidence, not a copy of any request


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


@dataclass(frozen=True)
class DeniedAccess:
    """A refused request, as the error handler saw it. `reason` is `forbidden` (the role or rule
    refused it) or `not_owner` (a record that exists but is someone else's, answered as a 404)."""

    actor_id: int | None
    reason: str
    path: str
    method: str
    endpoint: str
    message: str
    ip_address: str
    subject_type: str = ""
    subject_id: str = ""


def record_denied_access(denied: DeniedAccess) -> bool:
    """Write an `access.denied` event in a transaction of its own; True if it was written.

    Whatever the request had not committed is rolled back first: a refused request changes nothing.
    A failure to write is logged and swallowed, so the person still gets the refusal page, not a 500.
    """
    try:
        db.session.rollback()
        record_event(
            "access.denied",
            actor_id=denied.actor_id,
            subject_type=denied.subject_type,
            subject_id=denied.subject_id,
            details={
                "reason": denied.reason,
                "path": denied.path[:PATH_MAX],
                "method": denied.method,
                "endpoint": denied.endpoint,
                "message": denied.message,
            },
            ip_address=denied.ip_address,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("Could not record a denied access to %s", denied.path[:PATH_MAX])
        return False
    return True
