"""Public verification: what anyone may learn about a certificate by its serial, and whether a file is ours."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from training.certificates import rules
from training.certificates.access import certificate_by_serial
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.clock import day_of, organisation_zone
from training.db import utcnow


@dataclass(frozen=True)
class Verification:
    """What the public may learn about a certificate: the minimum needed to trust it."""

    serial: str
    status: str
    recipient_name: str
    course_title: str
    organisation_name: str
    issued_on: date
    expires_on: date
    revoked_on: date | None

    @property
    def status_label(self) -> str:
        return rules.STATUS_LABELS[self.status]

    def as_json(self) -> dict:
        return {
            "serial": self.serial,
            "status": self.status,
            "name": self.recipient_name,
            "course": self.course_title,
            "organisation": self.organisation_name,
            "issued_on": self.issued_on.isoformat(),
            "expires_on": self.expires_on.isoformat(),
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
        }


def verify(serial_text: str, now: datetime | None = None) -> Verification:
    certificate = certificate_by_serial(serial_text)
    revoked_at = certificate.revoked_at
    zone = organisation_zone()
    return Verification(
        serial=display_serial(certificate.serial),
        status=rules.certificate_status(certificate.expires_at, revoked_at, now or utcnow()),
        recipient_name=certificate.recipient_name,
        course_title=certificate.course_title,
        organisation_name=certificate.organisation_name,
        issued_on=day_of(certificate.issued_at, zone),
        expires_on=day_of(certificate.expires_at, zone),
        revoked_on=day_of(revoked_at, zone),
    )


def status_now(certificate: Certificate) -> str:
    return rules.certificate_status(certificate.expires_at, certificate.revoked_at, utcnow())


def file_matches(serial_text: str, digest: str) -> bool:
    """Whether a file with this SHA-256 is one we issued for this certificate."""
    certificate = certificate_by_serial(serial_text)
    return any(secrets.compare_digest(f.sha256, digest.lower()) for f in certificate.files)
