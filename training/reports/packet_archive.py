"""The audit packet's ZIP: README, the CSV files, a transcript per person and the certificate files.

The archive is produced while it is read: transcript PDFs and the CSV files are made when the ZIP
reaches them, so a large department never sits in memory.
"""

from collections.abc import Iterable, Iterator

from flask import current_app
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from training.auth.models import User
from training.clock import organisation_zone
from training.extensions import db
from training.reports.packet import Packet, PacketPerson
from training.reports.packet_csv import attempts_csv, attestations_csv
from training.reports.transcript_pdf import transcript_pdf


def packet_zip(packet: Packet) -> ZipStream:
    """README, the two CSVs, a transcript per person and the certificate files, produced as it is read."""
    archive = ZipStream(compress_type=ZIP_STORED)
    archive.add(readme_text(packet).encode("utf-8"), "README.txt", compress_type=ZIP_DEFLATED)
    archive.add(attestations_csv(packet), "attestations.csv", compress_type=ZIP_DEFLATED)
    archive.add(attempts_csv(packet), "attempts.csv", compress_type=ZIP_DEFLATED)
    for name, person in _transcript_names(packet.people):
        archive.add(_transcript_bytes(person.id, packet), name)
    for path, name in packet.certificate_files:
        archive.add_path(path, name)
    return archive


def _transcript_names(people: Iterable[PacketPerson]) -> Iterator[tuple[str, PacketPerson]]:
    used: set[str] = set()
    for person in people:
        stem = person.stem if person.stem not in used else f"{person.stem}-{person.id}"
        used.add(stem)
        yield f"transcripts/{stem}.pdf", person


def _transcript_bytes(user_id: int, packet: Packet) -> Iterator[bytes]:
    """Rendered when the ZIP reaches this file, so one transcript at a time is in memory."""
    yield transcript_pdf(db.session.get(User, user_id), packet.period, packet.generated_at)


def readme_text(packet: Packet) -> str:
    config = current_app.config
    zone = organisation_zone()
    generated = packet.generated_at.astimezone(zone)
    counts = packet.counts
    lines = [
        "Training records audit packet",
        "=============================",
        "",
        f"Organisation:  {config['ORGANISATION_NAME']}",
        f"Covers:        {packet.scope}",
        f"Period:        {packet.period.describe()} (both days included, timezone {zone.key})",
        f"Generated:     {generated.isoformat(timespec='seconds')} by {packet.generated_by}",
        "",
        "Contents",
        "--------",
        f"transcripts/       {counts.people} PDF(s), one per person: the training required of them and its status",
        "                   on the day generated, then every completion, quiz attempt and policy attestation",
        "                   in the period.",
        f"certificates/      {counts.certificates} certificate PDF(s) issued in the period. Each can be checked at",
        f"                   {config['PUBLIC_BASE_URL'].rstrip('/')}/verify/<serial>.",
        f"                   Revoked certificates ({counts.revoked_certificates}) are not included; the",
        "                   transcripts list them as revoked.",
        f"attestations.csv   {counts.attestations} policy attestation(s): who, which policy version, when, the",
        "                   statement agreed to and the network address it came from.",
        f"attempts.csv       {counts.answers} answered question(s) from {counts.attempts} quiz attempt(s), each with",
        "                   the question version that was asked, the options in the order they were shown,",
        "                   the options selected and whether the answer was correct.",
        "",
        f"Completions in the period: {counts.completions}.",
        "",
        "About these records",
        "-------------------",
        "Completions, quiz attempts and answers, certificates, attestations and the audit trail are",
        "append-only: they are never edited in place, and a correction is a new record. Questions are",
        "versioned, so an attempt always shows the exact wording that was asked, even after the question",
        "bank changed. The organisation keeps this documentation for at least six years from the date it",
        "was created or last in effect, whichever is later (45 CFR 164.530(j)(2)).",
        "",
        "Times in the CSV files are ISO 8601 in the organisation's timezone. The CSV files are UTF-8;",
        "text that a spreadsheet would run as a formula starts with an apostrophe.",
        "",
    ]
    return "\r\n".join(lines)
