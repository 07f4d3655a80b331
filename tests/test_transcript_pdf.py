"""One person's transcript as a PDF, read back with pypdf: content, metadata, page numbers and access."""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.helpers import answer_key, complete_modules, start_quiz, submit
from training.audit.models import AuditEvent
from training.auth.models import User
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.db import utcnow
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion


def pdf_text(response) -> tuple[PdfReader, str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    return reader, " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def people(app, make_user, make_requirement, course):
    nurse = make_user(
        email="nurse@example.org", name="Nina Nurse", department="Pharmacy", employee_id="E1001", job_title="Nurse"
    )
    people = {
        "nurse": nurse,
        "colleague": make_user(email="colleague@example.org", name="Carl Colleague", department="Pharmacy"),
        "pharmacy_manager": make_user("manager", email="pm@example.org", department="Pharmacy"),
        "radiology_manager": make_user("manager", email="rm@example.org", department="Radiology"),
        "hr": make_user("hr", email="hr@example.org"),
    }
    make_requirement(course, due_within_days=90)
    with app.app_context():
        policy = Policy(slug="social-media", title="Social media policy")
        db.session.add(policy)
        db.session.flush()
        version = PolicyVersion(
            policy_id=policy.id, version=2, body="Text.", statement="I have read it.", content_hash="0" * 64
        )
        db.session.add(version)
        db.session.flush()
        db.session.add(Attestation(user_id=nurse.id, policy_version_id=version.id, statement="I have read it."))
        db.session.commit()
    return people


def test_a_person_downloads_their_own_transcript(app, client, auth, people, course):
    nurse = people["nurse"]
    auth.login(nurse)
    complete_modules(auth, course)
    failed = start_quiz(auth, course)
    submit(auth, failed, answer_key(app, failed, wrong=3))
    passed = start_quiz(auth, course)
    submit(auth, passed, answer_key(app, passed))
    response = client.get(f"/compliance/people/{nurse.id}/transcript.pdf")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=transcript-e1001-nina-nurse-")
    reader, text = pdf_text(response)
    with app.app_context():
        certificate = db.session.execute(select(Certificate).where(Certificate.user_id == nurse.id)).scalar_one()
        serial = display_serial(certificate.serial)
    for expected in (
        "Training transcript",
        "Nina Nurse",
        "E1001",
        "Pharmacy",
        "Nurse",
        "Test Course",
        "Completed",
        "valid until",
        serial,
        "Not passed",
        "Passed",
        "Social media policy",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    meta = reader.metadata
    assert meta.title == "Training transcript: Nina Nurse"
    assert meta.author == "Demo Health"
    assert abs(meta.creation_date - utcnow()) < timedelta(minutes=5)
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert height > width, "portrait"


def test_the_status_of_required_training_uses_the_one_vocabulary(client, auth, people):
    auth.login(people["hr"])
    _, text = pdf_text(client.get(f"/compliance/people/{people['colleague'].id}/transcript.pdf"))
    assert "Not started" in text and "No completed courses" in text and "No quiz attempts" in text


def test_a_long_transcript_numbers_its_pages(app, client, auth, people, course):
    nurse = people["nurse"]
    with app.app_context():
        policies = [Policy(slug=f"policy-{n}", title=f"Policy number {n}") for n in range(60)]
        db.session.add_all(policies)
        db.session.flush()
        for policy in policies:
            version = PolicyVersion(
                policy_id=policy.id, version=1, body=".", statement="I agree.", content_hash="1" * 64
            )
            db.session.add(version)
            db.session.flush()
            db.session.add(Attestation(user_id=nurse.id, policy_version_id=version.id, statement="I agree."))
        db.session.commit()
    auth.login(nurse)
    reader, text = pdf_text(client.get(f"/compliance/people/{nurse.id}/transcript.pdf"))
    pages = len(reader.pages)
    assert pages >= 2
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


@pytest.mark.parametrize(
    ("viewer", "status"),
    [("colleague", 404), ("radiology_manager", 404), ("pharmacy_manager", 200), ("hr", 200), ("nurse", 200)],
)
def test_who_may_download_whose_transcript(client, auth, people, viewer, status):
    auth.login(people[viewer])
    assert client.get(f"/compliance/people/{people['nurse'].id}/transcript.pdf").status_code == status


def test_an_unknown_person_is_404_and_a_visitor_must_sign_in(client, auth, people):
    assert client.get(f"/compliance/people/{people['nurse'].id}/transcript.pdf").status_code == 302
    auth.login(people["hr"])
    assert client.get("/compliance/people/99999/transcript.pdf").status_code == 404


def test_each_download_is_in_the_audit_record(app, client, auth, people):
    auth.login(people["pharmacy_manager"])
    client.get(f"/compliance/people/{people['nurse'].id}/transcript.pdf")
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "transcript.exported")).scalar_one()
        assert (event.actor_id, event.subject_id) == (people["pharmacy_manager"].id, str(people["nurse"].id))


def test_a_deactivated_persons_transcript_is_still_available(app, client, auth, people):
    with app.app_context():
        db.session.get(User, people["nurse"].id).active = False
        db.session.commit()
    auth.login(people["hr"])
    _, text = pdf_text(client.get(f"/compliance/people/{people['nurse'].id}/transcript.pdf"))
    assert "Nina Nurse (deactivated)" in text


def test_us_letter_follows_the_certificate_page_size_setting(app, client, auth, people):
    app.config["CERTIFICATE_PAGE_SIZE"] = "Letter"
    auth.login(people["hr"])
    reader, _ = pdf_text(client.get(f"/compliance/people/{people['nurse'].id}/transcript.pdf"))
    assert tuple(round(float(v)) for v in reader.pages[0].mediabox.upper_right) == (612, 792)
