"""The audit packet as a background job: asked for in a request, made by a worker, resumable.

The request checks the form and the viewer's access and counts the records (`prepare_packet`), then asks for
the job: quick, whatever the department's size. The worker renders one transcript per person (the slow part,
about a quarter of a second each, so spread over JOBS_RENDER_PROCESSES processes) into the job's work folder,
`TRANSCRIPT_BATCH` people at a time by id, with a checkpoint after each batch: a retry renders only the people
not done yet. Then it writes the ZIP from those
files, the CSVs and the stored certificate files, reading people and certificates by keyset a chunk at a time,
and records the audit event with the job's "done".
"""

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select

from training.auth.models import User
from training.certificates.files import stored_pdf
from training.certificates.models import Certificate, CertificateRevocation
from training.certificates.serials import display_serial
from training.clock import organisation_zone
from training.extensions import db
from training.jobs.models import Job
from training.jobs.queue import process_pool
from training.jobs.results import remove_work, result_path, work_dir
from training.jobs.runner import Progress, handler, request_job
from training.reports.packet import PACKET_ROLES, Packet, PacketRequest, in_period, packet_event, prepare_packet
from training.reports.packet_archive import transcript_names, write_packet_zip
from training.reports.period import Period
from training.reports.transcript_pdf import file_stem, transcript_pdf
from training.zip_writer import ZipWriter

__all__ = ["JOB_KIND", "PACKET_ROLES", "request_packet"]

JOB_KIND = "audit-packet"
TRANSCRIPT_BATCH = 20
CHUNK = 500


def request_packet(viewer: User, wanted: PacketRequest, ip_address: str = "") -> Job:
    """Check the request (a refusal raises `PacketRefused` at once) and ask for its job, once per viewer and scope."""
    prepared = prepare_packet(viewer, wanted)
    scope = prepared.scope_details
    params = {
        **scope,
        "person": wanted.person,
        "from": wanted.period.start.isoformat(),
        "to": wanted.period.end.isoformat(),
        "ip_address": ip_address,
    }
    scope_key = ",".join(f"{name}={value}" for name, value in sorted(scope.items()))
    key = f"{JOB_KIND}:{viewer.id}:{scope_key}:{params['from']}:{params['to']}"
    return request_job(JOB_KIND, key, params, viewer.id)


def request_of(params: dict) -> PacketRequest:
    return PacketRequest(
        person=params["person"],
        department_id=params.get("department_id"),
        period=Period(date.fromisoformat(params["from"]), date.fromisoformat(params["to"])),
    )


@handler(JOB_KIND)
def make_packet(job: Job, progress: Progress) -> str:
    """The requester's access is checked again: a manager moved to another department since gets no packet."""
    viewer = db.session.get(User, job.requested_by_id)
    prepared = prepare_packet(viewer, request_of(job.params), now=job.created_at)
    if not progress.checkpoint:
        progress.start(prepared.counts.people)
    folder = work_dir(job)
    transcripts = folder / "transcripts"
    transcripts.mkdir(exist_ok=True)
    _render_transcripts(prepared, transcripts, progress)
    archive = folder / "packet.zip"
    with open(archive, "wb") as target:
        writer = ZipWriter(target, moment=prepared.generated_at.timestamp())
        write_packet_zip(
            prepared,
            writer,
            lambda: ([row.id for row in rows] for rows in people_rows(prepared.people)),
            _transcript_files(prepared.people, transcripts),
            _certificate_files(prepared),
        )
        writer.close()
    os.replace(archive, result_path(job, prepared.file_name))
    packet_event(job.requested_by_id, prepared, job.params.get("ip_address", ""))
    remove_work(job)
    return prepared.file_name


def _render_transcripts(prepared: Packet, folder: Path, progress: Progress) -> None:
    """One PDF per person, `<id>.pdf`, in batches by id from the checkpoint's, rendered by
    JOBS_RENDER_PROCESSES processes; the checkpoint moves past a batch once it and every batch before it
    are done, so a retry renders only what was not finished."""
    checkpoint = progress.checkpoint
    after, done = checkpoint.get("after_id", 0), checkpoint.get("done", 0)
    if sum(1 for _ in folder.glob("*.pdf")) < done:
        after, done = 0, 0  # the transcripts are gone (a worker on another server's disk?): start again
    work = (prepared.period.start, prepared.period.end, prepared.generated_at, str(folder))
    processes = current_app.config["JOBS_RENDER_PROCESSES"]
    pending: deque[tuple[list[int], Future]] = deque()
    with _renderers(processes) as submit:
        for ids in _id_batches(prepared.people, after):
            pending.append((ids, submit(render_transcripts, ids, *work)))
            while len(pending) > 2 * processes or (pending and pending[0][1].done()):
                done = _finished(pending.popleft(), done, progress)
        while pending:
            done = _finished(pending.popleft(), done, progress)


def _finished(batch: tuple[list[int], Future], done: int, progress: Progress) -> int:
    ids, future = batch
    future.result()
    done += len(ids)
    progress.advance(done, {"after_id": ids[-1], "done": done})
    return done


@contextmanager
def _renderers(processes: int) -> Iterator[Callable[..., Future]]:
    """A `submit` that runs the work in a pool of processes, or here and now with one process."""
    if processes > 1:
        with process_pool(processes) as pool:
            yield pool.submit
        return

    def here(function, *arguments) -> Future:
        future: Future = Future()
        future.set_result(function(*arguments))
        return future

    yield here


def _id_batches(people: Select, after: int) -> Iterator[list[int]]:
    query = people.with_only_columns(User.id).order_by(None).order_by(User.id).limit(TRANSCRIPT_BATCH)
    while ids := list(db.session.execute(query.where(User.id > after)).scalars()):
        after = ids[-1]
        yield ids


def render_transcripts(ids: list[int], start: date, end: date, generated_at: datetime, folder: str) -> None:
    """The transcripts of these people, each written to `folder`/<id>.pdf (in a pool's process, or the job's)."""
    period = Period(start, end)
    for person in db.session.execute(select(User).where(User.id.in_(ids))).scalars():
        (Path(folder) / f"{person.id}.pdf").write_bytes(transcript_pdf(person, period, generated_at))


def people_rows(people: Select) -> Iterator[list]:
    """The people of `people` as rows (id, name, employee_id), in name order, `CHUNK` at a time by keyset."""
    name = func.lower(User.name)
    query = people.with_only_columns(User.id, User.name, User.employee_id, name.label("sort_name")).limit(CHUNK)
    last = None
    while True:
        bounded = query if last is None else query.where(or_(name > last[0], and_(name == last[0], User.id > last[1])))
        rows = db.session.execute(bounded).all()
        if not rows:
            return
        yield rows
        last = (rows[-1].sort_name, rows[-1].id)


def _transcript_files(people: Select, folder: Path) -> Iterator[tuple[str, Path]]:
    stems = ((row.id, file_stem(row)) for rows in people_rows(people) for row in rows)
    for name, person_id in transcript_names(stems):
        yield name, folder / f"{person_id}.pdf"


def _certificate_files(prepared: Packet) -> Iterator[tuple[Path, str]]:
    """Each unrevoked certificate issued in the period, its file checked against its recorded SHA-256 first
    (`stored_pdf` renders a missing or altered one again), so the packet never carries a stale file. Revoked
    certificates are left out (the transcripts list them as revoked), as in every other download."""
    ids = prepared.people.with_only_columns(User.id).order_by(None)
    query = (
        select(Certificate)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(*in_period(Certificate.user_id, Certificate.issued_at, ids, prepared.period.bounds(organisation_zone())))
        .where(CertificateRevocation.id.is_(None))
        .order_by(Certificate.issued_at, Certificate.id)
        .limit(CHUNK)
    )
    after: tuple[datetime, int] | None = None
    while True:
        bounded = query
        if after is not None:
            issued_at, last_id = after
            later = and_(Certificate.issued_at == issued_at, Certificate.id > last_id)
            bounded = query.where(or_(Certificate.issued_at > issued_at, later))
        batch = list(db.session.execute(bounded).scalars())
        if not batch:
            return
        after = (batch[-1].issued_at, batch[-1].id)
        for certificate in batch:
            yield stored_pdf(certificate), f"certificates/{display_serial(certificate.serial)}.pdf"
