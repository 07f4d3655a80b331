"""The compliance matrix as CSV or XLSX: one row per person and required item (long format).

People come from `compliance.people.filtered_people`, the people list's own query, read in chunks
of `CHUNK_SIZE` by keyset pagination; each chunk's obligations are loaded with `cells_for`. So an
export of 50,000 people never holds more than one chunk of people and their cells in memory.

With an item or status filter, the rows are the obligations that match it (the people list shows
the same people; the export leaves out their other items), which is what a pivot table wants.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

import xlsxwriter
from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import joinedload

from training.audit.services import record_event
from training.auth.models import User
from training.compliance import rules
from training.compliance.models import Obligation
from training.compliance.people import NON_COMPLIANT_FILTER, ComplianceFilter, filtered_people
from training.compliance.requirements import Item, required_items
from training.compliance.status import cells_for, due_soon_days, non_compliant_condition, status_case
from training.extensions import db
from training.spreadsheets import safe_cell

CHUNK_SIZE = 1000
# Excel's limit is 1,048,576 rows a sheet; one is the header. Longer exports continue on a new sheet.
MAX_SHEET_ROWS = 1_048_575

COLUMNS = (
    ("Employee ID", 14),
    ("Name", 28),
    ("Email", 32),
    ("Department", 22),
    ("Job title", 24),
    ("Manager email", 32),
    ("Item type", 10),
    ("Item", 44),
    ("Status", 13),
    ("Due date", 12),
    ("Completed on", 13),
    ("Valid until", 12),
    ("As of", 12),
)
KIND_LABELS = {"course": "Course", "policy": "Policy"}


@dataclass(frozen=True)
class MatrixRow:
    employee_id: str
    name: str
    email: str
    department: str
    job_title: str
    manager_email: str
    item_type: str
    item_title: str
    status: str
    due_on: date
    completed_on: date | None
    valid_until: date | None
    as_of: date

    def values(self) -> tuple:
        return (
            self.employee_id,
            self.name,
            self.email,
            self.department,
            self.job_title,
            self.manager_email,
            self.item_type,
            self.item_title,
            self.status,
            self.due_on,
            self.completed_on,
            self.valid_until,
            self.as_of,
        )


def file_name(on: date, extension: str) -> str:
    return f"compliance-{on.isoformat()}.{extension}"


def people_chunks(criteria: ComplianceFilter, on: date) -> Iterator[list[User]]:
    """The filtered people in the people list's order, `CHUNK_SIZE` at a time (keyset pagination).

    Each chunk is its own bounded query that starts after the last (name, id) of the previous one,
    so the database never sorts or skips more than it returns, and nothing stays open between chunks.
    """
    sort_name = func.lower(User.name)
    query = filtered_people(criteria, on).add_columns(sort_name.label("sort_name")).options(joinedload(User.manager))
    after = None
    while True:
        page = query if after is None else query.where(tuple_(sort_name, User.id) > tuple_(*after))
        rows = db.session.execute(page.limit(CHUNK_SIZE)).all()
        if not rows:
            return
        yield [row[0] for row in rows]
        if len(rows) < CHUNK_SIZE:
            return
        after = (rows[-1].sort_name, rows[-1][0].id)


def row_chunks(criteria: ComplianceFilter, on: date) -> Iterator[list[MatrixRow]]:
    """The matrix rows of each chunk of people: two queries a chunk (people, then their obligations)."""
    items = wanted_items(criteria)
    for people in people_chunks(criteria, on):
        cells = cells_for([person.id for person in people], items, on)
        yield [row for person in people for row in _person_rows(person, items, cells.get(person.id, {}), criteria, on)]


def wanted_items(criteria: ComplianceFilter) -> list[Item]:
    items = required_items()
    return [item for item in items if item.key == criteria.item] if criteria.item else items


def _person_rows(person: User, items: list[Item], cells: dict, criteria: ComplianceFilter, on: date):
    for item in items:
        cell = cells.get(item.key)
        if cell is None or not status_matches(cell.status, criteria.status):
            continue
        yield MatrixRow(
            employee_id=person.employee_id or "",
            name=person.name,
            email=person.email,
            department=person.department.name if person.department else "",
            job_title=person.job_title or "",
            manager_email=person.manager.email if person.manager else "",
            item_type=KIND_LABELS[item.kind],
            item_title=item.title,
            status=cell.label,
            due_on=cell.dates.due_on,
            completed_on=cell.dates.completed_on,
            valid_until=cell.dates.valid_until,
            as_of=on,
        )


def status_matches(status: str, wanted: str) -> bool:
    if not wanted:
        return True
    if wanted == NON_COMPLIANT_FILTER:
        return status in rules.NON_COMPLIANT
    return status == wanted


def count_rows(criteria: ComplianceFilter, on: date) -> int:
    """How many rows the export has, counted by the database (for the audit record, before streaming)."""
    items = wanted_items(criteria)
    if not items:
        return 0
    people = filtered_people(criteria, on).order_by(None).with_only_columns(User.id)
    course_ids = [item.id for item in items if item.kind == "course"]
    policy_ids = [item.id for item in items if item.kind == "policy"]
    query = (
        select(func.count())
        .select_from(Obligation)
        .where(Obligation.user_id.in_(people))
        .where(or_(Obligation.course_id.in_(course_ids), Obligation.policy_id.in_(policy_ids)))
    )
    if criteria.status == NON_COMPLIANT_FILTER:
        query = query.where(non_compliant_condition(on))
    elif criteria.status in rules.LABELS:
        query = query.where(status_case(on, due_soon_days()) == criteria.status)
    return db.session.execute(query).scalar_one()


# --- CSV ----------------------------------------------------------------------------------------------


def csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(value)


def csv_chunks(criteria: ComplianceFilter, on: date) -> Iterator[bytes]:
    """The CSV as bytes, one piece per chunk of people; UTF-8 with a BOM so that Excel reads names right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(title for title, _ in COLUMNS)
    yield b"\xef\xbb\xbf" + _drain(buffer)
    for rows in row_chunks(criteria, on):
        writer.writerows([csv_cell(value) for value in row.values()] for row in rows)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


# --- XLSX ---------------------------------------------------------------------------------------------


def write_xlsx(
    criteria: ComplianceFilter, on: date, target: IO[bytes], written_so_far: Callable[[int], None] | None = None
) -> int:
    """Write the workbook into `target` (a file); returns the number of data rows. `written_so_far` hears the
    number of rows written after each chunk (the job's progress).

    An XLSX file is a ZIP archive whose central directory, at the end, lists every part with its
    size and checksum, and whose sheet part must be complete before it is compressed into the
    archive: no byte of a valid file can be sent before the last row is written. So the workbook is
    written to a temporary file and streamed from there. XlsxWriter's `constant_memory` mode writes
    each row to disk as it goes, so memory stays flat however many rows there are.
    """
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    formats = {
        "header": workbook.add_format({"bold": True, "bottom": 1}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
    }
    sheet, written, total = None, 0, 0
    for rows in row_chunks(criteria, on):
        for row in rows:
            if sheet is None or written == MAX_SHEET_ROWS:
                _finish_sheet(sheet, written)
                sheet, written = _new_sheet(workbook, formats), 0
            written += 1
            _write_row(sheet, written, row.values(), formats["date"])
        total += len(rows)
        if written_so_far is not None:
            written_so_far(total)
    if sheet is None:
        sheet = _new_sheet(workbook, formats)
    _finish_sheet(sheet, written)
    workbook.close()
    return total


def _new_sheet(workbook, formats):
    number = len(workbook.worksheets()) + 1
    sheet = workbook.add_worksheet("Compliance" if number == 1 else f"Compliance ({number})")
    for column, (title, width) in enumerate(COLUMNS):
        sheet.set_column(column, column, width)
        sheet.write_string(0, column, title, formats["header"])
    sheet.freeze_panes(1, 0)
    return sheet


def _finish_sheet(sheet, rows: int) -> None:
    if sheet is not None:
        sheet.autofilter(0, 0, max(rows, 1), len(COLUMNS) - 1)


def _write_row(sheet, row_number: int, values: tuple, date_format) -> None:
    """Typed writes only: text is always a string cell (never a formula), dates are real Excel dates."""
    for column, value in enumerate(values):
        if value is None or value == "":
            continue
        if isinstance(value, date):
            sheet.write_datetime(row_number, column, value, date_format)
        else:
            sheet.write_string(row_number, column, safe_cell(str(value)))


# --- the audit record -----------------------------------------------------------------------------------


def record_export(actor: User, criteria: ComplianceFilter, file_format: str, rows: int, ip_address: str = "") -> None:
    """Who exported which filter as what, and how many rows, committed before the file is sent."""
    export_event(actor.id, criteria, file_format, rows, ip_address)
    db.session.commit()


def export_event(actor_id: int, criteria: ComplianceFilter, file_format: str, rows: int, ip_address: str) -> None:
    """The audit event of an export, added to the session (a job commits it with its "done")."""
    record_event(
        "compliance.exported",
        actor_id=actor_id,
        subject_type="compliance_matrix",
        details={
            "format": file_format,
            "filter": {
                "q": criteria.q,
                "department_id": criteria.department_id,
                "job_title": criteria.job_title,
                "item": criteria.item,
                "status": criteria.status,
            },
            "rows": rows,
        },
        ip_address=ip_address,
    )
