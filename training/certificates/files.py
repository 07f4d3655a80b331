"""A certificate's PDF file: rendering it, storing and reading it, recording its SHA-256, re-rendering lost files."""

import logging
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from training.audit.services import record_event
from training.certificates.models import Certificate, CertificateFile
from training.certificates.render import CertificateView, DesignSettings, renderer_for
from training.certificates.serials import display_serial
from training.certificates.storage import CertificateStore, sha256_hex
from training.clock import local_date_text
from training.completions.models import Completion
from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.jobs.runner import Progress, Untracked, handler, request_job
from training.urls import public_url

log = logging.getLogger(__name__)


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
    return public_url(f"/verify/{serial}")


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


def pdf_for_download(certificate: Certificate) -> bytes | None:
    """The stored file's bytes when they are byte for byte the latest recorded file; None when it must be rendered.

    A download never renders: a missing or altered file is rendered by a job (`request_render`), so the request
    answers at disk speed whatever the renderer costs. The bytes served are the bytes checked (read once, not
    opened again by name after the check); a storage that cannot be read counts as a missing file.
    """
    latest = certificate.latest_file
    if latest is None:
        return None
    try:
        data = certificate_store().read(certificate.serial)
    except OSError:
        log.warning(
            "Could not read certificate %s from storage; a job will render it again", certificate.serial, exc_info=True
        )
        return None
    return data if data is not None and sha256_hex(data) == latest.sha256 else None


def request_render(certificate: Certificate) -> Job:
    """The job that renders and stores the certificate's file (one at a time per certificate: asking again finds it)."""
    return request_job(RENDER_JOB, f"{RENDER_JOB}:{certificate.id}", {"certificate_id": certificate.id}, None)


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

    A rendering failure must not undo a learner's completion, so it is logged and a job is asked
    for that renders the file again (with the queue's retries and backoff); a download before then
    shows that the file is being prepared. With CERTIFICATE_RENDER_AT_COMPLETION off (the test suite's
    default: only the tests that look at certificates render them) the first download asks for that job.
    """
    if completion is None or not current_app.config["CERTIFICATE_RENDER_AT_COMPLETION"]:
        return
    certificate = db.session.execute(select(Certificate).where(Certificate.completion_id == completion.id)).scalar_one()
    try:
        write_certificate_file(certificate)
    except Exception:
        db.session.rollback()
        log.exception("Could not render certificate %s; a job will render it again", certificate.serial)
        request_render(certificate)


RENDER_JOB = "certificate-render"


@handler(RENDER_JOB)
def render_one(job: Job, progress: Progress) -> None:
    """The file of one certificate whose rendering failed when it was issued, or that a download found missing
    or altered (unless it was made since)."""
    certificate = db.session.get(Certificate, job.params["certificate_id"])
    progress.start(1)
    if certificate is not None and not _stored_file_intact(certificate, certificate_store()):
        write_certificate_file(certificate)


RENDER_MISSING_JOB = "certificate-render-missing"
RENDER_BATCH = 200


def request_render_missing() -> Job:
    """Ask for the job that renders every missing or altered file (one at a time: asking again finds it)."""
    return request_job(RENDER_MISSING_JOB, RENDER_MISSING_JOB, {}, None)


@handler(RENDER_MISSING_JOB)
def render_missing_job(job: Job, progress: Progress) -> None:
    checked, rendered = render_missing(progress)
    job.params = {**job.params, "checked": checked, "rendered": rendered}


def render_missing(progress: Progress | Untracked) -> tuple[int, int]:
    """Check every certificate's stored file against its record, by id `RENDER_BATCH` at a time, and render the
    missing or altered ones; the checkpoint after each batch lets a retry start where the last try stopped.
    Returns (checked, rendered)."""
    store = certificate_store()
    checkpoint = progress.checkpoint
    if not checkpoint:
        progress.start(db.session.execute(select(func.count(Certificate.id))).scalar_one())
    after, checked, rendered = checkpoint.get("after_id", 0), checkpoint.get("done", 0), checkpoint.get("rendered", 0)
    query = select(Certificate).order_by(Certificate.id).limit(RENDER_BATCH)
    while batch := list(db.session.execute(query.where(Certificate.id > after)).scalars()):
        after = batch[-1].id
        for certificate in batch:
            if not _stored_file_intact(certificate, store):
                write_certificate_file(certificate, store)
                rendered += 1
        checked += len(batch)
        progress.advance(checked, {"after_id": after, "done": checked, "rendered": rendered})
    return checked, rendered


def stored_in_full(certificate: Certificate, store: CertificateStore) -> bool:
    """The stored file exists with the size recorded: a check at disk speed, for exports."""
    latest = certificate.latest_file
    path = store.path_for(certificate.serial)
    return latest is not None and path.is_file() and path.stat().st_size == latest.size
