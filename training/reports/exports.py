"""Exports made by background jobs: who may see a job and fetch its file, and the email that says it is ready.

Each export's area asks for its job (`certificates.export`, `reports.packet_job`); this module serves all of
them, which is why it sits in reports, above both. A job's file is for the person who asked for it, and for HR
and admins (who see every department); every look at a job checks the viewer's scope again, so a manager who
has moved department cannot fetch a packet of the old one.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from training import events
from training.auth.models import User
from training.certificates import export as certificate_export
from training.certificates.access import VIEW_ANY_ROLES
from training.clock import local_time
from training.compliance.people import VIEW_ALL_ROLES, can_view_person
from training.db import utcnow
from training.errors import Forbidden, NotFound
from training.extensions import db
from training.jobs.models import Job
from training.jobs.results import result_path
from training.mail import MailConfigError, MailError, MailSettings, build_message, transport_for
from training.reports import matrix_job, packet_job
from training.urls import public_url

log = logging.getLogger(__name__)

# Who may see each kind of export job at all (the requester's role when they asked was one of these).
KIND_ROLES = {
    certificate_export.JOB_KIND: VIEW_ANY_ROLES,
    packet_job.JOB_KIND: packet_job.PACKET_ROLES,
    matrix_job.JOB_KIND: packet_job.PACKET_ROLES,
}
TITLES = {
    certificate_export.JOB_KIND: "Certificates ZIP",
    packet_job.JOB_KIND: "Audit packet",
    matrix_job.JOB_KIND: "Compliance spreadsheet",
}
NOUNS = {
    certificate_export.JOB_KIND: "certificates ZIP",
    packet_job.JOB_KIND: "audit packet",
    matrix_job.JOB_KIND: "compliance spreadsheet (Excel)",
}


@dataclass(frozen=True)
class ExportState:
    """What the job page shows: `state` is preparing, ready, expired or failed."""

    job_id: int
    title: str
    state: str
    done: int
    total: int
    file_name: str | None
    expires_at: datetime | None


def job_for_viewer(viewer: User, job_id: int) -> Job:
    """The export job if the viewer may see it: its requester or HR/admin, with the scope checked now."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind not in KIND_ROLES:
        raise NotFound("There is no such export.")
    if viewer.role not in KIND_ROLES[job.kind]:
        raise Forbidden("You cannot see this export.")
    if viewer.id != job.requested_by_id and viewer.role not in VIEW_ALL_ROLES:
        raise Forbidden("Only the person who asked for this export, or HR, can see it.")
    _check_scope(viewer, job.params)
    return job


def _check_scope(viewer: User, params: dict) -> None:
    department_id = params.get("department_id")
    if department_id is not None and viewer.role not in VIEW_ALL_ROLES and viewer.department_id != department_id:
        raise Forbidden("This export covers a department you cannot see.")
    person_id = params.get("person_id")
    if person_id is not None:
        person = db.session.get(User, person_id)
        if person is None or not can_view_person(viewer, person):
            raise Forbidden("This export covers a person you cannot see.")


def export_state(job: Job, now: datetime | None = None) -> ExportState:
    now = now or utcnow()
    if job.status == "failed":
        state = "failed"
    elif job.status != "done":
        state = "preparing"
    elif _expired(job, now):
        state = "expired"
    else:
        state = "ready"
    return ExportState(
        job.id, TITLES[job.kind], state, job.done_count, job.total_count, job.result_name, job.expires_at
    )


def _expired(job: Job, now: datetime) -> bool:
    return job.expires_at is None or job.expires_at <= now or not result_path(job).is_file()


def downloadable_file(job: Job):
    """The finished file's path, or None when it is not ready yet or no longer kept (expired files are deleted)."""
    state = export_state(job)
    if state.state == "expired":
        result_path(job).unlink(missing_ok=True)
    return result_path(job) if state.state == "ready" else None


def ready_email_text(noun: str, link: str, until: datetime, organisation: str) -> str:
    return (
        f"The {noun} you asked for is ready.\n\n"
        f"Download it here (you will be asked to sign in):\n{link}\n\n"
        f"The file is kept until {local_time(until)}; after that, ask for it again.\n\n"
        f"{organisation} Training\n"
    )


def send_ready_email(sender, user_ids: list[int] | None = None, job_id: int | None = None, **_) -> None:
    """Email the requester a link to the job page; a mail problem is logged, the export stays ready."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind not in KIND_ROLES or not user_ids:
        return
    user = db.session.get(User, user_ids[0])
    config = current_app.config
    try:
        settings = MailSettings.from_config(config)
        message = build_message(
            settings.sender,
            user.name,
            user.email,
            f"Your {NOUNS[job.kind]} is ready",
            ready_email_text(
                NOUNS[job.kind], public_url(f"/exports/{job.id}"), job.expires_at, config["ORGANISATION_NAME"]
            ),
        )
        with transport_for(settings, log.info) as transport:
            transport.send(message)
    except (MailConfigError, MailError) as problem:
        log.error("The ready email for export job %s was not sent: %s", job.id, problem)


events.job_finished.connect(send_ready_email)
