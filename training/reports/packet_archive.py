"""The audit packet's ZIP: README, the CSV files, a transcript per person and the certificate files.

`write_packet_zip` writes the archive with `ZipWriter` from parts made before (the transcripts, rendered by
the job into its work folder) and from the database, read a chunk at a time: it holds one chunk of people or
certificates, and one file, in memory at a time.
"""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from flask import current_app

from training.clock import organisation_zone
from training.reports.packet import Packet
from training.reports.packet_csv import attempts_csv, attestations_csv
from training.zip_writer import ZipWriter


def write_packet_zip(
    packet: Packet,
    writer: ZipWriter,
    id_chunks: Callable[[], Iterable[list[int]]],
    transcripts: Iterable[tuple[str, Path]],
    certificates: Iterable[tuple[Path, str]],
) -> None:
    """README, the two CSVs (`id_chunks()` gives the people's ids in name order, once per file), a transcript
    per person (name in the ZIP, file) and the certificate files (file, name in the ZIP)."""
    writer.add_bytes("README.txt", readme_text(packet).encode("utf-8"), compress=True)
    writer.add_chunks("attestations.csv", attestations_csv(id_chunks(), packet.period), compress=True)
    writer.add_chunks("attempts.csv", attempts_csv(id_chunks(), packet.period), compress=True)
    for name, path in transcripts:
        writer.add_path(name, path)
    for path, name in certificates:
        writer.add_path(name, path)


def transcript_names(people: Iterable[tuple[int, str]]) -> Iterator[tuple[str, int]]:
    """(name in the ZIP, person id) from (person id, file stem): a stem used before gets the person's id."""
    used: set[str] = set()
    for person_id, stem in people:
        unique = stem if stem not in used else f"{stem}-{person_id}"
        used.add(unique)
        yield f"transcripts/{unique}.pdf", person_id


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
