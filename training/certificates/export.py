"""The bulk export as a background job: a ZIP of stored certificate PDFs with a CSV manifest.

HR asks (`request_certificate_zip`) and gets a job at once; a worker builds the ZIP in batches of `BATCH`
certificates read by keyset (issue time, id), so its memory does not grow with the number of certificates.
After each batch the job commits a checkpoint: where the next batch starts and how long the ZIP, its spooled
central directory and the manifest were. A retry cuts the three files back to those lengths and carries on,
so a worker killed at certificate 30,000 of 44,000 leaves 14,000 to do. The PDFs are stored without
compression (they are compressed already): building the archive costs little more than reading the files.
A file that went missing from the store is rendered again by the job (never by a download).
"""

import csv
import io
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import joinedload

from training.auth.models import User
from training.certificates import rules
from training.certificates.files import certificate_store, stored_in_full, write_certificate_file
from training.certificates.listing import CertificateFilter, export_event, filtered_query
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.clock import day_in, organisation_zone
from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.jobs.results import remove_work, result_path, work_dir
from training.jobs.runner import Progress, Untracked, handler, request_job
from training.spreadsheets import safe_cell
from training.zip_writer import ZipWriter

JOB_KIND = "certificate-zip"
RESULT_NAME = "certificates.zip"
BATCH = 500
MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = (
    "serial",
    "name",
    "email",
    "department",
    "course",
    "course_version",
    "score",
    "completed_on",
    "issued_on",
    "expires_on",
    "status",
    "revoked_on",
    "file",
    "sha256",
)


def file_name(certificate: Certificate) -> str:
    return f"certificates/{display_serial(certificate.serial)}.pdf"


def request_certificate_zip(viewer: User, criteria: CertificateFilter, ip_address: str = "") -> Job:
    """The job making this viewer's ZIP of `criteria`: a new one, or the one already queued or running."""
    filter_ = criteria.as_dict()
    key = f"{JOB_KIND}:{viewer.id}:" + ",".join(f"{name}={value}" for name, value in filter_.items())
    params = {"filter": filter_, "channel": "web", "ip_address": ip_address}
    return request_job(JOB_KIND, key, params, viewer.id)


def criteria_of(params: dict) -> CertificateFilter:
    filter_ = params["filter"]
    return CertificateFilter(
        department_id=filter_["department_id"],
        course_id=filter_["course_id"],
        issued_from=datetime.fromisoformat(filter_["issued_from"]).date() if filter_["issued_from"] else None,
        issued_to=datetime.fromisoformat(filter_["issued_to"]).date() if filter_["issued_to"] else None,
    )


@handler(JOB_KIND)
def make_certificate_zip(job: Job, progress: Progress) -> str:
    criteria = criteria_of(job.params)
    count = build_zip(criteria, work_dir(job), progress)
    os.replace(work_dir(job) / "zip", result_path(job, RESULT_NAME))
    export_event(job.requested_by_id, criteria, count, job.params["channel"], job.params.get("ip_address", ""))
    remove_work(job)
    return RESULT_NAME


def build_zip(criteria: CertificateFilter, folder: Path, progress: Progress | Untracked) -> int:
    """Write the ZIP to `folder`/zip, continuing from the progress's checkpoint; returns the certificates in it."""
    paths = [folder / part for part in ("zip", "directory", "manifest")]
    checkpoint = progress.checkpoint
    if checkpoint and not _parts_kept(paths, checkpoint["lengths"]):
        checkpoint = {}  # the parts are gone (a worker on another server's disk?): start again
    if not checkpoint:
        progress.start(_count(criteria))
    with _open_parts(paths, checkpoint) as (archive, directory, manifest):
        writer = ZipWriter(archive, directory=directory, entries=checkpoint.get("entries", 0))
        done = _add_certificates(criteria, writer, manifest, progress, checkpoint)
        manifest.seek(0)
        writer.add_chunks(MANIFEST_NAME, iter(lambda: manifest.read(1024 * 1024), b""), compress=True)
        writer.close()
    return done


def _parts_kept(paths: list[Path], lengths: list[int]) -> bool:
    return all(path.is_file() and path.stat().st_size >= length for path, length in zip(paths, lengths, strict=True))


@contextmanager
def _open_parts(paths: list[Path], checkpoint: dict) -> Iterator[list[IO[bytes]]]:
    """The ZIP, its central directory and the manifest, cut back to the checkpoint's lengths (a new job: empty)."""
    with ExitStack() as stack:
        files = []
        for path, length in zip(paths, checkpoint.get("lengths", (0, 0, 0)), strict=True):
            handle = stack.enter_context(open(path, "r+b" if length else "w+b"))
            handle.truncate(length)
            handle.seek(0, os.SEEK_END)
            files.append(handle)
        if not checkpoint:
            files[2].write(_manifest_lines([MANIFEST_COLUMNS], bom=True))
        yield files


def _add_certificates(
    criteria: CertificateFilter, writer: ZipWriter, manifest: IO[bytes], progress, checkpoint: dict
) -> int:
    """Each batch's PDFs into the ZIP and rows into the manifest, then a checkpoint with the files' lengths."""
    store, zone, now = certificate_store(), organisation_zone(), utcnow()
    done = checkpoint.get("done", 0)
    for batch in _batches(criteria, checkpoint.get("after")):
        rows = []
        for certificate in batch:
            included = _ready_file(certificate, store)
            if included:
                writer.add_path(file_name(certificate), store.path_for(certificate.serial))
            rows.append(manifest_row(certificate, zone, now, included))
        manifest.write(_manifest_lines(rows))
        done += len(batch)
        parts = (writer.target, writer.directory, manifest)
        for handle in parts:
            handle.flush()
            os.fsync(handle.fileno())
        after = [batch[-1].issued_at.isoformat(), batch[-1].id]
        lengths = [handle.tell() for handle in parts]
        progress.advance(done, {"after": after, "done": done, "entries": writer.count, "lengths": lengths})
    return done


def _ready_file(certificate: Certificate, store) -> bool:
    """True when the certificate's PDF goes in: not revoked, its file stored (rendered again if it went missing)."""
    if certificate.revocation is not None:
        return False
    if not stored_in_full(certificate, store):
        write_certificate_file(certificate, store)
    return True


def _count(criteria: CertificateFilter) -> int:
    query = filtered_query(criteria).order_by(None).with_only_columns(func.count(Certificate.id))
    return db.session.execute(query).scalar_one()


def _batches(criteria: CertificateFilter, after: list | None) -> Iterator[list[Certificate]]:
    """The filter's certificates, newest first, `BATCH` at a time, each batch a keyset query from the last."""
    query = filtered_query(criteria).options(joinedload(Certificate.user).joinedload(User.department))
    while True:
        bounded = query
        if after is not None:
            issued_at, last_id = datetime.fromisoformat(after[0]), after[1]
            bounded = query.where(
                or_(
                    Certificate.issued_at < issued_at,
                    and_(Certificate.issued_at == issued_at, Certificate.id < last_id),
                )
            )
        batch = list(db.session.execute(bounded.limit(BATCH)).unique().scalars())
        if not batch:
            return
        after = [batch[-1].issued_at.isoformat(), batch[-1].id]
        yield batch


def manifest_row(certificate: Certificate, zone, now: datetime, included: bool) -> tuple:
    """One manifest line; a revoked certificate is listed, but its file is left out."""
    revoked_at = certificate.revoked_at
    latest = certificate.latest_file
    department = certificate.user.department
    return (
        display_serial(certificate.serial),
        certificate.recipient_name,
        certificate.user.email,
        department.name if department else "",
        certificate.course_title,
        certificate.course_version,
        certificate.score,
        day_in(certificate.completed_at, zone),
        day_in(certificate.issued_at, zone),
        day_in(certificate.expires_at, zone),
        rules.certificate_status(certificate.expires_at, revoked_at, now),
        day_in(revoked_at, zone),
        file_name(certificate) if included else "",
        latest.sha256 if included and latest else "",
    )


def _manifest_lines(rows, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([safe_cell(value) for value in row] for row in rows)
    # The byte order mark makes Excel read UTF-8 names correctly.
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")
