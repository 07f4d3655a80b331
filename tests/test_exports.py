"""The compliance matrix as CSV and XLSX: rows, filters, access, formula injection and chunked streaming."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import event, select

from tests.conftest import csrf_token
from tests.helpers import ask_for_export, complete_course, fetch_export
from training.audit.models import AuditEvent
from training.auth.models import Department, User
from training.clock import today
from training.compliance.obligations import refresh_obligations
from training.content.models import Course
from training.extensions import db
from training.reports import matrix

HEADER = [
    "Employee ID",
    "Name",
    "Email",
    "Department",
    "Job title",
    "Manager email",
    "Item type",
    "Item",
    "Status",
    "Due date",
    "Completed on",
    "Valid until",
    "As of",
]


@dataclass(frozen=True)
class Org:
    hr: object
    manager: object
    nurse: object
    radiographer: object
    pharmacy_id: int
    radiology_id: int
    course_id: int
    on: date


@pytest.fixture
def org(app, client, auth, make_user, make_requirement, course):
    """HR, a Pharmacy manager with a nurse (who completed the course), and a Radiology radiographer."""
    hr = make_user("hr", email="hr@example.org", name="Hilda Hr")
    manager = make_user("manager", email="boss@example.org", name="Mona Manager", department="Pharmacy")
    nurse = make_user(
        email="nurse@example.org", name="Nina Nurse", department="Pharmacy", employee_id="E1001", job_title="Nurse"
    )
    radiographer = make_user(
        email="rad@example.org", name="Ray Radiographer", department="Radiology", job_title="Radiographer"
    )
    make_requirement(course, due_within_days=90)
    with app.app_context():
        db.session.get(User, nurse.id).manager_id = manager.id
        db.session.commit()
        departments = dict(db.session.execute(select(Department.name, Department.id)).all())
        course_id = db.session.execute(select(Course.id).where(Course.slug == course)).scalar_one()
        on = today()
    auth.login(nurse)
    complete_course(app, auth, course)
    auth.logout()
    return Org(hr, manager, nurse, radiographer, departments["Pharmacy"], departments["Radiology"], course_id, on)


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in reader]


def xlsx_book(response):
    """The workbook; closing the response closes (and so deletes) the temporary file it was sent from."""
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_data()
    response.close()
    return openpyxl.load_workbook(io.BytesIO(data))


def xlsx_rows(response) -> list[dict]:
    rows = []
    for sheet in xlsx_book(response).worksheets:
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == HEADER
        rows += [dict(zip(HEADER, row, strict=True)) for row in values[1:]]
    return rows


def test_csv_has_one_row_per_person_and_required_item(client, auth, org):
    auth.login(org.hr)
    response = client.get("/compliance/export.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f"attachment; filename=compliance-{org.on.isoformat()}.csv"
    rows = csv_rows(response)
    assert sorted(r["Email"] for r in rows) == sorted(
        ["boss@example.org", "hr@example.org", "nurse@example.org", "rad@example.org"]
    )
    nurse = next(r for r in rows if r["Email"] == "nurse@example.org")
    assert nurse == nurse | {
        "Employee ID": "E1001",
        "Name": "Nina Nurse",
        "Department": "Pharmacy",
        "Job title": "Nurse",
        "Manager email": "boss@example.org",
        "Item type": "Course",
        "Item": "Test Course",
        "Status": "Completed",
        "Completed on": org.on.isoformat(),
        "As of": org.on.isoformat(),
    }
    assert date.fromisoformat(nurse["Valid until"]) > org.on
    radiographer = next(r for r in rows if r["Email"] == "rad@example.org")
    assert radiographer["Status"] == "Not started" and radiographer["Completed on"] == ""
    assert date.fromisoformat(radiographer["Due date"]) > org.on


def export(app, client, extension: str, query: str = ""):
    """The CSV as a streamed download; the workbook asked for, made by its job and downloaded from its page."""
    path = f"/compliance/export.{extension}" + (f"?{query}" if query else "")
    return client.get(path) if extension == "csv" else fetch_export(app, client, path)


def test_xlsx_matches_the_csv_with_real_dates_a_bold_frozen_header_and_widths(app, client, auth, org):
    auth.login(org.hr)
    csv_export = csv_rows(client.get("/compliance/export.csv"))
    response = export(app, client, "xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == f"attachment; filename=compliance-{org.on.isoformat()}.xlsx"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    sheet = xlsx_book(response).active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["B"].width > 20
    nurse_row = next(row for row in sheet.iter_rows(min_row=2) if row[2].value == "nurse@example.org")
    completed = nurse_row[HEADER.index("Completed on")]
    assert completed.is_date and completed.value == datetime.combine(org.on, datetime.min.time())
    as_text = [
        {k: (v.date().isoformat() if isinstance(v, datetime) else (v or "")) for k, v in row.items()}
        for row in xlsx_rows(response)
    ]
    assert as_text == csv_export


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_filters_are_honoured(app, client, auth, org, extension):
    auth.login(org.hr)
    read = csv_rows if extension == "csv" else xlsx_rows

    def emails(query: str) -> list[str]:
        return sorted(r["Email"] for r in read(export(app, client, extension, query)))

    assert emails(f"department={org.radiology_id}") == ["rad@example.org"]
    assert emails("status=completed") == ["nurse@example.org"]
    assert emails("q=nurse") == ["nurse@example.org"]
    assert emails("job_title=radiographer") == ["rad@example.org"]
    assert emails(f"item=course:{org.course_id}&status=not_started&department={org.pharmacy_id}") == [
        "boss@example.org"
    ]
    assert emails(f"item=course:{org.course_id + 1}") == []
    assert emails("status=non_compliant") == []


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_a_manager_gets_their_own_department_whatever_they_ask_for(app, client, auth, org, extension):
    auth.login(org.manager)
    read = csv_rows if extension == "csv" else xlsx_rows
    for query in ("", f"department={org.radiology_id}", "q=ray", f"department={org.radiology_id}&status=not_started"):
        rows = read(export(app, client, extension, query))
        assert {r["Department"] for r in rows} <= {"Pharmacy"}, query
    assert sorted(r["Email"] for r in read(export(app, client, extension))) == [
        "boss@example.org",
        "nurse@example.org",
    ]


def ask(client, extension: str, query: str = ""):
    """Only ask: a GET of the CSV, the POST that asks for the workbook's job."""
    path = f"/compliance/export.{extension}" + (f"?{query}" if query else "")
    return client.get(path) if extension == "csv" else ask_for_export(client, path)


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_staff_are_refused_and_visitors_sent_to_sign_in(client, auth, org, extension):
    path = f"/compliance/export.{extension}"
    visitor = client.get(path) if extension == "csv" else client.post(path, data={"csrf_token": csrf_token(client)})
    assert visitor.status_code == 302 and "/login" in visitor.headers["Location"]
    auth.login(org.nurse)
    assert ask(client, extension).status_code == 403


def test_the_workbook_is_asked_for_with_a_post_that_answers_at_once_and_makes_one_job(app, client, auth, org):
    auth.login(org.hr)
    assert client.get("/compliance/export.xlsx").status_code == 405
    first, again = ask(client, "xlsx", "status=completed"), ask(client, "xlsx", "status=completed")
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"], "a double click finds the same job"
    preparing = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Compliance spreadsheet" in preparing and "Preparing" in preparing
    no_token = client.post("/compliance/export.xlsx")
    assert no_token.status_code == 400


@pytest.mark.parametrize(
    "query",
    ["department=abc", "department=-3", "status=bogus", "item=course", "item=course:1;drop", "q=" + "x" * 300],
)
def test_a_tampered_filter_is_a_400_not_a_500(client, auth, org, query):
    auth.login(org.hr)
    for extension in ("csv", "xlsx"):
        response = ask(client, extension, query)
        assert response.status_code == 400
        assert "export filter is not valid" in response.get_data(as_text=True)


def test_every_export_is_in_the_audit_record(app, client, auth, org):
    auth.login(org.manager)
    client.get(f"/compliance/export.csv?status=not_started&department={org.radiology_id}")
    xlsx_book(export(app, client, "xlsx"))
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "compliance.exported")).scalars()
        recorded = [(e.actor_id, e.details["format"], e.details["filter"], e.details["rows"]) for e in events]
    assert recorded == [
        (
            org.manager.id,
            "csv",
            {"q": "", "department_id": org.pharmacy_id, "job_title": "", "item": "", "status": "not_started"},
            1,
        ),
        (
            org.manager.id,
            "xlsx",
            {"q": "", "department_id": org.pharmacy_id, "job_title": "", "item": "", "status": ""},
            2,
        ),
    ]


def test_formulas_in_names_are_neutralised(app, client, auth, org, make_user):
    make_user(name='=HYPERLINK("http://evil.example","x")', email="evil@example.org", job_title="+cmd|' /C calc'!A0")
    auth.login(org.hr)
    row = next(r for r in csv_rows(client.get("/compliance/export.csv")) if r["Email"] == "evil@example.org")
    assert row["Name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["Job title"] == "'+cmd|' /C calc'!A0"
    sheet = xlsx_book(export(app, client, "xlsx")).active
    evil = next(r for r in sheet.iter_rows(min_row=2) if r[2].value == "evil@example.org")
    assert evil[1].data_type == "s" and evil[1].value.startswith("'=")
    assert evil[4].data_type == "s" and evil[4].value.startswith("'+")


def add_people(app, count: int, department: str) -> None:
    """Many people at once (no sign-in needed), some sharing a name so that ties cross chunk boundaries."""
    with app.app_context():
        department_id = db.session.execute(select(Department.id).where(Department.name == department)).scalar_one()
        people = [
            User(
                email=f"bulk{n:04d}@example.org",
                name="Same Name" if n % 3 == 0 else f"bulk person {n:04d}",
                password_hash="not a usable hash",
                department_id=department_id,
                job_title="Porter",
            )
            for n in range(count)
        ]
        db.session.add_all(people)
        db.session.flush()
        refresh_obligations([p.id for p in people])
        db.session.commit()


def test_the_csv_is_produced_chunk_by_chunk(app, client, auth, org, monkeypatch):
    """A few hundred people in chunks of 40: every person once, in order, one people query per chunk."""
    add_people(app, 300, "Radiology")
    monkeypatch.setattr(matrix, "CHUNK_SIZE", 40)
    auth.login(org.hr)
    people_queries = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "sort_name" in statement:
            people_queries.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    try:
        rows = csv_rows(client.get("/compliance/export.csv"))
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", count)
    emails = [r["Email"] for r in rows]
    assert len(emails) == 304 and len(set(emails)) == 304
    assert [r["Name"].lower() for r in rows] == sorted(r["Name"].lower() for r in rows)
    assert len(people_queries) == -(-304 // 40)


def test_a_long_xlsx_continues_on_another_sheet(app, client, auth, org, monkeypatch):
    monkeypatch.setattr(matrix, "MAX_SHEET_ROWS", 3)
    auth.login(org.hr)
    book = xlsx_book(export(app, client, "xlsx"))
    assert book.sheetnames == ["Compliance", "Compliance (2)"]
    assert [sheet.max_row for sheet in book.worksheets] == [4, 2]
    assert book.worksheets[1].freeze_panes == "A2"
