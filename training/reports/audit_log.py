"""Searching the audit record (admins only): one page of events with who did them, or all of them as CSV.

Dates in the filter are whole days in the organisation's timezone, as everywhere else in the app.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select

from training.audit.labels import action_label
from training.audit.models import AuditEvent
from training.audit.services import record_event
from training.auth.models import User
from training.auth.search import person_matches
from training.clock import organisation_zone, today
from training.db import LIKE_ESCAPE, literal_like
from training.extensions import db
from training.paging import Page, paginate_rows
from training.spreadsheets import safe_cell

PER_PAGE = 50
CHUNK_SIZE = 1000
CSV_COLUMNS = (
    "When (UTC)",
    "Actor id",
    "Actor name",
    "Actor email",
    "Action",
    "What",
    "Subject type",
    "Subject id",
    "Details (JSON)",
    "Address",
)


@dataclass(frozen=True)
class AuditFilter:
    """`action` is one action (`staff.updated`) or, ending in a dot, every action of a kind (`user.`);
    `prefix` is any beginning of an action, typed in; `address` matches the beginning of an address."""

    q: str = ""
    action: str = ""
    prefix: str = ""
    subject_type: str = ""
    subject_id: str = ""
    address: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict:
        """The filter as it goes into the export's own audit event: only what was set."""
        values = asdict(self) | {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_name: str | None
    actor_email: str | None


def _starts_with(column, text: str):
    return column.like(literal_like(text) + "%", escape=LIKE_ESCAPE)


def _conditions(criteria: AuditFilter) -> list:
    conditions = []
    if criteria.q.strip():
        conditions.append(person_matches(criteria.q))
    if criteria.action.endswith("."):
        conditions.append(_starts_with(AuditEvent.action, criteria.action))
    elif criteria.action:
        conditions.append(AuditEvent.action == criteria.action)
    if criteria.prefix:
        conditions.append(_starts_with(AuditEvent.action, criteria.prefix))
    if criteria.subject_type:
        conditions.append(AuditEvent.subject_type == criteria.subject_type)
    if criteria.subject_id:
        conditions.append(AuditEvent.subject_id == criteria.subject_id)
    if criteria.address:
        conditions.append(_starts_with(AuditEvent.ip_address, criteria.address))
    zone = organisation_zone()
    if criteria.date_from is not None:
        conditions.append(AuditEvent.occurred_at >= datetime.combine(criteria.date_from, time(), zone))
    if criteria.date_to is not None:
        conditions.append(AuditEvent.occurred_at < datetime.combine(criteria.date_to + timedelta(days=1), time(), zone))
    return conditions


def _events(criteria: AuditFilter) -> Select:
    """Events matching the filter with their actor's name and email (one outer join), newest first."""
    return (
        select(AuditEvent, User.name, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*_conditions(criteria))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )


def _count_query(criteria: AuditFilter, until_id: int | None = None) -> Select[tuple[int]]:
    """How many events match, joining the actor only when the filter needs them."""
    query = select(func.count()).select_from(AuditEvent).where(*_conditions(criteria))
    if criteria.q.strip():
        query = query.join(User, User.id == AuditEvent.actor_id)
    if until_id is not None:
        query = query.where(AuditEvent.id <= until_id)
    return query


def _count(criteria: AuditFilter, until_id: int | None = None) -> int:
    return db.session.execute(_count_query(criteria, until_id)).scalar_one()


def audit_page(criteria: AuditFilter, page: int = 1, per_page: int = PER_PAGE) -> Page[AuditRow]:
    """One page of matching events, newest first: two queries (the count, then the page), whatever the rows."""
    rows = paginate_rows(_events(criteria), page, per_page, count=_count_query(criteria))
    return rows.map(lambda row: AuditRow(*row))


# --- CSV export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditExport:
    """The events up to `until_id` (those there were when the export started) and how many match."""

    until_id: int
    rows: int
    file_name: str


def start_export(actor: User, criteria: AuditFilter, ip_address: str = "") -> AuditExport:
    """Fix what the export covers and record it (`audit.exported`, with the filter and row count), committed.

    The export's own event comes after `until_id`, so the file holds exactly the rows it says.
    """
    until_id = db.session.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()
    rows = _count(criteria, until_id)
    record_event(
        "audit.exported",
        actor_id=actor.id,
        subject_type="audit_record",
        details={"format": "csv", "filter": criteria.as_dict(), "rows": rows},
        ip_address=ip_address,
    )
    db.session.commit()
    return AuditExport(until_id, rows, f"audit-record-{today().isoformat()}.csv")


def csv_chunks(criteria: AuditFilter, until_id: int) -> Iterator[bytes]:
    """The CSV as bytes, CHUNK_SIZE events at a time (keyset pagination: nothing held open between chunks)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield b"\xef\xbb\xbf" + _drain(buffer)
    query = _events(criteria).where(AuditEvent.id <= until_id)
    chunk = query
    while True:
        rows = db.session.execute(chunk.limit(CHUNK_SIZE)).all()
        writer.writerows(_csv_row(event, name, email) for event, name, email in rows)
        yield _drain(buffer)
        if len(rows) < CHUNK_SIZE:
            return
        last = rows[-1][0]
        chunk = query.where(_before(last.occurred_at, last.id))


def _before(occurred_at: datetime, event_id: int):
    """Older than the given event in the list's order (compared column by column, so the moment is
    bound as the column's own type on every backend)."""
    return or_(
        AuditEvent.occurred_at < occurred_at,
        and_(AuditEvent.occurred_at == occurred_at, AuditEvent.id < event_id),
    )


def _csv_row(event: AuditEvent, name: str | None, email: str | None) -> list:
    values = [
        event.occurred_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        event.actor_id or "",
        name or "",
        email or "",
        event.action,
        action_label(event.action),
        event.subject_type,
        event.subject_id,
        json.dumps(event.details or {}, sort_keys=True, ensure_ascii=False),
        event.ip_address,
    ]
    return [safe_cell(value) for value in values]


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
