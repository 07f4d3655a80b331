"""HR compliance through the app: requirements, obligations, the dashboard, the people list, one person's record."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.helpers import age_requirement, complete_course
from training.audit.models import AuditEvent
from training.auth.models import Department, User
from training.clock import today
from training.compliance import rules
from training.compliance.models import Obligation, Requirement
from training.compliance.obligations import refresh_obligations
from training.compliance.status import status_case, status_conditions
from training.content.models import Course
from training.extensions import db

pytestmark = pytest.mark.smoke  # part of `make test-fast`


@pytest.fixture
def hr(make_user):
    return make_user("hr", email="hr@example.org", name="Harper HR")


def _course_id(app, slug="test-course"):
    with app.app_context():
        return db.session.execute(select(Course.id).where(Course.slug == slug)).scalar_one()


def _status_texts(html):
    return re.findall(r'class="badge badge-c-(\w+)"', html)


def test_hr_adds_a_requirement_and_everyone_gets_an_obligation(app, auth, course, make_user, hr):
    nurse = make_user(name="Nadia Nurse", department="Ward A")
    auth.login(hr)
    response = auth.post(
        "/compliance/requirements",
        {"item": f"course:{_course_id(app)}", "department": "", "job_title": "", "due_within_days": "30"},
        token_from="/compliance/requirements",
    )
    assert response.status_code == 302
    with app.app_context():
        obligation = db.session.execute(select(Obligation).where(Obligation.user_id == nurse.id)).scalar_one()
        assert obligation.due_on == today() + timedelta(days=30)
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "requirement.created")).scalar_one()
        assert event.actor_id == hr.id
    page = auth.client.get(f"/compliance/people/{nurse.id}").get_data(as_text=True)
    assert "Test Course" in page and _status_texts(page) == [rules.DUE_SOON]


def test_a_completed_course_shows_as_completed_with_its_validity(app, auth, course, make_user, make_requirement, hr):
    nurse = make_user(name="Nadia Nurse")
    make_requirement(course)
    auth.login(nurse)
    complete_course(app, auth)
    auth.logout()
    auth.login(hr)
    page = auth.client.get("/compliance/people").get_data(as_text=True)
    assert "badge-c-completed" in page and "valid until" in page
    dashboard = auth.client.get("/compliance").get_data(as_text=True)
    assert "100%" in dashboard


def test_starting_a_course_marks_the_obligation_started(app, auth, course, make_user, make_requirement):
    nurse = make_user()
    make_requirement(course, due_within_days=90)
    auth.login(nurse)
    auth.post(f"/courses/{course}/modules/intro/complete", token_from=f"/courses/{course}/modules/intro")
    with app.app_context():
        query = select(Obligation.started).where(Obligation.user_id == nurse.id)
        assert db.session.execute(query).scalar_one() is True


def test_an_old_rule_makes_people_overdue_and_the_dashboard_says_so(app, auth, course, make_user, make_requirement, hr):
    make_user(name="Late Larry", department="Pharmacy")
    make_user(name="Also Late", department="Pharmacy")
    requirement_id = make_requirement(course, due_within_days=30)
    age_requirement(app, requirement_id, 45)
    auth.login(hr)
    html = auth.client.get("/compliance").get_data(as_text=True)
    assert re.search(r'tile-figure">\s*3\s*<', html) or 'tile-figure">3<' in html  # two staff and HR itself
    assert "0%" in html and "Pharmacy" in html
    people = auth.client.get("/compliance/people?status=overdue").get_data(as_text=True)
    assert "Late Larry" in people and "was due" in people


def _tile(html: str, status: str, label: str) -> tuple[str, int, str]:
    """The overview's tile of a status: the address it opens, its figure and the unit its figure counts."""
    tile = re.search(
        rf'<li class="tile tile-{status}">\s*<a href="([^"]+)">\s*<span class="tile-figure">(\d+)</span>\s*'
        rf'<span class="tile-label">{label}</span>\s*<span class="tile-unit">([^<]+)</span>',
        html,
    )
    assert tile, f"no {status} tile"
    return tile[1].replace("&amp;", "&"), int(tile[2]), tile[3]


def test_the_tiles_count_courses_and_policies_and_the_list_they_open_counts_people(
    app, auth, course, write_course, sync, make_user, make_requirement, hr
):
    write_course(slug="second-course", title="Second Course", questions=(("sc-q1", "single"),))
    sync()
    make_user(name="Late Larry", department="Pharmacy")
    for slug in (course, "second-course"):
        age_requirement(app, make_requirement(slug, due_within_days=30), 45)
    auth.login(hr)

    dashboard = auth.client.get("/compliance").get_data(as_text=True)
    address, figure, unit = _tile(dashboard, "overdue", "Overdue")
    people = auth.client.get(address).get_data(as_text=True)

    assert (figure, unit) == (4, "courses and policies")  # two courses for Larry and for HR
    assert "2 people with a course or policy overdue" in people
    assert "Late Larry" in people and "Harper HR" in people
    assert _tile(dashboard, "due_soon", "Due soon")[1:] == (0, "courses and policies")
    assert dashboard.count("?status=overdue") == 1  # the figures are not repeated in a table below


def test_each_department_bar_names_its_band_in_words(app, auth, course, make_user, make_requirement, hr):
    make_user(name="Late Larry", department="Pharmacy")
    age_requirement(app, make_requirement(course, department="Pharmacy", due_within_days=30), 45)
    make_user(name="Ready Rita", department="Radiology")
    make_requirement(course, department="Radiology", due_within_days=30)
    auth.login(hr)

    html = auth.client.get("/compliance").get_data(as_text=True)

    pharmacy = re.search(
        r"Pharmacy</a>\s*<span class=\"bar-figure\">0% <span class=\"bar-band bar-band-poor\">Behind", html
    )
    radiology = re.search(
        r"Radiology</a>\s*<span class=\"bar-figure\">100% <span class=\"bar-band bar-band-good\">On", html
    )
    assert pharmacy and radiology
    assert 'class="bar-fill bar-poor"' in html and 'class="bar-fill bar-good"' in html


def test_department_rules_follow_a_person_who_moves(app, course, make_user, make_requirement):
    nurse = make_user(department="Emergency")
    make_user(department="Radiology")
    make_requirement(course, department="Emergency")
    with app.app_context():
        assert db.session.execute(select(Obligation.user_id)).scalars().all() == [nurse.id]
        user = db.session.get(User, nurse.id)
        user.department = db.session.execute(select(Department).where(Department.name == "Radiology")).scalar_one()
        refresh_obligations([nurse.id])
        db.session.commit()
        assert db.session.execute(select(Obligation)).first() is None


def test_job_title_rules_match_without_case(app, course, make_user, make_requirement):
    pharmacist = make_user(job_title="Pharmacist")
    make_user(job_title="Registered Nurse")
    make_requirement(course, job_title="PHARMACIST")
    with app.app_context():
        assert db.session.execute(select(Obligation.user_id)).scalars().all() == [pharmacist.id]


def test_deactivated_staff_leave_the_figures_but_keep_their_history(app, auth, course, make_user, make_requirement, hr):
    leaver = make_user(name="Gone Gwen")
    make_requirement(course)
    auth.login(leaver)
    complete_course(app, auth)
    auth.logout()
    with app.app_context():
        db.session.get(User, leaver.id).active = False
        refresh_obligations([leaver.id])
        db.session.commit()
        assert db.session.execute(select(Obligation).where(Obligation.user_id == leaver.id)).first() is None
    auth.login(hr)
    assert "Gone Gwen" not in auth.client.get("/compliance/people").get_data(as_text=True)
    record = auth.client.get(f"/compliance/people/{leaver.id}").get_data(as_text=True)
    assert "deactivated" in record and "Test Course" in record  # the completion is still on record


def test_retiring_a_requirement_removes_the_obligations_it_made(app, auth, course, make_user, make_requirement, hr):
    make_user()
    requirement_id = make_requirement(course)
    auth.login(hr)
    response = auth.post(f"/compliance/requirements/{requirement_id}/retire", token_from="/compliance/requirements")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Obligation)).first() is None
        assert db.session.get(Requirement, requirement_id).retired_at is not None
    again = auth.post(f"/compliance/requirements/{requirement_id}/retire", token_from="/compliance/requirements")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("item", "course:99999", "Not a valid choice"),
        ("item", "policy:abc", "Not a valid choice"),
        ("due_within_days", "0", "between 1 and 3650"),
        ("due_within_days", "ten", "Not a valid integer"),
        ("recertify_months", "500", "between 1 and 120"),
        ("department", "99999", "Not a valid choice"),
    ],
)
def test_tampered_requirement_forms_are_refused_and_write_nothing(app, auth, course, hr, field, value, message):
    auth.login(hr)
    data = {"item": f"course:{_course_id(app)}", "department": "", "due_within_days": "30"} | {field: value}
    response = auth.post("/compliance/requirements", data, token_from="/compliance/requirements")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Requirement)).first() is None


def test_staff_cannot_reach_hr_pages(auth, course, make_user):
    nurse = make_user()
    auth.login(nurse)
    for path in ("/compliance", "/compliance/people", "/compliance/requirements", f"/compliance/people/{nurse.id}"):
        assert auth.client.get(path).status_code == 403


def test_managers_see_their_own_department_only(app, auth, course, make_user, make_requirement):
    manager = make_user("manager", department="Emergency")
    mine = make_user(name="Emma Emergency", department="Emergency")
    other = make_user(name="Rory Radiology", department="Radiology")
    make_requirement(course)
    auth.login(manager)
    people = auth.client.get("/compliance/people").get_data(as_text=True)
    assert "Emma Emergency" in people and "Rory Radiology" not in people
    with app.app_context():
        radiology = db.session.execute(select(Department.id).where(Department.name == "Radiology")).scalar_one()
    assert auth.client.get(f"/compliance/people?department={radiology}").status_code == 422
    assert auth.client.get(f"/compliance/people/{other.id}").status_code == 404
    assert auth.client.get(f"/compliance/people/{mine.id}").status_code == 200
    dashboard = auth.client.get("/compliance").get_data(as_text=True)
    assert "Emergency" in dashboard and "Radiology" not in dashboard
    assert auth.client.get("/compliance/requirements").status_code == 403


def test_the_people_list_searches_filters_and_pages(app, auth, course, make_user, make_requirement, hr):
    for n in range(55):
        make_user(name=f"Person {n:02d}", email=f"p{n}@example.org", employee_id=f"E{n:04d}")
    make_requirement(course)
    auth.login(hr)
    first = auth.client.get("/compliance/people").get_data(as_text=True)
    assert "56 people" in first and "page 1 of 2" in first and "Next page" in first
    assert "Person 54" not in first
    second = auth.client.get("/compliance/people?page=2").get_data(as_text=True)
    assert "Person 54" in second
    found = auth.client.get("/compliance/people?q=e0007").get_data(as_text=True)
    assert "1 person" in found and "Person 07" in found
    none = auth.client.get("/compliance/people?q=%25").get_data(as_text=True)
    assert "No one matches" in none  # % is searched literally, not as a wildcard
    by_item = auth.client.get(f"/compliance/people?item=course:{_course_id(app)}&status=completed")
    assert "No one matches" in by_item.get_data(as_text=True)
    assert auth.client.get("/compliance/people?status=bogus").status_code == 422
    assert auth.client.get("/compliance/people?page=999").status_code == 200


def test_the_sql_status_agrees_with_the_pure_rule_on_every_case(app, course, make_user, make_requirement):
    """The SQL conditions (dashboard, filters) and `rules.status_on` (pages) must never differ; exactly one holds."""
    person = make_user()
    make_requirement(course)
    on = date(2026, 11, 24)
    days = [on + timedelta(days=d) for d in (-400, -1, 0, 1, 29, 30, 31, 400)]
    cases = [(due, None, None, started) for due in days for started in (False, True)]
    cases += [(until, done, until, False) for until in days for done in (on - timedelta(days=500),)]
    cases += [(on, on - timedelta(days=10), None, False)]
    with app.app_context():
        obligation = db.session.execute(select(Obligation).where(Obligation.user_id == person.id)).scalar_one()
        for due_on, completed_on, valid_until, started in cases:
            obligation.due_on, obligation.completed_on = due_on, completed_on
            obligation.valid_until, obligation.started = valid_until, started
            db.session.flush()
            in_sql = db.session.execute(select(status_case(on, 30)).where(Obligation.id == obligation.id)).scalar_one()
            matching = [
                status
                for status, condition in status_conditions(on, 30).items()
                if db.session.execute(select(Obligation.id).where(Obligation.id == obligation.id, condition)).first()
            ]
            expected = rules.status_on(rules.ObligationDates(due_on, completed_on, valid_until, started), on, 30)
            assert in_sql == expected and matching == [expected], (due_on, completed_on, valid_until, started)
        db.session.rollback()
