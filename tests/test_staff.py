"""Staff records through HTTP and the CLI: access, the people list, the person form, deactivation,
departments and the CSV import with every kind of bad input (nothing half-imported)."""

import io
import os
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import csrf_token
from tests.helpers import complete_course
from training.audit.models import AuditEvent
from training.auth.models import Department, User, UserSession
from training.completions.models import Completion
from training.compliance.models import Obligation
from training.extensions import db

HEADER = "employee_id,name,email,department,job_title,hire_date,manager_email"


@pytest.fixture(autouse=True)
def import_dir(app, tmp_path):
    """Staged uploads go to the test's own folder, not the project's instance/."""
    folder = tmp_path / "staff-imports"
    app.config["STAFF_IMPORT_DIR"] = str(folder)
    return folder


@pytest.fixture
def hr(make_user, auth):
    """An HR user in Pharmacy, signed in."""
    user = make_user(role="hr", email="hr@example.org", name="Hana Hr", department="Pharmacy")
    auth.login(user)
    return user


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def upload(auth, data: bytes, *, create_departments=False, filename="staff.csv"):
    form = {"file": (io.BytesIO(data), filename)}
    if create_departments:
        form["create_departments"] = "y"
    return auth.post("/staff/import", form, token_from="/staff/import", content_type="multipart/form-data")


def apply_form(response) -> dict[str, str]:
    html = response.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    sha = re.search(r'name="sha256" type="hidden" value="([^"]+)"', html).group(1)
    return {"token": token, "sha256": sha}


def apply(auth, response):
    return auth.post("/staff/import/apply", apply_form(response), token_from="/staff/import")


def state(app):
    """Everything an import or a staff change could touch, to assert that nothing changed."""
    with app.app_context():
        people = db.session.execute(
            select(
                User.id,
                User.employee_id,
                User.name,
                User.email,
                User.department_id,
                User.job_title,
                User.hire_date,
                User.manager_id,
                User.active,
                User.role,
            ).order_by(User.id)
        ).all()
        departments = db.session.execute(select(Department.id, Department.name).order_by(Department.id)).all()
        # Refusals are recorded on purpose (access.denied); any other event would be a change.
        events = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "access.denied")
        )
        obligations = db.session.scalar(select(func.count()).select_from(Obligation))
        return people, departments, events, obligations


def table_of(response) -> str:
    """The page's table body, without the header (which shows the signed-in person's name)."""
    html = response.get_data(as_text=True)
    return html[html.index("<tbody>") :] if "<tbody>" in html else ""


def person(app, email) -> User | None:
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is not None:
            db.session.expunge(user)
        return user


def events(app, action) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars()
        )


def obligations_of(app, user_id) -> list[Obligation]:
    with app.app_context():
        return list(db.session.execute(select(Obligation).where(Obligation.user_id == user_id)).scalars())


def department_id(app, name) -> int:
    with app.app_context():
        return db.session.execute(select(Department.id).where(Department.name == name)).scalar_one()


def person_form(**overrides) -> dict[str, str]:
    data = {
        "employee_id": "E100",
        "name": "Nia Okafor",
        "email": "nia@example.org",
        "department": "",
        "new_department": "",
        "job_title": "Registered Nurse",
        "hire_date": "2024-03-31",
        "manager_email": "",
        "role": "staff",
    }
    return data | overrides


# --- Access ---------------------------------------------------------------------------------------

STAFF_GETS = [
    "/staff",
    "/staff/new",
    "/staff/departments",
    "/staff/import",
    "/staff/{id}/edit",
    "/staff/{id}/deactivate",
]
STAFF_POSTS = [
    "/staff/new",
    "/staff/{id}/edit",
    "/staff/{id}/deactivate",
    "/staff/{id}/reactivate",
    "/staff/{id}/sign-out",
    "/staff/departments",
    "/staff/departments/{dep}/rename",
    "/staff/import",
    "/staff/import/apply",
]


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_staff_and_managers_get_403_everywhere(app, client, auth, make_user, role):
    target = make_user(department="Pharmacy")
    auth.login(make_user(role=role, department="Pharmacy"))
    before = state(app)
    dep = department_id(app, "Pharmacy")
    for path in STAFF_GETS:
        assert client.get(path.format(id=target.id)).status_code == 403, path
    for path in STAFF_POSTS:
        response = auth.post(path.format(id=target.id, dep=dep), {"name": "X", "email": "x@example.org"})
        assert response.status_code == 403, path
    assert state(app) == before


def test_anonymous_visitors_are_sent_to_sign_in(client, make_user):
    target = make_user()
    for path in STAFF_GETS:
        response = client.get(path.format(id=target.id))
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path


@pytest.mark.parametrize("role", ["hr", "admin"])
def test_hr_and_admins_see_every_page(client, auth, make_user, role):
    target = make_user(department="Pharmacy")
    auth.login(make_user(role=role))
    for path in STAFF_GETS:
        response = client.get(path.format(id=target.id))
        assert response.status_code == 200, path
        assert not re.search(r'(src|href)="(https?:)?//', response.get_data(as_text=True)), path


def test_the_hr_navigation_shows_staff_to_hr_only(client, auth, make_user):
    auth.login(make_user(role="manager", department="Pharmacy"))
    assert 'href="/staff"' not in client.get("/compliance").get_data(as_text=True)
    auth.logout()
    auth.login(make_user(role="hr"))
    assert 'href="/staff"' in client.get("/compliance").get_data(as_text=True)


def test_unknown_people_and_departments_are_404(app, client, auth, hr):
    assert client.get("/staff/99999/edit").status_code == 404
    assert auth.post("/staff/99999/deactivate", token_from="/staff").status_code == 404
    assert auth.post("/staff/departments/99999/rename", {"d99999-name": "X"}, token_from="/staff").status_code == 404


def test_posts_without_a_csrf_token_are_refused(app, client, make_user, hr):
    target = make_user()
    before = state(app)
    assert client.post(f"/staff/{target.id}/deactivate").status_code == 400
    assert client.post("/staff/new", data=person_form()).status_code == 400
    assert client.post("/staff/departments", data={"name": "Radiology"}).status_code == 400
    assert state(app) == before


# --- The people list ----------------------------------------------------------------------------


def test_the_list_shows_each_persons_record_and_links(app, client, make_user, hr):
    manager = make_user(role="manager", name="Mo Manager", department="Pharmacy")
    nurse = make_user(name="Nia Okafor", department="Pharmacy", employee_id="E77", hire_date=date(2023, 9, 4))
    with app.app_context():
        user = db.session.get(User, nurse.id)
        user.manager_id = manager.id
        db.session.commit()
    html = table_of(client.get("/staff?q=okafor"))
    for text in (
        "Nia Okafor",
        "E77",
        nurse.email,
        "Pharmacy",
        "Registered Nurse",
        "Mo Manager",
        "4 Sep 2023",
        "Active",
    ):
        assert text in html
    assert f'href="/staff/{nurse.id}/edit"' in html
    assert f'href="/compliance/people/{nurse.id}"' in html
    assert "Hana Hr" not in html


def test_hr_is_linked_only_to_records_it_may_edit(app, client, make_user, hr):
    """The list links what the edit page opens: HR's own record and staff, not other privileged accounts."""
    people = {
        role: make_user(role=role, department="Pharmacy") for role in ("staff", "manager", "hr", "author", "admin")
    }
    html = table_of(client.get("/staff?department=" + str(department_id(app, "Pharmacy"))))
    for person in [hr, *people.values()]:
        linked = f'href="/staff/{person.id}/edit"' in html
        opens = client.get(f"/staff/{person.id}/edit").status_code
        assert linked is (opens == 200), (person.role, opens)
        assert linked is (person.role in ("staff", "manager") or person is hr), person.role
    assert html.count("Only an admin can edit this account") == 3


def test_an_admin_is_linked_to_every_record(app, client, auth, make_user):
    people = [make_user(role=role, department="Pharmacy") for role in ("staff", "manager", "hr", "author", "admin")]
    auth.login(make_user(role="admin", department="Pharmacy"))
    html = table_of(client.get("/staff"))
    for person in people:
        assert f'href="/staff/{person.id}/edit"' in html and client.get(f"/staff/{person.id}/edit").status_code == 200
    assert "Only an admin can edit" not in client.get("/staff").get_data(as_text=True)


def test_search_by_email_and_employee_id_filters_and_status(app, client, make_user, hr):
    make_user(name="Ann Active", email="ann@example.org", department="Pharmacy", employee_id="A-1")
    make_user(name="Ben Gone", email="ben@example.org", department="Emergency", active=False)
    make_user(name="Cy Nodept", email="cy@example.org")
    pharmacy, emergency = department_id(app, "Pharmacy"), department_id(app, "Emergency")

    def names(query):
        response = client.get(f"/staff?{query}")
        assert response.status_code == 200
        html = table_of(response)
        return {n for n in ("Ann Active", "Ben Gone", "Cy Nodept", "Hana Hr") if n in html}

    assert names("q=ann%40example") == {"Ann Active"}
    assert names("q=a-1") == {"Ann Active"}
    assert names("q=100%25") == set()
    assert names(f"department={pharmacy}") == {"Ann Active", "Hana Hr"}
    assert names(f"department={emergency}") == set()
    assert names(f"department={emergency}&status=deactivated") == {"Ben Gone"}
    assert names("status=all") == {"Ann Active", "Ben Gone", "Cy Nodept", "Hana Hr"}
    assert names("department=none") == {"Cy Nodept"}
    assert client.get("/staff?status=everyone").status_code == 400
    assert client.get("/staff?department=abc").status_code == 400


def test_the_list_is_paginated_by_50(app, client, auth, hr):
    rows = [f"E{n:03d},Person {n:03d},p{n}@example.org,Pharmacy,,," for n in range(60)]
    assert apply(auth, upload(auth, csv_bytes(*rows))).status_code == 302
    first = client.get("/staff").get_data(as_text=True)
    assert "61 people · page 1 of 2" in first and "Person 048" in first and "Person 049" not in first
    second = client.get("/staff?page=2").get_data(as_text=True)
    assert "Person 049" in second and "Person 059" in second and "← Previous page" in second
    assert client.get("/staff?page=99").status_code == 200


# --- Adding and editing a person ------------------------------------------------------------------


def test_hr_adds_a_person_who_cannot_sign_in_yet(app, client, auth, make_user, hr):
    make_user(role="manager", email="mo@example.org", department="Pharmacy")
    page = client.get("/staff/new").get_data(as_text=True)
    assert "Forgot your password?" in page and "flask users set-password" in page
    dep = department_id(app, "Pharmacy")
    response = auth.post(
        "/staff/new", person_form(department=str(dep), manager_email="Mo@Example.org"), token_from="/staff/new"
    )
    assert response.status_code == 302
    nia = person(app, "nia@example.org")
    assert (nia.employee_id, nia.department_id, nia.job_title, nia.hire_date, nia.role) == (
        "E100",
        dep,
        "Registered Nurse",
        date(2024, 3, 31),
        "staff",
    )
    assert nia.manager_id == person(app, "mo@example.org").id
    event = events(app, "staff.created")[-1]
    assert (event.actor_id, event.subject_id) == (hr.id, str(nia.id))
    assert event.details["changes"]["email"] == {"old": "", "new": "nia@example.org"}
    auth.logout()
    assert auth.login("nia@example.org", "").status_code != 302


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"email": "hr@example.org"}, "email", "Another person already has the email hr@example.org."),
        ({"employee_id": "TAKEN"}, "employee_id", "Another person already has the employee id TAKEN."),
        ({"email": "not an email"}, "email", "Enter a valid email address"),
        ({"email": ""}, "email", "Enter the person&#39;s email address."),
        ({"name": "  "}, "name", "Enter the person&#39;s name."),
        ({"manager_email": "nia@example.org"}, "manager_email", "A person cannot be their own manager."),
        ({"manager_email": "ghost@example.org"}, "manager_email", "No active person has the email ghost@example.org."),
        ({"manager_email": "gone@example.org"}, "manager_email", "No active person has the email gone@example.org."),
        ({"hire_date": "31/03/2024"}, "hire_date", "Not a valid date value."),
        ({"hire_date": "9999-12-31"}, "hire_date", "Enter a date from 1900 to 2999."),
        ({"hire_date": "1899-12-31"}, "hire_date", "Enter a date from 1900 to 2999."),
        ({"role": "admin"}, "role", "Not a valid choice."),
        ({"department": "99999"}, "department", "Not a valid choice."),
        ({"new_department": "x" * 121}, "new_department", "Field cannot be longer than 120 characters."),
    ],
)
def test_invalid_person_values_are_shown_next_to_the_field(app, auth, make_user, hr, overrides, field, message):
    make_user(employee_id="TAKEN")
    make_user(email="gone@example.org", active=False)
    before = state(app)
    response = auth.post("/staff/new", person_form(**overrides), token_from="/staff/new")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', html), field
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert state(app) == before


# Characters a person's one-line fields refuse, with how the message names them.
HIDDEN_CHARACTERS = {
    "carriage return": ("\r", "a control character (U+000D, carriage return)"),
    "line feed": ("\n", "a control character (U+000A, line feed)"),
    "tab": ("\t", "a control character (U+0009, tab)"),
    "next line": ("\x85", "a control character (U+0085, next line)"),
    "line separator": ("\u2028", "a line separator (U+2028)"),
    "paragraph separator": ("\u2029", "a paragraph separator (U+2029)"),
    "right-to-left override": ("\u202e", "a bidirectional text control (U+202E, right-to-left override)"),
    "right-to-left isolate": ("\u2067", "a bidirectional text control (U+2067, right-to-left isolate)"),
    "left-to-right mark": ("\u200e", "a bidirectional text control (U+200E, left-to-right mark)"),
    "byte order mark inside": ("\ufeff", "an invisible formatting character (U+FEFF, byte order mark)"),
}
PERSON_TEXT_FIELDS = {
    "name": "name",
    "employee_id": "employee id",
    "job_title": "job title",
    "new_department": "department name",
}


def field_error(html: str, field: str) -> str:
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert error, f"no error beside {field}"
    return error.group(1)


@pytest.mark.parametrize("case", list(HIDDEN_CHARACTERS))
def test_hidden_characters_in_a_name_are_a_field_error_and_nothing_is_stored(app, auth, hr, case):
    character, described = HIDDEN_CHARACTERS[case]
    before = state(app)
    response = auth.post("/staff/new", person_form(name=f"Nia{character}Okafor"), token_from="/staff/new")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "name") == f"The name contains {described}. Remove it."
    assert state(app) == before


@pytest.mark.parametrize("field", list(PERSON_TEXT_FIELDS))
@pytest.mark.parametrize("character", ["\r\n", "\u202e"])
def test_every_person_field_refuses_line_breaks_and_bidi_overrides_on_add_and_edit(
    app, auth, make_user, hr, field, character
):
    nurse = make_user(email="sam@example.org", name="Sam Lee", department="Pharmacy", employee_id="E200")
    value = f"{person_form()[field] or 'Radiology'}{character}tail"
    before = state(app)
    for path in ("/staff/new", f"/staff/{nurse.id}/edit"):
        email = "nia@example.org" if path == "/staff/new" else "sam@example.org"
        response = auth.post(path, person_form(email=email, **{field: value}), token_from=path)
        assert response.status_code == 422, path
        message = field_error(response.get_data(as_text=True), field)
        assert message.startswith(f"The {PERSON_TEXT_FIELDS[field]} contains a "), message
        assert state(app) == before


def test_department_names_refuse_hidden_characters_when_added_or_renamed(app, auth, make_user, hr):
    pharmacy = department_id(app, "Pharmacy")
    before = state(app)
    added = auth.post("/staff/departments", {"name": "Radi\u202eology"}, token_from="/staff/departments")
    assert added.status_code == 422
    assert field_error(added.get_data(as_text=True), "name") == (
        "The department name contains a bidirectional text control (U+202E, right-to-left override). Remove it."
    )
    rename = f"/staff/departments/{pharmacy}/rename"
    renamed = auth.post(rename, {f"d{pharmacy}-name": "Phar\u2028macy"}, token_from="/staff/departments")
    assert renamed.status_code == 422
    assert "contains a line separator (U+2028)" in field_error(renamed.get_data(as_text=True), f"d{pharmacy}-name")
    assert state(app) == before


def test_a_leading_byte_order_mark_is_dropped_from_the_persons_fields(app, auth, make_user, hr):
    """A value pasted from a file saved with a BOM starts with U+FEFF: it is dropped, not stored or refused."""
    form = person_form(
        name="\ufeffNia Okafor",
        employee_id="\ufeffE100",
        job_title="\ufeffRegistered Nurse",
        new_department="\ufeffICU",
    )
    assert auth.post("/staff/new", form, token_from="/staff/new").status_code == 302
    nia = person(app, "nia@example.org")
    assert (nia.name, nia.employee_id, nia.job_title, nia.department_id) == (
        "Nia Okafor",
        "E100",
        "Registered Nurse",
        department_id(app, "ICU"),
    )
    assert (
        auth.post("/staff/departments", {"name": "\ufeffRadiology"}, token_from="/staff/departments").status_code == 302
    )
    assert department_id(app, "Radiology")


NAMES_IN_ANY_SCRIPT = [
    ("محمد الأحمد", "ممرض", "الطوارئ"),
    ("שרה כהן", "אחות", "קרדיולוגיה"),
    ("王小明", "护士", "急诊科"),
    ("Siobhán O'Connor-Ní Bhriain", "Staff Nurse", "Oncology & Haematology"),
    ("علی" + "\u200c" + "اکبر رضایی", "پرستار", "اورژانس"),
]


@pytest.mark.parametrize("name, job_title, department", NAMES_IN_ANY_SCRIPT)
def test_names_in_any_script_with_accents_apostrophes_and_hyphens_are_kept(app, auth, hr, name, job_title, department):
    form = person_form(name=name, job_title=job_title, new_department=department, employee_id="E-100/b")
    assert auth.post("/staff/new", form, token_from="/staff/new").status_code == 302
    nia = person(app, "nia@example.org")
    assert (nia.name, nia.job_title, nia.employee_id, nia.department_id) == (
        name,
        job_title,
        "E-100/b",
        department_id(app, department),
    )


def test_a_hire_date_at_the_end_of_the_calendar_is_refused_not_a_500(
    app, auth, make_user, make_requirement, course, hr
):
    """Due dates count from the hire date: 9999-12-31 plus 30 days overflowed when a rule applied."""
    make_requirement("test-course", due_within_days=30)
    person = make_user(name="Nia Okafor", email="nia@example.org", employee_id="E100")
    before = state(app)
    path = f"/staff/{person.id}/edit"
    response = auth.post(path, person_form(hire_date="9999-12-31"), token_from=path)
    assert response.status_code == 422
    assert "Enter a date from 1900 to 2999." in response.get_data(as_text=True)
    assert state(app) == before


def test_hr_gives_staff_or_manager_roles_and_admins_any(app, client, auth, make_user, hr):
    page = client.get("/staff/new").get_data(as_text=True)
    assert 'value="manager"' in page and 'value="admin"' not in page and 'value="hr"' not in page
    assert auth.post("/staff/new", person_form(role="manager"), token_from="/staff/new").status_code == 302
    auth.logout()
    auth.login(make_user(role="admin"))
    response = auth.post("/staff/new", person_form(email="h2@example.org", employee_id="E2", role="hr"))
    assert response.status_code == 302 and person(app, "h2@example.org").role == "hr"


def test_hr_cannot_change_an_admin_an_author_or_another_hr_account(app, client, auth, make_user, hr):
    admin = make_user(role="admin", email="ada@example.org")
    other_hr = make_user(role="hr")
    author = make_user(role="author")
    before = state(app)
    for target in (admin, other_hr, author):
        assert client.get(f"/staff/{target.id}/edit").status_code == 403
        response = auth.post(f"/staff/{target.id}/edit", person_form(email="mine@example.org"), token_from="/staff")
        assert response.status_code == 403
        assert auth.post(f"/staff/{target.id}/deactivate", token_from="/staff").status_code == 403
    assert state(app) == before


def test_nobody_changes_their_own_role(app, client, auth, make_user):
    admin = make_user(role="admin", email="ada@example.org", name="Ada Admin")
    auth.login(admin)
    page = client.get(f"/staff/{admin.id}/edit").get_data(as_text=True)
    assert 'value="staff"' not in page
    response = auth.post(
        f"/staff/{admin.id}/edit",
        person_form(email="ada@example.org", name="Ada Admin", role="staff"),
        token_from=f"/staff/{admin.id}/edit",
    )
    assert response.status_code == 422
    assert person(app, "ada@example.org").role == "admin"


def test_an_edit_records_each_changed_field_old_to_new(app, client, auth, make_user, hr):
    nurse = make_user(email="nia@example.org", name="Nia Okafor", department="Pharmacy", employee_id="E100")
    response = auth.post(
        f"/staff/{nurse.id}/edit",
        person_form(new_department="Emergency Department", job_title="Charge Nurse", hire_date=""),
        token_from=f"/staff/{nurse.id}/edit",
    )
    assert response.status_code == 302
    event = events(app, "staff.updated")[-1]
    assert event.details["changes"] == {
        "department": {"old": "Pharmacy", "new": "Emergency Department"},
        "job_title": {"old": "Registered Nurse", "new": "Charge Nurse"},
    }
    assert event.actor_id == hr.id and event.ip_address == "127.0.0.1"
    assert [e.details["name"] for e in events(app, "department.created")] == ["Emergency Department"]
    again = auth.post(
        f"/staff/{nurse.id}/edit",
        person_form(new_department="emergency department", job_title="Charge Nurse", hire_date=""),
        token_from=f"/staff/{nurse.id}/edit",
    )
    assert again.status_code == 302 and len(events(app, "staff.updated")) == 1
    assert len(events(app, "department.created")) == 1


def test_moving_department_or_job_title_changes_obligations(app, auth, make_user, make_requirement, course, hr):
    nurse = make_user(email="nia@example.org", department="Pharmacy", employee_id="E100")
    make_user(department="Emergency Department")
    make_requirement(course, department="Pharmacy")
    make_requirement(course, job_title="Surgeon")
    assert len(obligations_of(app, nurse.id)) == 1
    emergency = department_id(app, "Emergency Department")
    edit = f"/staff/{nurse.id}/edit"
    assert auth.post(edit, person_form(department=str(emergency)), token_from=edit).status_code == 302
    assert obligations_of(app, nurse.id) == []
    assert (
        auth.post(edit, person_form(department=str(emergency), job_title="surgeon"), token_from=edit).status_code == 302
    )
    assert len(obligations_of(app, nurse.id)) == 1


# --- Deactivating ---------------------------------------------------------------------------------


def test_deactivation_ends_sessions_drops_obligations_and_keeps_history(
    app, client, auth, make_user, make_requirement, course
):
    from flask.testing import FlaskClient

    from tests.conftest import Auth

    nurse = make_user(email="nia@example.org", department="Pharmacy")
    make_requirement(course)
    nurse_client = FlaskClient(app, use_cookies=True)
    nurse_auth = Auth(nurse_client)
    nurse_auth.login(nurse)
    complete_course(app, nurse_auth)
    assert nurse_client.get("/").status_code == 200

    hr = make_user(role="hr")
    auth.login(hr)
    confirm = client.get(f"/staff/{nurse.id}/deactivate").get_data(as_text=True)
    assert "will no longer be able to sign in" in confirm
    response = auth.post(f"/staff/{nurse.id}/deactivate", token_from=f"/staff/{nurse.id}/deactivate")
    assert response.status_code == 302

    assert nurse_client.get("/").status_code == 302  # their open session ended
    assert person(app, "nia@example.org").active is False
    assert obligations_of(app, nurse.id) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Completion).where(Completion.user_id == nurse.id))
        assert not db.session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == nurse.id, UserSession.ended_at.is_(None))
        )
    event = events(app, "staff.deactivated")[-1]
    assert (event.actor_id, event.subject_id, event.details["sessions_ended"]) == (hr.id, str(nurse.id), 1)
    assert auth.post(f"/staff/{nurse.id}/deactivate", token_from="/staff").status_code == 409

    assert auth.post(f"/staff/{nurse.id}/reactivate", token_from="/staff").status_code == 302
    assert person(app, "nia@example.org").active is True
    assert len(obligations_of(app, nurse.id)) == 1
    assert events(app, "staff.reactivated")[-1].subject_id == str(nurse.id)


def test_you_cannot_deactivate_yourself(app, client, auth, hr):
    page = client.get(f"/staff/{hr.id}/deactivate").get_data(as_text=True)
    assert "You cannot deactivate your own account" in page and "button danger" not in page
    response = auth.post(f"/staff/{hr.id}/deactivate", token_from="/staff")
    assert response.status_code == 403
    assert person(app, "hr@example.org").active is True


def test_the_confirm_page_lists_the_people_they_manage(app, client, make_user, hr):
    boss = make_user(role="manager", name="Mo Manager")
    report = make_user(name="Rae Report")
    with app.app_context():
        db.session.get(User, report.id).manager_id = boss.id
        db.session.commit()
    page = client.get(f"/staff/{boss.id}/deactivate").get_data(as_text=True)
    assert "1 active person has Mo Manager as their manager" in page and "Rae Report" in page


# --- Departments ----------------------------------------------------------------------------------


def test_departments_are_listed_with_counts_added_and_renamed(app, client, auth, make_user, hr):
    make_user(department="Pharmacy")
    make_user(department="Pharmacy", active=False)
    page = client.get("/staff/departments").get_data(as_text=True)
    assert re.search(
        r'Pharmacy</a></td>\s*<td data-label="Active people">2</td>\s*<td data-label="Deactivated">1', page
    )

    assert (
        auth.post("/staff/departments", {"name": "  Radiology  "}, token_from="/staff/departments").status_code == 302
    )
    radiology = department_id(app, "Radiology")
    duplicate = auth.post("/staff/departments", {"name": "RADIOLOGY"}, token_from="/staff/departments")
    assert duplicate.status_code == 422
    assert "There is already a department called &#34;Radiology&#34;." in duplicate.get_data(as_text=True)

    rename = f"/staff/departments/{radiology}/rename"
    response = auth.post(rename, {f"d{radiology}-name": "Imaging"}, token_from="/staff/departments")
    assert response.status_code == 302
    clash = auth.post(rename, {f"d{radiology}-name": "pharmacy"}, token_from="/staff/departments")
    assert clash.status_code == 422
    assert re.search(
        rf'id="d{radiology}-name-error">There is already a department called', clash.get_data(as_text=True)
    )
    empty = auth.post(rename, {f"d{radiology}-name": " "}, token_from="/staff/departments")
    assert empty.status_code == 422
    with app.app_context():
        assert db.session.get(Department, radiology).name == "Imaging"
    assert events(app, "department.created")[-1].details == {"name": "Radiology"}
    assert events(app, "department.renamed")[-1].details == {"name": {"old": "Radiology", "new": "Imaging"}}


# --- CSV import: the happy paths ------------------------------------------------------------------


def test_a_dry_run_changes_nothing_then_apply_imports_everything(
    app, client, auth, make_user, make_requirement, course, hr
):
    make_requirement(course, department="Pharmacy")
    existing = make_user(email="bob@example.org", name="Bob Brown", department="Pharmacy", employee_id="E2")
    make_user(department="Emergency")
    data = csv_bytes(
        "E10,Nia Okafor,nia@example.org,Pharmacy,Registered Nurse,2024-03-31,sam@example.org",
        "E11,Sam Lee,sam@example.org,Emergency,Charge Nurse,2019-02-11,",
        "E2,Bob Brown,bob@example.org,Emergency,Registered Nurse,,",
        "E12,Hana Hr,hr@example.org,Pharmacy,Registered Nurse,,",
    )
    before = state(app)
    preview = upload(auth, data)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Dry run: ready to import" in html and "UTF-8" in html
    assert "New people (2)" in html and "Changes to existing people (2)" in html
    assert re.search(r"department</span>: Pharmacy .*→.* Emergency", html)
    assert state(app) == before

    response = apply(auth, preview)
    assert response.status_code == 302
    flash = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported: 2 new, 2 updated, 0 unchanged." in flash
    nia, sam, bob = (person(app, f"{n}@example.org") for n in ("nia", "sam", "bob"))
    assert (nia.employee_id, nia.hire_date, nia.manager_id, nia.role, nia.active) == (
        "E10",
        date(2024, 3, 31),
        sam.id,
        "staff",
        True,
    )
    assert bob.department_id == department_id(app, "Emergency") and bob.id == existing.id
    assert person(app, "hr@example.org").employee_id == "E12"
    assert len(obligations_of(app, nia.id)) == 1 and obligations_of(app, bob.id) == []
    summary = events(app, "staff.imported")[-1]
    assert summary.actor_id == hr.id
    assert (summary.details["created"], summary.details["updated"], summary.details["filename"]) == (2, 2, "staff.csv")
    updated = [e for e in events(app, "staff.updated") if e.subject_id == str(bob.id)][-1]
    assert updated.details["changes"]["department"] == {"old": "Pharmacy", "new": "Emergency"}
    assert updated.details["source"] == "import" and updated.details["line"] == 4
    assert len(events(app, "staff.created")) == 2
    left = list(Path(app.config["STAFF_IMPORT_DIR"]).iterdir())  # only the note that it was imported
    assert [path.suffix for path in left] == [".json"]
    note = left[0].read_text()
    assert "imported_at" in note and "nia@example.org" not in note and "Okafor" not in note


def test_a_manager_can_be_named_by_the_new_email_the_same_file_gives_them(app, auth, make_user, hr):
    make_user(email="old.boss@example.org", name="Bo Boss", department="Pharmacy", employee_id="B1")
    data = csv_bytes(
        "E10,Nia,nia@example.org,Pharmacy,,,bo.boss@example.org",
        "B1,Bo Boss,bo.boss@example.org,Pharmacy,Registered Nurse,,",
    )
    preview = upload(auth, data)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert apply(auth, preview).status_code == 302
    boss = person(app, "bo.boss@example.org")
    assert person(app, "nia@example.org").manager_id == boss.id
    assert person(app, "old.boss@example.org") is None


@pytest.mark.parametrize(
    "encoding, label, prefix",
    [("utf-8", "UTF-8", b""), ("utf-8", "UTF-8 with BOM", b"\xef\xbb\xbf"), ("cp1252", "Windows-1252 (Latin-1)", b"")],
)
def test_utf8_bom_and_latin1_files_keep_accented_names(app, auth, make_user, hr, encoding, label, prefix):
    make_user(department="Pharmacy")
    data = prefix + csv_bytes("E10,Zoë Müller-Ørsted,zoe@example.org,Pharmacy,Técnica,,", encoding=encoding)
    preview = upload(auth, data)
    assert preview.status_code == 200
    assert f"<dd>{label}</dd>" in preview.get_data(as_text=True)
    assert apply(auth, preview).status_code == 302
    assert person(app, "zoe@example.org").name == "Zoë Müller-Ørsted"
    assert person(app, "zoe@example.org").job_title == "Técnica"


def test_a_leading_byte_order_mark_in_a_csv_value_is_dropped_and_names_in_any_script_are_imported(app, auth, hr):
    rows = [
        f"\ufeffE{n},\ufeff{name},p{n}@example.org,\ufeff{department},{job_title},,"
        for n, (name, job_title, department) in enumerate(NAMES_IN_ANY_SCRIPT)
    ]
    preview = upload(auth, csv_bytes(*rows), create_departments=True)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert apply(auth, preview).status_code == 302
    for n, (name, job_title, department) in enumerate(NAMES_IN_ANY_SCRIPT):
        imported = person(app, f"p{n}@example.org")
        assert (imported.employee_id, imported.name, imported.job_title) == (f"E{n}", name, job_title)
        assert imported.department_id == department_id(app, department)


def test_create_missing_departments_only_when_ticked(app, auth, hr):
    data = csv_bytes("E10,Nia,nia@example.org,Radiology,,,")
    assert upload(auth, data).status_code == 422
    preview = upload(auth, data, create_departments=True)
    assert preview.status_code == 200 and "New departments to create: <strong>Radiology" in preview.get_data(True)
    assert apply(auth, preview).status_code == 302
    assert person(app, "nia@example.org").department_id == department_id(app, "Radiology")
    assert events(app, "department.created")[-1].details == {"name": "Radiology"}


def test_a_file_that_changes_nothing_offers_no_import(app, auth, make_user, hr):
    make_user(email="bob@example.org", name="Bob", department="Pharmacy", job_title="", employee_id="E2")
    preview = upload(auth, csv_bytes("E2,Bob,bob@example.org,Pharmacy,,,"))
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "there is nothing to import" in html and 'name="token"' not in html


# --- CSV import: bad input, each with nothing changed ---------------------------------------------


@pytest.fixture
def people(make_user, hr):
    """Pharmacy with Alice (E1) and Bob (E2); one deactivated person; an admin."""
    make_user(email="alice@example.org", name="Alice Adams", department="Pharmacy", employee_id="E1")
    make_user(email="bob@example.org", name="Bob Brown", department="Pharmacy", employee_id="E2")
    make_user(email="gone@example.org", name="Gina Gone", department="Pharmacy", employee_id="E4", active=False)
    make_user(role="admin", email="ada@example.org", name="Ada Admin", employee_id="E5")


GOOD_ROW = "E10,Nia Okafor,nia@example.org,Pharmacy,Registered Nurse,2024-03-31,alice@example.org"

BAD_FILES = {
    "wrong header": (
        csv_bytes(GOOD_ROW, header=HEADER.replace("hire_date", "start_date")),
        "File",
        "unknown column(s) start_date",
    ),
    "missing header": (csv_bytes(GOOD_ROW, header="E9,Zed,zed@example.org,Pharmacy,,,"), "File", "missing column(s)"),
    "extra column": (csv_bytes(GOOD_ROW + ",x", header=HEADER + ",salary"), "File", "extra columns are not accepted"),
    "duplicate emails": (
        csv_bytes(GOOD_ROW, "E11,Nia Again,NIA@example.org,Pharmacy,,,"),
        "3",
        "email nia@example.org is also on line 2",
    ),
    "duplicate employee ids": (
        csv_bytes(GOOD_ROW, "E10,Other,other@example.org,Pharmacy,,,"),
        "3",
        "employee_id E10 is also on line 2",
    ),
    "email of another person": (
        csv_bytes(GOOD_ROW, "E1,Alice Adams,bob@example.org,Pharmacy,,,"),
        "3",
        "email bob@example.org belongs to another person (Bob Brown, employee_id E2)",
    ),
    "employee id of another person": (
        csv_bytes(GOOD_ROW, "E2,New Person,new@example.org,Pharmacy,,,", "E77,Bob Brown,bob@example.org,Pharmacy,,,"),
        "4",
        "email bob@example.org belongs to another person (Bob Brown, employee_id E2); employee_id E77 is not theirs",
    ),
    "unknown department": (
        csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org,Radiology,,,"),
        "3",
        "department &#34;Radiology&#34; does not exist; add it under Staff &gt; Departments first",
    ),
    "bad date": (
        csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org,Pharmacy,,31/12/2024,"),
        "3",
        "hire_date &#39;31/12/2024&#39; is not a date in the format YYYY-MM-DD",
    ),
    "impossible date": (
        csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org,Pharmacy,,2023-02-29,"),
        "3",
        "is not a date in the format YYYY-MM-DD",
    ),
    "empty required field": (csv_bytes(GOOD_ROW, "E11,,sam@example.org,Pharmacy,,,"), "3", "name is empty"),
    "manager not found": (
        csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org,Pharmacy,,,ghost@example.org"),
        "3",
        "manager_email ghost@example.org is not in this file or in the staff records",
    ),
    "deactivated manager": (
        csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org,Pharmacy,,,gone@example.org"),
        "3",
        "manager_email gone@example.org belongs to a deactivated person",
    ),
    "admin changed by hr": (
        csv_bytes(GOOD_ROW, "E5,Ada Admin,ada@example.org,Pharmacy,,,"),
        "3",
        "Ada Admin, employee_id E5 has the admin role; only an admin can change them",
    ),
    "wrong number of values": (
        csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org"),
        "3",
        "has 3 values but the header has 7",
    ),
    "broken quotes": (
        csv_bytes(GOOD_ROW, 'E11,"Sam,sam@example.org,Pharmacy,,,'),
        "File",
        "Line 3: the file cannot be read as CSV",
    ),
    "line break in a name": (
        csv_bytes(GOOD_ROW, 'E11,"Sam\r\nLee",sam@example.org,Pharmacy,,,'),
        "3",
        "name contains a control character (U+000D, carriage return); remove it",
    ),
    "next line in a name": (
        csv_bytes(GOOD_ROW, "E11,Sam\x85Lee,sam@example.org,Pharmacy,,,"),
        "3",
        "name contains a control character (U+0085, next line); remove it",
    ),
    "line separator in a job title": (
        csv_bytes(GOOD_ROW, "E11,Sam Lee,sam@example.org,Pharmacy,Charge\u2028Nurse,,"),
        "3",
        "job_title contains a line separator (U+2028); remove it",
    ),
    "right-to-left override in a name": (
        csv_bytes(GOOD_ROW, "E11,Sam\u202eeeL,sam@example.org,Pharmacy,,,"),
        "3",
        "name contains a bidirectional text control (U+202E, right-to-left override); remove it",
    ),
    "tab in an employee id": (
        csv_bytes(GOOD_ROW, "E1\t1,Sam Lee,sam@example.org,Pharmacy,,,"),
        "3",
        "employee_id contains a control character (U+0009, tab); remove it",
    ),
    "byte order mark inside a department": (
        csv_bytes(GOOD_ROW, "E11,Sam Lee,sam@example.org,Phar\ufeffmacy,,,"),
        "3",
        "department contains an invisible formatting character (U+FEFF, byte order mark); remove it",
    ),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000), "File", "not a CSV text file"),
    "zip file": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4, "File", "not a CSV text file"),
    "empty file": (b"", "File", "The file is empty"),
    "header only": (csv_bytes(), "File", "The file has a header but no rows of people."),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_a_422_with_line_numbered_errors_and_changes_nothing(app, auth, people, import_dir, case):
    data, line, message = BAD_FILES[case]
    before = state(app)
    response = upload(auth, data)
    assert response.status_code == 422, case
    html = response.get_data(as_text=True)
    assert "Nothing was imported." in html
    cells = re.findall(r'<td data-label="Line">([^<]*)</td><td data-label="Problem">([^<]*)</td>', html)
    assert any(cell_line == line and message in text for cell_line, text in cells), cells
    assert 'name="token"' not in html
    assert state(app) == before
    assert not import_dir.exists() or not list(import_dir.iterdir())


def test_every_row_error_is_listed_not_only_the_first(app, auth, people):
    data = csv_bytes(
        "E10,Nia,nia@example.org,Radiology,,,",
        "E11,Sam,sam@example.org,Pharmacy,,2024-13-01,",
        "E12,,,Pharmacy,,,",
    )
    html = upload(auth, data).get_data(as_text=True)
    assert re.findall(r'<td data-label="Line">(\d+)</td>', html) == ["2", "3", "4", "4"]
    assert "Errors (4)" in html


def test_ten_megabytes_of_junk_is_a_clear_413_not_a_500(app, client, people):
    """The body is encoded in memory: the test client would spool it to a temporary file it never closes."""
    fields = {
        "csrf_token": csrf_token(client, "/staff/import"),
        "file": FileStorage(io.BytesIO(os.urandom(10 * 1024 * 1024)), "x.csv"),
    }
    boundary, body = encode_multipart(MultiDict(fields))
    before = state(app)
    response = client.post("/staff/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "The file is larger than 2 MB" in html and "Nothing was imported" in html
    assert state(app) == before


def test_no_file_chosen_is_a_field_error(app, auth, hr):
    response = auth.post("/staff/import", {}, token_from="/staff/import", content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the CSV file to check." in response.get_data(as_text=True)


def test_a_file_not_named_csv_is_a_field_error_and_nothing_is_kept(app, auth, hr, import_dir):
    response = upload(auth, csv_bytes(GOOD_ROW), filename="staff.xlsx")
    assert response.status_code == 422
    assert "Choose a .csv file" in response.get_data(as_text=True)
    assert not import_dir.exists() or not any(import_dir.iterdir())


# --- CSV import: the apply step trusts nothing from the client ------------------------------------


def test_apply_with_a_tampered_digest_or_token_imports_nothing(app, auth, people):
    preview = upload(auth, csv_bytes(GOOD_ROW))
    form = apply_form(preview)
    before = state(app)
    for tampered in (
        {"sha256": "0" * 64},
        {"token": "A" * 32},
        {"token": "../../etc/passwd"},
        {"token": ""},
    ):
        response = auth.post("/staff/import/apply", form | tampered, token_from="/staff/import")
        assert response.status_code in (400, 404), tampered
    assert state(app) == before
    assert auth.post("/staff/import/apply", form, token_from="/staff/import").status_code == 302
    assert person(app, "nia@example.org") is not None
    again = auth.post("/staff/import/apply", form, token_from="/staff/import")
    assert again.status_code == 409 and "already been imported" in again.get_data(as_text=True)


def test_a_staged_file_can_only_be_applied_by_whoever_uploaded_it(app, client, auth, make_user, people):
    preview = upload(auth, csv_bytes(GOOD_ROW))
    form = apply_form(preview)
    auth.logout()
    auth.login(make_user(role="hr", email="other-hr@example.org"))
    before = state(app)
    assert auth.post("/staff/import/apply", form, token_from="/staff/import").status_code == 404
    assert state(app) == before


def test_a_stored_file_changed_on_disk_is_not_applied(app, auth, people, import_dir):
    preview = upload(auth, csv_bytes(GOOD_ROW))
    form = apply_form(preview)
    (import_dir / f"{form['token']}.upload").write_bytes(csv_bytes(GOOD_ROW.replace("E10", "E66")))
    before = state(app)
    assert auth.post("/staff/import/apply", form, token_from="/staff/import").status_code == 404
    assert state(app) == before


def test_apply_checks_again_and_is_all_or_nothing(app, auth, make_user, people):
    """Someone takes an email in the file between the dry run and the apply: no row is imported."""
    data = csv_bytes(
        GOOD_ROW, "E11,Sam Lee,sam@example.org,Pharmacy,,,", "E1,Alice Adams,alice@example.org,Pharmacy,Lead,,"
    )
    preview = upload(auth, data)
    assert preview.status_code == 200
    make_user(email="sam@example.org", name="Sam Someone Else", employee_id="X9")
    before = state(app)
    response = apply(auth, preview)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported." in html and "email sam@example.org belongs to another person" in html
    assert state(app) == before
    assert person(app, "nia@example.org") is None and person(app, "alice@example.org").job_title == "Registered Nurse"


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_dry_run_then_apply(app, runner, people, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes(GOOD_ROW, "E2,Bob Brown,bob@example.org,Pharmacy,Pharmacist,,"))
    before = state(app)
    dry = runner.invoke(args=["staff", "import", str(path)])
    assert dry.exit_code == 0, dry.output
    assert "line 2: new person Nia Okafor <nia@example.org>" in dry.output
    assert 'line 3: update bob@example.org: job_title "Registered Nurse" -> "Pharmacist"' in dry.output
    assert "Summary: 1 new, 1 updated, 0 unchanged." in dry.output and "Dry run: nothing was changed" in dry.output
    assert state(app) == before

    applied = runner.invoke(args=["staff", "import", str(path), "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "Imported: 1 new, 1 updated, 0 unchanged." in applied.output
    assert person(app, "nia@example.org").manager_id == person(app, "alice@example.org").id
    assert events(app, "staff.imported")[-1].actor_id is None


def test_cli_errors_exit_1_with_line_numbers_and_change_nothing(app, runner, people, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes(GOOD_ROW, "E11,Sam,sam@example.org,Radiology,,2024-02-30,"))
    before = state(app)
    result = runner.invoke(args=["staff", "import", str(path), "--apply"])
    assert result.exit_code == 1
    assert 'error: line 3: department "Radiology" does not exist' in result.output
    assert "error: line 3: hire_date '2024-02-30' is not a date in the format YYYY-MM-DD" in result.output
    assert "Nothing was changed." in result.output
    assert state(app) == before
    assert runner.invoke(args=["staff", "import", str(tmp_path / "missing.csv")]).exit_code == 2


def test_cli_may_change_admin_accounts_and_create_departments(app, runner, people, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes("E5,Ada Admin,ada@example.org,Board,Chief Executive,,"))
    assert runner.invoke(args=["staff", "import", str(path), "--apply"]).exit_code == 1
    result = runner.invoke(args=["staff", "import", str(path), "--apply", "--create-departments"])
    assert result.exit_code == 0, result.output
    ada = person(app, "ada@example.org")
    assert (ada.job_title, ada.department_id, ada.role) == ("Chief Executive", department_id(app, "Board"), "admin")
