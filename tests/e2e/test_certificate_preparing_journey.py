"""A member of staff downloads a certificate whose PDF was never rendered (as after `flask demo --staff`, or a lost
file): the "being prepared" page, then the download starting by itself once the render job has run."""

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.browser import sign_in
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.content.models import Course
from training.courses import services as course_services
from training.courses.services import mark_module_complete
from training.db import utcnow
from training.extensions import db
from training.quizzes import attempts as quiz_attempts


def certificate_without_its_file(app, user_id: int) -> tuple[str, str]:
    """Complete the first shipped course through the services (the test apps render no file at completion)."""
    with app.app_context():
        course = db.session.execute(select(Course).order_by(Course.id).limit(1)).scalar_one()
        for module in course.modules:
            mark_module_complete(user_id, module, now=utcnow())
        attempt = course_services.start_quiz(user_id, course, now=utcnow())
        answers = {q.id: sorted(q.correct_option_ids) for q in quiz_attempts.gradable(attempt)}
        course_services.submit_quiz(user_id, attempt.id, answers, now=utcnow())
        return display_serial(db.session.scalar(select(Certificate.serial))), course.title


def test_certificate_preparing_journey(app, page, make_user, check_page, tmp_path):
    nurse = make_user(name="Nia Okafor", department="Emergency Department")
    serial, title = certificate_without_its_file(app, nurse.id)
    sign_in(page, nurse.email, check_page, screenshot=False)
    page.goto(f"/certificates/{serial}")
    with page.expect_navigation():
        page.get_by_role("link", name="Download PDF").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_text("Your certificate's PDF is being prepared.")).to_be_visible()
    check_page(page, "being-prepared", screenshot=False)
    with page.expect_download(timeout=30_000) as download:
        app.extensions["jobs"].drain()  # the worker renders the file; the page's next check starts the download
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    assert path.name == f"certificate-{serial}.pdf"
