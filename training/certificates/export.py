"""The bulk export: a ZIP of stored certificate PDFs with a CSV manifest, streamed as it is read.

The PDFs are stored without compression (they are compressed already), so serving the archive
costs little more than reading the files from disk.
"""

import csv
import io
from zoneinfo import ZoneInfo

from zipstream import ZIP_STORED, ZipStream

from training.certificates import rules
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.certificates.storage import CertificateStore
from training.clock import day_in
from training.db import utcnow
from training.spreadsheets import safe_cell

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


def manifest_csv(certificates: list[Certificate], zone: ZoneInfo) -> bytes:
    """One row per certificate; a revoked certificate is listed, but its file is left out."""
    now = utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for certificate in certificates:
        revoked_at = certificate.revoked_at
        latest = certificate.latest_file
        included = revoked_at is None and latest is not None
        department = certificate.user.department
        writer.writerow(
            safe_cell(value)
            for value in (
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
                latest.sha256 if included else "",
            )
        )
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8 names correctly


def certificate_zip(certificates: list[Certificate], store: CertificateStore, zone: ZoneInfo) -> ZipStream:
    """A sized ZIP stream (its length is known before the first byte) of the manifest and the PDFs."""
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    archive.add(manifest_csv(certificates, zone), MANIFEST_NAME)
    for certificate in certificates:
        if certificate.revoked_at is None and certificate.latest_file is not None:
            archive.add_path(str(store.path_for(certificate.serial)), file_name(certificate))
    return archive
