"""HR in Chromium: sets a requirement, sees a person become overdue, filters the people list from
the overview, exports the filtered list as CSV, and asks for a department's audit packet: its job page
while it is prepared, then its download."""

import csv
import io
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.browser import sign_in
from tests.helpers import age_requirement
from training.clock import today
from training.content.models import Course
from training.courses import services as course_services
from training.courses.services import mark_module_complete
from training.extensions import db
from training.quizzes import attempts as quiz_attempts

COURSE = "Patient Confidentiality and HIPAA on Social Media"


def test_hr_journey(app, page, make_user, check_page, tmp_path):
    hr = make_user("hr", name="Harper Hale", department="Human Resources", job_title="HR Advisor")
    larry = make_user(name="Larry Lane", department="Pharmacy", job_title="Pharmacist")
    make_user(name="Nadia Nurse", department="Emergency Department")
    sign_in(page, hr.email, check_page, screenshot=False)

    main_nav(page, "Compliance")
    expect(page.get_by_text("No one has required training yet.")).to_be_visible()
    check_page(page, "overview-empty")

    requirement_id = add_requirement(page, check_page)
    open_record(page, "Larry Lane", check_page)
    expect(status_of(page, COURSE)).to_have_text("Due soon")
    check_page(page, "record-due-soon", screenshot=False)

    age_requirement(app, requirement_id, days=45)
    page.reload()
    expect(status_of(page, COURSE)).to_contain_text("Overdue")
    check_page(page, "record-overdue")

    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Overview").click()
    expect(page.get_by_text("0% compliant")).to_be_visible()
    check_page(page, "overview")

    tiles = page.get_by_role("list", name="Required courses and policies that need action")
    expect(tiles.get_by_role("link", name="Overdue")).to_have_text("3 Overdue courses and policies See who →")
    tiles.get_by_role("link", name="Overdue").click()
    expect(page.get_by_text("3 people with a course or policy overdue")).to_be_visible()
    expect(page.get_by_label("Status")).to_have_value("overdue")
    check_page(page, "people-overdue", screenshot=False)
    page.get_by_label("Department").select_option(label="Pharmacy")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 person with a course or policy overdue", exact=True)).to_be_visible()
    expect(page.get_by_role("table").get_by_role("link")).to_have_text(["Larry Lane"])
    check_page(page, "people-filtered")

    rows = download_csv(page, tmp_path)
    assert [(r["Name"], r["Email"], r["Department"], r["Item"], r["Status"]) for r in rows] == [
        ("Larry Lane", larry.email, "Pharmacy", COURSE, "Overdue")
    ]
    assert rows[0]["Due date"] == (today_in(app) - timedelta(days=15)).isoformat()

    complete_course(app, larry.id, COURSE)  # something for the packet to hold
    prepare_packet(page, app, check_page, tmp_path)


def main_nav(page, name):
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def add_requirement(page, check_page) -> int:
    """Everyone must complete the course within 30 days; returns the new rule's id."""
    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Requirements").click()
    check_page(page, "requirements")
    page.get_by_label("Course or policy").select_option(label=f"Course: {COURSE}")
    page.get_by_label("Department").select_option(label="Everyone")
    page.get_by_label("Due within (days)").fill("30")
    page.get_by_role("button", name="Add requirement").click()
    rule = page.get_by_role("table", name="Active requirements").get_by_role("row").filter(has_text=COURSE)
    expect(rule).to_contain_text("Everyone")
    check_page(page, "requirement-added")
    retire_form = rule.locator("form")
    return int(retire_form.get_attribute("action").split("/")[-2])


def open_record(page, name, check_page):
    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="People").click()
    check_page(page, "people", screenshot=False)
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def status_of(page, item):
    row = page.get_by_role("table", name="Status of each required course and policy").get_by_role("row")
    return row.filter(has_text=item).locator(".badge")


def today_in(app):
    with app.app_context():
        return today()


def download_csv(page, tmp_path) -> list[dict]:
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name.startswith("compliance-") and path.suffix == ".csv"
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def complete_course(app, user_id: int, title: str) -> None:
    """The person completes the course through the services, as the demo does."""
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.title == title)).scalar_one()
        for module in course.modules:
            mark_module_complete(user_id, module)
        attempt = course_services.start_quiz(user_id, course)
        answers = {q.id: sorted(q.correct_option_ids) for q in quiz_attempts.gradable(attempt)}
        course_services.submit_quiz(user_id, attempt.id, answers)


def prepare_packet(page, app, check_page, tmp_path):
    """The packet's job page says it is being prepared, and offers the ZIP once a worker has made it."""
    page.get_by_role("navigation", name="Compliance").get_by_role("link", name="Audit packet").click()
    page.get_by_label("A department").check()
    page.get_by_label("Department", exact=True).select_option(label="Pharmacy")
    page.get_by_role("button", name="Prepare audit packet (ZIP)").click()
    expect(page.get_by_role("heading", level=1, name="Audit packet")).to_be_visible()
    expect(page.get_by_text("Preparing")).to_be_visible()
    check_page(page, "packet-preparing")
    app.extensions["jobs"].drain()
    expect(page.get_by_text("Your file is ready.")).to_be_visible()  # the page's script fetched the news
    check_page(page, "packet-ready")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename.startswith("audit-packet-")
