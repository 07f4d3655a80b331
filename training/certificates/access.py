"""Finding a certificate by its serial, who may see it, and downloading its PDF."""

from sqlalchemy import select

from training.audit.services import record_event
from training.auth.models import User
from training.certificates.files import pdf_for_download, request_render
from training.certificates.models import Certificate
from training.certificates.serials import InvalidSerial, display_serial, parse_serial
from training.clock import day_text
from training.errors import DomainError, HiddenRecord, NotFound
from training.extensions import db

VIEW_ANY_ROLES = ("hr", "admin")
NOT_FOUND_MESSAGE = "No certificate has this serial."


class CertificateGone(DomainError):
    status = 410
    code = "revoked"


def serial_or_not_found(text: str) -> str:
    try:
        return parse_serial(text)
    except InvalidSerial as error:
        raise NotFound(NOT_FOUND_MESSAGE + " " + str(error)) from error


def certificate_by_serial(serial_text: str) -> Certificate:
    """The certificate with this serial, or a NotFound that says the same for malformed and unknown."""
    serial = serial_or_not_found(serial_text)
    certificate = db.session.execute(select(Certificate).where(Certificate.serial == serial)).scalar()
    if certificate is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return certificate


def can_view(viewer: User, certificate: Certificate) -> bool:
    """Your own; any for HR and admins; a manager's, for people in their department."""
    if certificate.user_id == viewer.id or viewer.role in VIEW_ANY_ROLES:
        return True
    return (
        viewer.role == "manager"
        and viewer.department_id is not None
        and viewer.department_id == certificate.user.department_id
    )


def certificate_for_viewer(viewer: User, serial_text: str) -> Certificate:
    """The certificate, if this person may see it; otherwise the same 404 as for an unknown serial."""
    certificate = certificate_by_serial(serial_text)
    if not can_view(viewer, certificate):
        raise HiddenRecord(NOT_FOUND_MESSAGE, subject_type="certificate", subject_id=certificate.serial)
    return certificate


def downloadable_pdf(viewer: User, serial_text: str) -> tuple[Certificate, bytes | None]:
    """The certificate and its stored PDF; None instead of the PDF when its file must be rendered first, for which
    a job has been asked (the download is tried again once it has run)."""
    certificate = certificate_for_viewer(viewer, serial_text)
    if certificate.revocation is not None:
        raise CertificateGone(
            f"Certificate {display_serial(certificate.serial)} was revoked on "
            f"{day_text(certificate.revocation.revoked_at)} and can no longer be downloaded."
        )
    data = pdf_for_download(certificate)
    if data is None:
        request_render(certificate)
    return certificate, data


def record_download(viewer: User, certificate: Certificate, ip_address: str = "") -> None:
    """Who downloaded whose certificate PDF (the holder, a manager, HR), committed before the file is sent."""
    record_event(
        "certificate.downloaded",
        actor_id=viewer.id,
        subject_type="certificate",
        subject_id=certificate.serial,
        details={"format": "pdf", "user_id": certificate.user_id, "course_id": certificate.course_id},
        ip_address=ip_address,
    )
    db.session.commit()
