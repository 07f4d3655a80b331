"""What the API returns: the compliance, course and certificate services' answers as JSON-ready dicts.

Field names and shapes here are the public contract described in `openapi.py`; a test checks every
response against that document. Dates (whole days in the organisation's timezone) are ISO dates;
moments are UTC date-times.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from training.api.params import ComplianceQuery, InvalidParameter
from training.audit.services import record_event
from training.auth.models import Department, User
from training.certificates import rules as certificate_rules
from training.certificates.access import certificate_by_serial
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.clock import today
from training.compliance import rules
from training.compliance.people import ComplianceFilter, PersonRow, people_page
from training.compliance.requirements import Item, required_items
from training.compliance.status import Cell, due_soon_days, person_cells
from training.content.models import Course
from training.courses.transcript import transcript
from training.db import utcnow
from training.errors import NotFound
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion

UNKNOWN_PERSON = "No person has this employee id."


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def moment(value: datetime | None) -> str | None:
    """A UTC date-time in RFC 3339 form, to the second: `2026-03-12T14:05:09Z`."""
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


@dataclass(frozen=True)
class ApiCaller:
    """Who reads through the API: a token (no person is signed in) from an address."""

    token_id: int
    ip_address: str = ""


def _record_read(action: str, caller: ApiCaller, subject_type: str, subject_id: str = "", **details) -> None:
    """Personal data left the app through the API: the same audit actions as the web exports."""
    record_event(
        action,
        actor_id=None,
        subject_type=subject_type,
        subject_id=subject_id,
        details={"channel": "api", "format": "json", "token_id": caller.token_id, **details},
        ip_address=caller.ip_address,
    )
    db.session.commit()


# --- the compliance list -------------------------------------------------------------------------


def compliance_list(query: ComplianceQuery, caller: ApiCaller) -> dict:
    """One page of people with their status per required item (`data` and `meta`).

    A page past the last one is empty rather than a repeat of the last page, so a client that
    reads pages until one comes back empty stops.
    """
    criteria = ComplianceFilter(
        q=query.q,
        department_id=_department_id(query.department),
        job_title=query.job_title,
        item=_item_key(query.item_kind, query.item_slug),
        status=query.status,
    )
    items = required_items()
    page = people_page(criteria, items, query.page, query.per_page)
    slugs = item_slugs(items)
    rows = page.items if page.page == query.page else []
    body = {
        "data": [_person_row(row, slugs) for row in rows],
        "meta": {
            "page": query.page,
            "per_page": query.per_page,
            "total": page.total,
            "pages": page.pages,
            "as_of": day(today()),
            "due_soon_days": due_soon_days(),
        },
    }
    # Recorded last: the commit expires what the response is built from.
    _record_read(
        "compliance.exported",
        caller,
        "compliance_matrix",
        filter={
            "q": criteria.q,
            "department_id": criteria.department_id,
            "job_title": criteria.job_title,
            "item": criteria.item,
            "status": criteria.status,
        },
        page=query.page,
        rows=len(rows),
    )
    return body


def _department_id(name: str) -> int | None:
    if not name:
        return None
    department_id = db.session.execute(select(Department.id).where(Department.name == name)).scalar()
    if department_id is None:
        raise InvalidParameter("department", "department names no department; use the department's exact name.")
    return department_id


def _item_key(kind: str, slug: str) -> str:
    if not kind:
        return ""
    model = Course if kind == "course" else Policy
    item_id = db.session.execute(select(model.id).where(model.slug == slug)).scalar()
    if item_id is None:
        raise InvalidParameter("item", f"item names no {kind}; use {kind}:<slug> with an existing {kind}'s slug.")
    return f"{kind}:{item_id}"


def item_slugs(items: list[Item]) -> dict[str, str]:
    """Slugs by item key ("course:3" -> "patient-confidentiality"): one query per kind at most."""
    slugs: dict[str, str] = {}
    for kind, model in (("course", Course), ("policy", Policy)):
        ids = [item.id for item in items if item.kind == kind]
        if ids:
            for item_id, slug in db.session.execute(select(model.id, model.slug).where(model.id.in_(ids))):
                slugs[f"{kind}:{item_id}"] = slug
    return slugs


def _person_row(row: PersonRow, slugs: dict[str, str]) -> dict:
    return _person(row.employee_id, row.name, row.email, row.department, row.job_title) | {
        "status": row.overall,
        "items": [_cell(cell, slugs) for cell in row.cells if cell is not None],
    }


def _person(employee_id: str | None, name: str, email: str, department: str | None, job_title: str) -> dict:
    return {"employee_id": employee_id, "name": name, "email": email, "department": department, "job_title": job_title}


def _cell(cell: Cell, slugs: dict[str, str]) -> dict:
    return {
        "type": cell.item.kind,
        "slug": slugs.get(cell.item.key, ""),
        "title": cell.item.title,
        "status": cell.status,
        "status_label": cell.label,
        "due_on": day(cell.dates.due_on),
        "completed_on": day(cell.dates.completed_on),
        "valid_until": day(cell.dates.valid_until),
    }


# --- one person's transcript ---------------------------------------------------------------------


def person_transcript(employee_id: str, caller: ApiCaller) -> dict:
    """Everything one person must do and has done, found by employee id (deactivated people too).

    The whole record, unlike the transcript pages: an HR system reads it to keep a copy, as an auditor reads the
    PDF, and clients written for version 1 read these lists as complete. Its JSON is about 150 bytes an attempt.
    """
    person = _person_by_employee_id(employee_id)
    cells = person_cells(person.id)
    slugs = item_slugs([cell.item for cell in cells])
    now = utcnow()
    record = transcript(person.id, now)
    department = person.department.name if person.department else None
    body = _person(person.employee_id, person.name, person.email, department, person.job_title) | {
        "active": person.active,
        "hire_date": day(person.hire_date),
        "status": rules.worst(cell.status for cell in cells),
        "obligations": [_cell(cell, slugs) for cell in cells],
        "completions": [_completion(entry) for entry in record.completions],
        "quiz_attempts": [_attempt(attempt) for attempt in record.attempts],
        "attestations": _attestations(person.id),
    }
    _record_read("transcript.exported", caller, "user", str(person.id))
    return body


def _person_by_employee_id(employee_id: str) -> User:
    if not employee_id or len(employee_id) > 64 or "\x00" in employee_id:
        raise NotFound(UNKNOWN_PERSON)
    person = db.session.execute(select(User).where(User.employee_id == employee_id)).scalar()
    if person is None:
        raise NotFound(UNKNOWN_PERSON)
    return person


def _completion(entry) -> dict:
    completion, certificate = entry.completion, entry.certificate
    return {
        "course_slug": completion.course.slug,
        "course_title": completion.course.title,
        "course_version": completion.course_version,
        "completed_at": moment(completion.completed_at),
        "expires_at": moment(completion.expires_at),
        "score": completion.score,
        "certificate_serial": display_serial(certificate.serial) if certificate else None,
        "certificate_status": entry.certificate_status,
    }


def _attempt(attempt) -> dict:
    return {
        "course_slug": attempt.course.slug,
        "course_title": attempt.course.title,
        "started_at": moment(attempt.started_at),
        "submitted_at": moment(attempt.submitted_at),
        "score": attempt.score,
        "passed": attempt.passed,
    }


def _attestations(user_id: int) -> list[dict]:
    rows = db.session.execute(
        select(Policy.slug, Policy.title, PolicyVersion.version, Attestation.attested_at)
        .join(PolicyVersion, PolicyVersion.id == Attestation.policy_version_id)
        .join(Policy, Policy.id == PolicyVersion.policy_id)
        .where(Attestation.user_id == user_id)
        .order_by(Attestation.attested_at.desc(), Attestation.id.desc())
    ).all()
    return [
        {"policy_slug": slug, "policy_title": title, "version": version, "attested_at": moment(attested_at)}
        for slug, title, version, attested_at in rows
    ]


# --- certificates --------------------------------------------------------------------------------


def certificate(serial: str, caller: ApiCaller) -> dict:
    """A certificate by serial (any accepted spelling); unknown and malformed serials are both 404."""
    found: Certificate = certificate_by_serial(serial)
    body = {
        "serial": display_serial(found.serial),
        "status": certificate_rules.certificate_status(found.expires_at, found.revoked_at, utcnow()),
        "name": found.recipient_name,
        "employee_id": found.user.employee_id,
        "course_slug": found.course.slug,
        "course_title": found.course_title,
        "course_version": found.course_version,
        "score": found.score,
        "completed_at": moment(found.completed_at),
        "issued_at": moment(found.issued_at),
        "expires_at": moment(found.expires_at),
        "revoked_at": moment(found.revoked_at),
    }
    _record_read("certificate.exported", caller, "certificate", found.serial, count=1)
    return body
