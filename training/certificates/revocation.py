"""Revocation: HR or an admin withdraws a certificate, with an audit record and the `certificate_revoked` event."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.certificates.access import NOT_FOUND_MESSAGE, VIEW_ANY_ROLES, certificate_for_viewer
from training.certificates.models import Certificate, CertificateRevocation
from training.certificates.serials import display_serial
from training.db import utcnow
from training.errors import Conflict, NotFound
from training.extensions import db


def revoke_certificate(
    actor: User, serial_text: str, reason: str, *, ip_address: str = "", now: datetime | None = None
) -> Certificate:
    """HR or an admin withdraws a certificate; verification says revoked from then on."""
    certificate = certificate_for_viewer(actor, serial_text)
    if actor.role not in VIEW_ANY_ROLES:
        raise NotFound(NOT_FOUND_MESSAGE)
    if certificate.revocation is not None:
        raise Conflict(f"Certificate {display_serial(certificate.serial)} is already revoked.")
    now = now or utcnow()
    try:
        with db.session.begin_nested():
            db.session.add(
                CertificateRevocation(certificate=certificate, revoked_at=now, revoked_by_id=actor.id, reason=reason)
            )
            record_event(
                "certificate.revoked",
                actor_id=actor.id,
                subject_type="certificate",
                subject_id=certificate.serial,
                details={"reason": reason, "user_id": certificate.user_id, "course_id": certificate.course_id},
                ip_address=ip_address,
            )
    except IntegrityError as error:
        raise Conflict(f"Certificate {display_serial(certificate.serial)} is already revoked.") from error
    events.publish(events.certificate_revoked, "certificates", user_ids=[certificate.user_id], now=now)
    db.session.commit()
    return certificate
