"""The audit packet: one ZIP of transcripts, certificates, attestations and every answer, for an auditor."""

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.conftest import question_yaml
from tests.helpers import answer_key, complete_modules, download_when_ready, start_quiz, submit
from tests.saved_worlds import built_once
from training.audit.models import AuditEvent
from training.auth.models import Department, User
from training.certificates.files import certificate_store
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.clock import format_day, today
from training.compliance.rules import add_months_to_date
from training.content.models import Question, QuestionOption, QuestionVersion
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion
from training.quizzes.models import AttemptQuestion
from training.reports import packet_job

# The packet holds each certificate's PDF with the SHA-256 recorded when it was issued.
pytestmark = pytest.mark.renders_certificates_at_completion


@dataclass(frozen=True)
class Org:
    people: dict
    pharmacy_id: int
    radiology_id: int
    serial: str
    sha256: str
    on: date


@pytest.fixture
def org(app, auth, make_user, make_requirement, course, saved_worlds):
    return built_once(
        saved_worlds, "packet org", app, lambda: build_org(app, auth, make_user, make_requirement, course)
    )


def build_org(app, auth, make_user, make_requirement, course) -> Org:
    """A Pharmacy nurse who failed once, then passed (certificate) and attested; colleagues and managers."""
    people = {
        "nurse": make_user(
            email="nurse@example.org", name="Nina Nurse", department="Pharmacy", employee_id="E1001", job_title="Nurse"
        ),
        "colleague": make_user(email="colleague@example.org", name="Carl Colleague", department="Pharmacy"),
        "radiographer": make_user(email="rad@example.org", name="Ray Radiographer", department="Radiology"),
        "pharmacy_manager": make_user("manager", email="pm@example.org", name="Pam Manager", department="Pharmacy"),
        "radiology_manager": make_user("manager", email="rm@example.org", name="Rob Manager", department="Radiology"),
        "hr": make_user("hr", email="hr@example.org", name="Hilda Hr"),
        "staff": make_user(email="staff@example.org", department="Pharmacy"),
    }
    make_requirement(course, due_within_days=90)
    auth.login(people["nurse"])
    complete_modules(auth, course)
    failed = start_quiz(auth, course)
    submit(auth, failed, answer_key(app, failed, wrong=3))
    passed = start_quiz(auth, course)
    submit(auth, passed, answer_key(app, passed))
    auth.logout()
    with app.app_context():
        policy = Policy(slug="social-media", title="Social media policy")
        db.session.add(policy)
        db.session.flush()
        version = PolicyVersion(
            policy_id=policy.id, version=1, body="Text.", statement="I will follow it.", content_hash="0" * 64
        )
        db.session.add(version)
        db.session.flush()
        db.session.add(
            Attestation(
                user_id=people["nurse"].id,
                policy_version_id=version.id,
                statement="=I will follow it.",
                ip_address="192.0.2.7",
            )
        )
        db.session.commit()
        departments = dict(db.session.execute(select(Department.name, Department.id)).all())
        certificate = db.session.execute(select(Certificate)).scalar_one()
        serial, sha256 = display_serial(certificate.serial), certificate.latest_file.sha256
        on = today()
    return Org(people, departments["Pharmacy"], departments["Radiology"], serial, sha256, on)


def post_packet(auth, org, **fields):
    data = {
        "scope": "person",
        "person": "",
        "date_from": (org.on - timedelta(days=30)).isoformat(),
        "date_to": org.on.isoformat(),
    } | fields
    return auth.post("/compliance/packet", data=data, token_from="/compliance/packet")


def packet_file(app, client, auth, org, **fields):
    """The packet's ZIP, as its requester downloads it from the job page once a worker made it."""
    return download_when_ready(app, client, post_packet(auth, org, **fields))


def open_zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    return archive


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def test_the_form_offers_the_last_twelve_months(client, auth, org):
    auth.login(org.people["hr"])
    html = client.get("/compliance/packet").get_data(as_text=True)
    assert f'value="{org.on.isoformat()}"' in html
    assert f'value="{add_months_to_date(org.on, -12).isoformat()}"' in html
    assert "Radiology" in html and "Pharmacy" in html
    assert 'href="/compliance/packet"' in html, "the nav links to the packet"


def test_a_packet_for_one_person(app, client, auth, org):
    auth.login(org.people["hr"])
    archive = open_zip(packet_file(app, client, auth, org, person="E1001"))
    assert archive.namelist() == [
        "README.txt",
        "attestations.csv",
        "attempts.csv",
        "transcripts/e1001-nina-nurse.pdf",
        f"certificates/{org.serial}.pdf",
    ]
    readme = archive.read("README.txt").decode()
    for expected in (
        "Nina Nurse (employee ID E1001)",
        "Hilda Hr <hr@example.org> (hr)",
        f"{format_day(org.on - timedelta(days=30))} to {format_day(org.on)}",
        "45 CFR 164.530(j)(2)",
        "six years",
        "6 answered question(s) from 2 quiz attempt(s)",
    ):
        assert expected in readme, expected
    transcript = " ".join(
        PdfReader(io.BytesIO(archive.read("transcripts/e1001-nina-nurse.pdf"))).pages[0].extract_text().split()
    )
    assert "Nina Nurse" in transcript and "Not passed" in transcript and org.serial in transcript
    assert hashlib.sha256(archive.read(f"certificates/{org.serial}.pdf")).hexdigest() == org.sha256
    [attestation] = read_csv(archive, "attestations.csv")
    assert attestation == attestation | {
        "person": "Nina Nurse",
        "employee_id": "E1001",
        "policy": "Social media policy",
        "version": "1",
        "statement": "'=I will follow it.",
        "ip_address": "192.0.2.7",
    }
    assert attestation["attested_at"].startswith(org.on.isoformat())


def test_attempts_csv_has_every_answer_with_the_options_shown(app, client, auth, org):
    auth.login(org.people["hr"])
    rows = read_csv(open_zip(packet_file(app, client, auth, org, person="nurse@example.org")), "attempts.csv")
    assert len(rows) == 6
    assert [r["passed"] for r in rows] == ["no"] * 3 + ["yes"] * 3
    assert [r["correct"] for r in rows] == ["no"] * 3 + ["yes"] * 3
    with app.app_context():
        asked = db.session.execute(
            select(AttemptQuestion).where(AttemptQuestion.attempt_id == int(rows[0]["attempt_id"]))
        ).scalars()
        options = dict(db.session.execute(select(QuestionOption.id, QuestionOption.text)).all())
        shown = [" | ".join(options[i] for i in question.option_order) for question in asked]
    assert [r["options_shown"] for r in rows[:3]] == shown
    right = next(r for r in rows[3:] if r["question_key"] == "tc-q1")
    assert right["selected_options"] == "Right answer" and right["prompt"] == "What should you do in tc-q1?"
    multiple = next(r for r in rows[3:] if r["question_key"] == "tc-q2")
    assert set(multiple["selected_options"].split(" | ")) == {"Alpha right", "Beta right"}
    assert {r["score"] for r in rows[3:]} == {"100"} and all(r["submitted_at"] for r in rows)


def test_the_question_version_asked_is_recorded_after_the_bank_changes(app, client, auth, org, content_dirs, sync):
    (content_dirs[1] / "test-course.yaml").write_text(
        question_yaml("tc-q1", "single", prompt="A reworded question?")
        + question_yaml("tc-q2", "multiple")
        + question_yaml("tc-q3", "true_false")
    )
    sync()
    with app.app_context():
        current = db.session.execute(
            select(QuestionVersion.version, QuestionVersion.prompt)
            .join(Question, Question.current_version_id == QuestionVersion.id)
            .where(Question.key == "tc-q1")
        ).one()
    assert tuple(current) == (2, "A reworded question?")
    auth.login(org.people["hr"])
    rows = read_csv(open_zip(packet_file(app, client, auth, org, person="E1001")), "attempts.csv")
    asked = [r for r in rows if r["question_key"] == "tc-q1"]
    assert [(r["question_version"], r["prompt"]) for r in asked] == [("1", "What should you do in tc-q1?")] * 2


def test_a_missing_certificate_file_is_rendered_again_not_left_out(app, client, auth, org):
    with app.app_context():
        certificate = db.session.execute(select(Certificate)).scalar_one()
        path = certificate_store().path_for(certificate.serial)
    path.unlink()
    auth.login(org.people["hr"])
    archive = open_zip(packet_file(app, client, auth, org, person="E1001"))
    assert hashlib.sha256(archive.read(f"certificates/{org.serial}.pdf")).hexdigest() == org.sha256
    assert path.is_file()


def test_a_department_packet_has_a_transcript_for_everyone_in_it(app, client, auth, org, monkeypatch):
    monkeypatch.setattr(packet_job, "CHUNK", 1)
    monkeypatch.setattr(packet_job, "TRANSCRIPT_BATCH", 1)
    app.config["JOBS_RENDER_PROCESSES"] = 2  # the transcripts are rendered by two spawned processes
    with app.app_context():
        db.session.get(User, org.people["colleague"].id).active = False
        db.session.commit()
    auth.login(org.people["pharmacy_manager"])
    archive = open_zip(packet_file(app, client, auth, org, scope="department", department=str(org.pharmacy_id)))
    transcripts = sorted(n for n in archive.namelist() if n.startswith("transcripts/"))
    assert len(transcripts) == 4
    assert "transcripts/e1001-nina-nurse.pdf" in transcripts
    assert any(name.endswith("-carl-colleague.pdf") for name in transcripts), "deactivated people are included"
    assert not any("radiographer" in name for name in transcripts)
    assert len(read_csv(archive, "attempts.csv")) == 6
    assert "the Pharmacy department" in archive.read("README.txt").decode()


@pytest.mark.parametrize(
    ("viewer", "fields", "message"),
    [
        ("pharmacy_manager", {"person": "rad@example.org"}, "No one you can see has that employee ID"),
        ("radiology_manager", {"person": "E1001"}, "No one you can see has that employee ID"),
        ("hr", {"person": "nobody@example.org"}, "No one you can see has that employee ID"),
        ("hr", {"person": ""}, "Enter the person"),
        ("hr", {"scope": "department"}, "Choose a department."),
        ("hr", {"scope": "everyone", "person": "E1001"}, "Not a valid choice"),
        ("hr", {"person": "E1001", "date_to": "2020-01-01"}, "The last day is before the first day."),
        ("hr", {"person": "E1001", "date_from": "2010-01-01"}, "at most 7 years"),
        ("hr", {"person": "E1001", "date_from": "2026-13-45"}, "Not a valid date value"),
        ("hr", {"person": "E1001", "date_from": "9999-12-30", "date_to": "9999-12-31"}, "from 1900 to 2999"),
        ("hr", {"person": "E1001", "date_from": "0001-01-01", "date_to": "0001-12-31"}, "from 1900 to 2999"),
        ("hr", {"person": "E1001", "date_from": "2010-01-01", "date_to": "2010-12-31"}, "There are no completions"),
    ],
)
def test_bad_requests_get_the_form_again_with_a_message(app, client, auth, org, viewer, fields, message):
    auth.login(org.people[viewer])
    response = post_packet(auth, org, **fields)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)
    with app.app_context():
        count = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "audit_packet.exported")
        assert db.session.execute(count).scalar_one() == 0


def test_a_manager_cannot_ask_for_another_department(client, auth, org):
    auth.login(org.people["pharmacy_manager"])
    html = client.get("/compliance/packet").get_data(as_text=True)
    assert "Pharmacy" in html and "Radiology" not in html
    response = post_packet(auth, org, scope="department", department=str(org.radiology_id))
    assert response.status_code == 422 and "Choose a department from the list." in response.get_data(as_text=True)


def test_staff_are_refused(client, auth, org):
    auth.login(org.people["staff"])
    assert client.get("/compliance/packet").status_code == 403
    assert auth.post("/compliance/packet", data={"person": "E1001"}, token_from="/").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(client, auth, org):
    auth.login(org.people["hr"])
    response = client.post("/compliance/packet", data={"scope": "person", "person": "E1001"})
    assert response.status_code == 400


def test_each_packet_is_in_the_audit_record(app, client, auth, org):
    auth.login(org.people["hr"])
    open_zip(packet_file(app, client, auth, org, person="E1001"))
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "audit_packet.exported")).scalar_one()
        assert event.actor_id == org.people["hr"].id
        assert event.details["person_id"] == org.people["nurse"].id
        assert event.details["counts"] == {
            "people": 1,
            "completions": 1,
            "attempts": 2,
            "answers": 6,
            "attestations": 1,
            "certificates": 1,
        }
