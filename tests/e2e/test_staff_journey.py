"""A member of staff in Chromium: reads a course, fails its quiz, reads the feedback, tries again,
passes, downloads the certificate from the result and opens its verification link."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from tests.e2e.browser import attempt_id, choose_answers, sign_in
from tests.helpers import answer_key
from training.content.models import QuestionOption
from training.extensions import db

COURSE = "Patient Confidentiality and HIPAA on Social Media"


@pytest.mark.renders_certificates_at_completion
def test_staff_journey(app, page, make_user, make_requirement, check_page, tmp_path):
    nurse = make_user(name="Nia Okafor", department="Emergency Department")
    make_requirement("hipaa-social-media", due_within_days=14)
    sign_in(page, nurse.email, check_page)
    expect(page.get_by_role("heading", name="My training")).to_be_visible()
    first = page.get_by_role("region", name="To do first")
    expect(first.get_by_role("link", name=COURSE)).to_be_visible()
    expect(first.get_by_text("Due soon", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Start {COURSE}")).to_be_visible()
    check_page(page, "my-training")

    page.get_by_role("heading", name=COURSE).get_by_role("link").click()
    check_page(page, "course")
    read_every_module(page, check_page)
    expect(page.get_by_role("region", name="Modules").get_by_text("Done", exact=True)).to_have_count(6)
    check_page(page, "course-modules-read", screenshot=False)

    fail_the_quiz(app, page, check_page)
    pass_the_quiz(app, page, check_page)
    pdf = download_certificate(page, tmp_path)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My training").click()
    expect(page.get_by_text("Completed", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="To do first")).to_have_count(0)
    expect(page.get_by_role("link", name=f"Certificate {COURSE} (PDF)")).to_be_visible()
    check_page(page, "my-training-completed")
    assert pdf.startswith(b"%PDF-")
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Nia Okafor" in text and COURSE in text

    verify_url = re.search(r"http://127\.0\.0\.1:\d+/verify/[A-Z0-9-]+", text).group(0)
    page.goto(verify_url)
    expect(page.get_by_role("heading", name="This certificate is valid")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Nia Okafor")).to_be_visible()
    check_page(page, "verify")

    page.goto(verify_url.replace("/verify/", "/certificates/"))
    expect(page.get_by_role("heading", name="Certificate details")).to_be_visible()
    expect(page.get_by_text("SHA-256")).to_have_count(0)
    check_page(page, "certificate", screenshot=False)


def read_every_module(page, check_page):
    """Open the first module, then mark each one complete; the app moves on to the next."""
    page.get_by_role("list").filter(has_text="What counts").get_by_role("link").first.click()
    check_page(page, "module")
    while True:
        expect(page.get_by_text(re.compile(r"^Module \d of 6$"))).to_be_visible()
        last = page.get_by_text("Module 6 of 6").count() == 1
        page.get_by_role("button", name="Mark module complete").click()
        if last:
            break
        check_page(page, "module-next", screenshot=False)


def fail_the_quiz(app, page, check_page):
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.get_by_role("heading", name="Scenario quiz")).to_be_visible()
    expect(page.get_by_text("0 of 10 answered")).to_be_visible()
    check_page(page, "quiz")
    wrong = answer_key(app, attempt_id(page), wrong=10)
    choose_answers(page, wrong)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name=re.compile(r"^\d+%: Not passed$"))).to_be_visible()
    feedback = option_feedback(app, next(iter(wrong.values()))[0])
    expect(page.get_by_text(feedback)).to_be_visible()
    expect(page.locator(".verdict", has_text="Not correct")).to_have_count(10)
    expect(page.get_by_text("Review the modules behind the questions you missed")).to_be_visible()
    expect(page.locator(".module-links a").first).to_have_attribute("href", re.compile(r"/modules/"))
    check_page(page, "quiz-failed")
    page.get_by_role("button", name="Try again").click()


def pass_the_quiz(app, page, check_page):
    expect(page.get_by_role("heading", name="Scenario quiz")).to_be_visible()
    check_page(page, "quiz-again", screenshot=False)
    choose_answers(page, answer_key(app, attempt_id(page)))
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", name="100%: Passed")).to_be_visible()
    expect(page.get_by_text("Course completed.")).to_be_visible()
    expect(page.get_by_role("link", name="View certificate")).to_be_visible()
    check_page(page, "quiz-passed")


def option_feedback(app, option_id: str) -> str:
    with app.app_context():
        query = select(QuestionOption.feedback).where(QuestionOption.id == int(option_id))
        return db.session.execute(query).scalar_one()


def download_certificate(page, tmp_path) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("link", name="Download certificate (PDF)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    return path.read_bytes()
