"""One person's training transcript as a PDF, through the certificates' rendering stack.

`transcript_view` gathers everything as plain text in frozen dataclasses (no ORM object reaches the
template); `render_transcript` turns it into PDF bytes with `certificates/transcript.html` and
`transcript.css` of the design folder, the same restricted fetcher, fonts and lock as certificates.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from training.audit.services import record_event
from training.auth.models import User
from training.certificates import rules as certificate_rules
from training.certificates.render import DesignError, document_for
from training.certificates.serials import display_serial
from training.clock import format_day, organisation_zone
from training.compliance.status import person_cells
from training.courses.transcript import transcript
from training.db import utcnow
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion
from training.reports.period import Period

TEMPLATE_NAME = "transcript.html"
STYLESHEET_NAME = "transcript.css"
PAGE_SIZES = {"A4": "A4 portrait", "Letter": "letter portrait"}


@dataclass(frozen=True)
class RequiredLine:
    kind: str
    title: str
    status: str
    label: str
    detail: str


@dataclass(frozen=True)
class CompletionLine:
    course: str
    version: int
    completed: str
    score: int
    valid_until: str
    serial: str
    certificate_status: str


@dataclass(frozen=True)
class AttemptLine:
    course: str
    version: int
    started: str
    submitted: str
    score: str
    result: str


@dataclass(frozen=True)
class AttestationLine:
    policy: str
    version: int
    attested: str


@dataclass(frozen=True)
class TranscriptView:
    organisation_name: str
    name: str
    email: str
    employee_id: str
    department: str
    job_title: str
    active: bool
    generated_at: str
    generated_iso: str
    period: str
    required: tuple[RequiredLine, ...]
    completions: tuple[CompletionLine, ...]
    attempts: tuple[AttemptLine, ...]
    attestations: tuple[AttestationLine, ...]


def local_moment(moment: datetime | None) -> str:
    """`24 Nov 2026, 14:05 EST`: a moment in the organisation's timezone, as people read it."""
    if moment is None:
        return ""
    local = moment.astimezone(organisation_zone())
    return f"{format_day(local.date())}, {local:%H:%M %Z}"


def local_day_text(moment: datetime | None) -> str:
    return format_day(moment.astimezone(organisation_zone()).date()) if moment else ""


def transcript_view(person: User, period: Period | None = None, now: datetime | None = None) -> TranscriptView:
    """Everything on one person's transcript: the required items' status today, and their records.

    With a period, completions, attempts and attestations are those of its days only.
    """
    now = now or utcnow()
    zone = organisation_zone()
    bounds = period.bounds(zone) if period else None

    def within(moment: datetime) -> bool:
        return bounds is None or bounds[0] <= moment < bounds[1]

    record = transcript(person.id, now)
    return TranscriptView(
        organisation_name=current_app.config["ORGANISATION_NAME"],
        name=person.name,
        email=person.email,
        employee_id=person.employee_id or "",
        department=person.department.name if person.department else "",
        job_title=person.job_title or "",
        active=person.active,
        generated_at=local_moment(now),
        generated_iso=now.isoformat(timespec="seconds"),
        period=_period_text(period),
        required=tuple(
            RequiredLine(cell.item.kind.title(), cell.item.title, cell.status, cell.label, cell.detail)
            for cell in person_cells(person.id, now)
        ),
        completions=tuple(
            _completion_line(entry) for entry in record.completions if within(entry.completion.completed_at)
        ),
        attempts=tuple(_attempt_line(attempt) for attempt in record.attempts if within(attempt.started_at)),
        attestations=tuple(
            AttestationLine(title, version, local_moment(attested_at))
            for title, version, attested_at in attestations_of(person.id, bounds)
        ),
    )


def _period_text(period: Period | None) -> str:
    if period is None:
        return ""
    return f"{format_day(period.start)} to {format_day(period.end)}"


def _completion_line(entry) -> CompletionLine:
    completion, certificate = entry.completion, entry.certificate
    return CompletionLine(
        course=completion.course.title,
        version=completion.course_version,
        completed=local_day_text(completion.completed_at),
        score=completion.score,
        valid_until=local_day_text(completion.expires_at),
        serial=display_serial(certificate.serial) if certificate else "",
        certificate_status=certificate_rules.STATUS_LABELS[entry.certificate_status] if certificate else "",
    )


def _attempt_line(attempt) -> AttemptLine:
    submitted = attempt.submitted_at is not None
    return AttemptLine(
        course=attempt.course.title,
        version=attempt.course_version,
        started=local_moment(attempt.started_at),
        submitted=local_moment(attempt.submitted_at) if submitted else "Not submitted",
        score=f"{attempt.score}%" if submitted else "",
        result=("Passed" if attempt.passed else "Not passed") if submitted else "In progress",
    )


def attestations_of(user_id: int, bounds: tuple[datetime, datetime] | None = None) -> list[tuple]:
    """(policy title, version, attested at) of one person's attestations, newest first."""
    query = (
        select(Policy.title, PolicyVersion.version, Attestation.attested_at)
        .join(PolicyVersion, PolicyVersion.id == Attestation.policy_version_id)
        .join(Policy, Policy.id == PolicyVersion.policy_id)
        .where(Attestation.user_id == user_id)
        .order_by(Attestation.attested_at.desc(), Attestation.id.desc())
    )
    if bounds is not None:
        query = query.where(Attestation.attested_at >= bounds[0], Attestation.attested_at < bounds[1])
    return list(db.session.execute(query).all())


def render_transcript(view: TranscriptView) -> bytes:
    config = current_app.config
    page_size = config["CERTIFICATE_PAGE_SIZE"]
    if page_size not in PAGE_SIZES:
        raise DesignError(f"Page size must be one of {', '.join(PAGE_SIZES)}, not {page_size!r}.")
    document = document_for(
        Path(config["CERTIFICATE_DESIGN_DIR"]),
        TEMPLATE_NAME,
        STYLESHEET_NAME,
        PAGE_SIZES[page_size],
        config["CERTIFICATE_PDF_VARIANT"],
    )
    html = document.html(view=view)
    return document.render(html, f"transcript {view.email} {view.generated_iso}".encode())


def transcript_pdf(person: User, period: Period | None = None, now: datetime | None = None) -> bytes:
    return render_transcript(transcript_view(person, period, now))


def file_stem(person: User) -> str:
    """`E1001-maria-delgado`: the employee ID (or the record id) and the name, safe in any file system."""
    return f"{_slug(person.employee_id or str(person.id))}-{_slug(person.name)}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower() or "person"


def record_download(actor: User, person: User, ip_address: str = "") -> None:
    record_event(
        "transcript.exported",
        actor_id=actor.id,
        subject_type="user",
        subject_id=str(person.id),
        details={"format": "pdf"},
        ip_address=ip_address,
    )
    db.session.commit()
