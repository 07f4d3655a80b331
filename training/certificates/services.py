"""Issuing, storing, serving, verifying, revoking and exporting certificates."""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from training import events
from training.audit.services import record_event
from training.auth.models import Department, User
from training.certificates import rules
from training.certificates.models import Certificate, CertificateFile, CertificateRevocation
from training.certificates.render import CertificateView, DesignSettings, renderer_for
from training.certificates.serials import InvalidSerial, display_serial, new_serial, parse_serial
from training.certificates.storage import CertificateStore, sha256_hex
from training.clock import day_in, local_date_text, organisation_zone
from training.completions.models import Completion
from training.content.models import Course
from training.db import utcnow
from training.errors import Conflict, DomainError, HiddenRecord, NotFound
from training.extensions import db
from training.paging import Page, paginate

log = logging.getLogger(__name__)

VIEW_ANY_ROLES = ("hr", "admin")
NOT_FOUND_MESSAGE = "No certificate has this serial."


class CertificateGone(DomainError):
    status = 410
    code = "revoked"


# --- configuration -------------------------------------------------------------------------------


def design_settings() -> DesignSettings:
    config = current_app.config
    return DesignSettings(
        folder=Path(config["CERTIFICATE_DESIGN_DIR"]),
        page_size=config["CERTIFICATE_PAGE_SIZE"],
        pdf_variant=config["CERTIFICATE_PDF_VARIANT"],
        logo=config["CERTIFICATE_LOGO"],
    )


def certificate_store() -> CertificateStore:
    return CertificateStore(Path(current_app.config["CERTIFICATE_STORAGE_DIR"]))


def verify_url(serial: str) -> str:
    """The address in the QR code: the compact serial keeps the code small and the URL unbroken."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{serial}"


# --- issuing and files ---------------------------------------------------------------------------


def issue_certificate(completion: Completion, now: datetime | None = None) -> Certificate:
    """Record the certificate for a completion, in the caller's transaction (the file comes after commit)."""
    user = db.session.get(User, completion.user_id)
    course = db.session.get(Course, completion.course_id)
    certificate = Certificate(
        serial=new_serial(),
        completion_id=completion.id,
        user_id=completion.user_id,
        course_id=completion.course_id,
        recipient_name=user.name,
        course_title=course.title,
        course_version=completion.course_version,
        score=completion.score,
        completed_at=completion.completed_at,
        expires_at=completion.expires_at,
        issued_at=now or completion.completed_at,
        organisation_name=current_app.config["ORGANISATION_NAME"],
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def certificate_view(certificate: Certificate) -> CertificateView:
    return CertificateView(
        serial=display_serial(certificate.serial),
        recipient_name=certificate.recipient_name,
        course_title=certificate.course_title,
        course_version=certificate.course_version,
        score_percent=certificate.score,
        completed_on=local_date_text(certificate.completed_at),
        expires_on=local_date_text(certificate.expires_at),
        organisation_name=certificate.organisation_name,
        verify_url=verify_url(certificate.serial),
        issued_at=certificate.issued_at,
    )


def render_certificate(certificate: Certificate) -> bytes:
    return renderer_for(design_settings()).render(certificate_view(certificate))


def stored_pdf(certificate: Certificate) -> Path:
    """The certificate's file on disk, re-rendered first if it is missing or not the recorded file."""
    store = certificate_store()
    if _stored_file_intact(certificate, store):
        return store.path_for(certificate.serial)
    return write_certificate_file(certificate, store)


def _stored_file_intact(certificate: Certificate, store: CertificateStore) -> bool:
    """The stored file exists and is byte for byte the latest file recorded for the certificate."""
    latest = certificate.latest_file
    path = store.path_for(certificate.serial)
    return latest is not None and path.is_file() and sha256_hex(path.read_bytes()) == latest.sha256


def pdf_for_download(certificate: Certificate) -> bytes:
    """The certificate's PDF: the stored file when it is byte for byte the recorded one, else rendered again.

    The bytes served are the bytes checked (read once, not opened again by name after the check).
    Unlike `stored_pdf`, a storage that cannot be read or written does not stop the download.
    """
    store = certificate_store()
    data = _intact_stored_bytes(certificate, store)
    return data if data is not None else _render_for_download(certificate, store)


def _intact_stored_bytes(certificate: Certificate, store: CertificateStore) -> bytes | None:
    """The stored file's bytes if they are the latest file recorded for the certificate; else None."""
    latest = certificate.latest_file
    if latest is None:
        return None
    try:
        data = store.read(certificate.serial)
    except OSError:
        log.warning("Could not read certificate %s from storage; rendering it again", certificate.serial, exc_info=True)
        return None
    return data if data is not None and sha256_hex(data) == latest.sha256 else None


def _render_for_download(certificate: Certificate, store: CertificateStore) -> bytes:
    """Render the PDF for a download and store it; if storing fails (disk full, read-only), log it and serve it anyway.

    The store leaves no partial file behind, so a later download renders and stores it again. The
    file's SHA-256 is recorded either way: the person now holds this PDF, and it must verify.
    """
    data = render_certificate(certificate)
    try:
        store.write(certificate.serial, data)
    except OSError:
        log.exception("Certificate %s could not be stored; the rendered PDF is served without it", certificate.serial)
    record_certificate_file(certificate, data)
    return data


def write_certificate_file(certificate: Certificate, store: CertificateStore | None = None) -> Path:
    """Render, store atomically and record the file's SHA-256 (a new record only for new bytes)."""
    store = store or certificate_store()
    data = render_certificate(certificate)
    path = store.write(certificate.serial, data)
    record_certificate_file(certificate, data)
    return path


def record_certificate_file(certificate: Certificate, data: bytes) -> None:
    """Record the SHA-256 of a rendered file, and commit; nothing new if these bytes are already recorded.

    Rendering is deterministic, so re-rendering a lost file normally reproduces the recorded hash.
    If the design changed since, the new file gets its own record and an audit event; files with
    either hash still verify.
    """
    digest = sha256_hex(data)
    if all(existing.sha256 != digest for existing in certificate.files):
        try:
            with db.session.begin_nested():
                db.session.add(
                    CertificateFile(certificate=certificate, sha256=digest, size=len(data), rendered_at=utcnow())
                )
                if certificate.files[:-1]:
                    record_event(
                        "certificate.rerendered",
                        actor_id=None,
                        subject_type="certificate",
                        subject_id=certificate.serial,
                        details={"sha256": digest, "previous_sha256": certificate.files[-2].sha256},
                    )
        except IntegrityError:
            db.session.refresh(certificate)  # another request recorded the same bytes first
        db.session.commit()


def store_file_of_completion(completion: Completion | None) -> None:
    """After a completion is committed: write its new certificate's file.

    A rendering failure must not undo a learner's completion, so it is logged and the file is
    rendered on first download (or by `flask certificates render-missing`) instead. With
    CERTIFICATE_RENDER_AT_COMPLETION off (the test suite's default: only the tests that look at
    certificates render them) every file is rendered that way, on first use.
    """
    if completion is None or not current_app.config["CERTIFICATE_RENDER_AT_COMPLETION"]:
        return
    certificate = db.session.execute(select(Certificate).where(Certificate.completion_id == completion.id)).scalar_one()
    try:
        write_certificate_file(certificate)
    except Exception:
        db.session.rollback()
        log.exception("Could not render certificate %s; it will be rendered on first use", certificate.serial)


def render_missing() -> tuple[int, int]:
    """Render every certificate whose stored file is missing or differs from its record.

    Returns (checked, rendered).
    """
    store = certificate_store()
    checked = rendered = 0
    for certificate in db.session.execute(select(Certificate).order_by(Certificate.id)).scalars():
        checked += 1
        if not _stored_file_intact(certificate, store):
            write_certificate_file(certificate, store)
            rendered += 1
    return checked, rendered


def issue_missing() -> list[Certificate]:
    """Certificates for completions recorded without one (data from before certificates existed).

    Each certificate is committed on its own, so a completion that another run issued at the same
    moment (the unique completion id of a certificate lets only one write it) is simply skipped.
    Not a savepoint: on SQLite, a savepoint opens a transaction in which the reads of
    `issue_certificate` would come before its write, and a transaction that has read cannot wait
    for the write lock ("database is locked" at once).
    """
    orphans = db.session.execute(
        select(Completion)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Certificate.id.is_(None))
        .order_by(Completion.id)
    ).scalars()
    issued = []
    for completion in list(orphans):
        try:
            certificate = issue_certificate(completion, now=utcnow())
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        issued.append(certificate)
    return issued


# --- access --------------------------------------------------------------------------------------


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


def downloadable_pdf(viewer: User, serial_text: str) -> tuple[Certificate, bytes]:
    certificate = certificate_for_viewer(viewer, serial_text)
    if certificate.revocation is not None:
        raise CertificateGone(
            f"Certificate {display_serial(certificate.serial)} was revoked on "
            f"{local_date_text(certificate.revocation.revoked_at)} and can no longer be downloaded."
        )
    return certificate, pdf_for_download(certificate)


# --- public verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What the public may learn about a certificate: the minimum needed to trust it."""

    serial: str
    status: str
    recipient_name: str
    course_title: str
    organisation_name: str
    issued_on: str
    expires_on: str
    revoked_on: str | None

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
            "issued_on": self.issued_on,
            "expires_on": self.expires_on,
            "revoked_on": self.revoked_on,
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
        issued_on=day_in(certificate.issued_at, zone),
        expires_on=day_in(certificate.expires_at, zone),
        revoked_on=day_in(revoked_at, zone) or None,
    )


def status_now(certificate: Certificate) -> str:
    return rules.certificate_status(certificate.expires_at, certificate.revoked_at, utcnow())


def file_matches(serial_text: str, digest: str) -> bool:
    """Whether a file with this SHA-256 is one we issued for this certificate."""
    certificate = certificate_by_serial(serial_text)
    return any(secrets.compare_digest(f.sha256, digest.lower()) for f in certificate.files)


# --- revocation ----------------------------------------------------------------------------------


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


# --- finding and exporting -----------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFilter:
    department_id: int | None = None
    course_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None

    def as_dict(self) -> dict:
        return {
            "department_id": self.department_id,
            "course_id": self.course_id,
            "issued_from": self.issued_from.isoformat() if self.issued_from else None,
            "issued_to": self.issued_to.isoformat() if self.issued_to else None,
        }


def filtered_query(criteria: CertificateFilter) -> Select:
    """Certificates matching the filter, newest first; issue dates are days in the organisation's zone."""
    zone = organisation_zone()
    query = select(Certificate).join(User, User.id == Certificate.user_id)
    if criteria.department_id is not None:
        query = query.where(User.department_id == criteria.department_id)
    if criteria.course_id is not None:
        query = query.where(Certificate.course_id == criteria.course_id)
    if criteria.issued_from is not None:
        query = query.where(Certificate.issued_at >= datetime.combine(criteria.issued_from, time(), zone))
    if criteria.issued_to is not None:
        end = datetime.combine(criteria.issued_to + timedelta(days=1), time(), zone)
        query = query.where(Certificate.issued_at < end)
    return query.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def find_certificates(criteria: CertificateFilter, page: int = 1, per_page: int = 50) -> Page[Certificate]:
    return paginate(filtered_query(criteria).options(joinedload(Certificate.user)), page, per_page)


def export_certificates(criteria: CertificateFilter) -> list[Certificate]:
    """Every certificate of the filter, with its file on disk (missing ones are rendered first).

    Files are checked by size only, so a large export runs at disk speed; the manifest carries the
    recorded SHA-256 of each file for the auditor to check.
    """
    query = filtered_query(criteria).options(joinedload(Certificate.user))
    certificates = list(db.session.execute(query).unique().scalars())
    store = certificate_store()
    missing = [c for c in certificates if c.revocation is None and not _stored_in_full(c, store)]
    for certificate in missing:
        write_certificate_file(certificate, store)
    if missing:  # each write commits, which expires what was loaded: load it again, in one query
        certificates = list(db.session.execute(query).unique().scalars())
    return certificates


def _stored_in_full(certificate: Certificate, store: CertificateStore) -> bool:
    latest = certificate.latest_file
    path = store.path_for(certificate.serial)
    return latest is not None and path.is_file() and path.stat().st_size == latest.size


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


def record_export(
    actor: User | None, criteria: CertificateFilter, count: int, channel: str, ip_address: str = ""
) -> None:
    record_event(
        "certificate.exported",
        actor_id=actor.id if actor else None,
        subject_type="certificate",
        details={"filter": criteria.as_dict(), "count": count, "channel": channel},
        ip_address=ip_address,
    )
    db.session.commit()


def departments_for_filter() -> list[Department]:
    return list(db.session.execute(select(Department).order_by(Department.name)).scalars())


def courses_for_filter() -> list[Course]:
    return list(db.session.execute(select(Course).order_by(Course.title)).scalars())
