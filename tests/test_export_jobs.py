"""Exports as background jobs, through the pages: asking answers at once with a job page, one job per double
click, progress, a retry that continues from its checkpoint, who may see a job, the expiring link, the email."""

import hashlib
import io
import re
import shutil
import zipfile
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.api_fixtures import complete_at
from tests.helpers import ask_for_export, smtp_server
from training.audit.models import AuditEvent
from training.auth.models import Department, User
from training.certificates import export
from training.certificates.files import certificate_store
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.jobs.runner import run_job

pytestmark = pytest.mark.renders_certificates_at_completion
LINK = re.compile(r'href="(/exports/\d+/download)"')


@pytest.fixture
def staff(app, make_user, course) -> list[User]:
    """Three people of Emergency and one of Pharmacy, each with a certificate (its PDF stored when issued),
    issued a day apart: the ZIP lists them newest first."""
    people = [make_user(department="Emergency") for _ in range(3)] + [make_user(department="Pharmacy")]
    for days_ago, person in zip((10, 9, 8, 7), people, strict=True):
        complete_at(app, person.id, utcnow() - timedelta(days=days_ago))
    return people


def fetch(client, path: str):
    """GET a download and read it whole, so its file is closed."""
    with client.get(path) as response:
        response.get_data()
    return response


def job_of(app, location: str) -> Job:
    with app.app_context():
        job = db.session.get(Job, int(location.rsplit("/", 1)[1]))
        db.session.expunge(job)
        return job


def exported_events(app) -> int:
    with app.app_context():
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "certificate.exported")
        return db.session.execute(query).scalar_one()


def test_asking_answers_at_once_with_a_page_that_refreshes_and_twice_makes_one_job(app, client, auth, make_user, staff):
    auth.login(make_user(role="hr"))
    first = ask_for_export(client, "/certificates/export")
    second = ask_for_export(client, "/certificates/export")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"], "a double click finds the same job"
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Preparing" in page and 'data-state="preparing"' in page and not LINK.search(page)
    assert "export-progress.js" in page and 'href="/exports/' in page, "a script keeps it fresh; without it, a link"
    assert exported_events(app) == 0, "the audit event is written when the file is made"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Job)).scalar_one() == 1
    app.extensions["jobs"].drain()
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Your file is ready" in page and "export-progress.js" not in page
    assert fetch(client, LINK.search(page).group(1)).status_code == 200
    assert exported_events(app) == 1


def stored(app, user: User) -> tuple[Certificate, Path]:
    with app.app_context():
        certificate = db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).scalar_one()
        db.session.expunge(certificate)
        return certificate, certificate_store().path_for(certificate.serial)


def test_a_try_that_fails_midway_is_continued_from_its_checkpoint(app, client, auth, make_user, staff, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 1)
    newest, path = stored(app, staff[3])
    second, second_path = stored(app, staff[2])
    second_pdf = second_path.read_bytes()
    second_path.unlink()
    design = app.config["CERTIFICATE_DESIGN_DIR"]
    app.config["CERTIFICATE_DESIGN_DIR"] = "/nonexistent/design"  # the lost file cannot be rendered again
    auth.login(make_user(role="hr"))
    location = ask_for_export(client, "/certificates/export").headers["Location"]
    with app.app_context(), pytest.raises(Exception):  # noqa: B017 - whatever the renderer raises
        run_job(job_of(app, location).id)
    failed = job_of(app, location)
    assert (failed.status, failed.tries, failed.done_count, failed.total_count) == ("queued", 1, 1, 4)
    assert "Preparing … 1 of 4" in client.get(location).get_data(as_text=True)

    # Proof that the first certificate is not read again: its stored file changes before the retry.
    original = path.read_bytes()
    path.write_bytes(bytes(byte ^ 0xFF for byte in original))
    app.config["CERTIFICATE_DESIGN_DIR"] = design
    app.extensions["jobs"].drain()
    assert job_of(app, location).tries == 2
    page = client.get(location).get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(fetch(client, LINK.search(page).group(1)).get_data()))
    assert archive.testzip() is None
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == len(set(pdfs)) == 4
    assert archive.read(f"certificates/{display_serial(newest.serial)}.pdf") == original
    rendered_again = archive.read(f"certificates/{display_serial(second.serial)}.pdf")
    assert hashlib.sha256(rendered_again).hexdigest() == hashlib.sha256(second_pdf).hexdigest()
    assert archive.read("manifest.csv").decode("utf-8-sig").count("\r\n") == 5


def ask_for_packet(client, department_id: int):
    on = utcnow().date()
    fields = {"scope": "department", "department": str(department_id), "person": ""}
    fields |= {"date_from": (on - timedelta(days=30)).isoformat(), "date_to": on.isoformat()}
    return ask_for_export(client, "/compliance/packet", data=fields)


def test_only_the_requester_or_hr_sees_a_job_and_the_scope_is_checked_each_time(app, client, auth, make_user, staff):
    manager = make_user(role="manager", department="Emergency")
    with app.app_context():
        emergency = db.session.execute(select(Department.id).where(Department.name == "Emergency")).scalar_one()
        pharmacy = db.session.execute(select(Department.id).where(Department.name == "Pharmacy")).scalar_one()
    auth.login(manager)
    location = ask_for_packet(client, emergency).headers["Location"]
    app.extensions["jobs"].drain()
    page = client.get(location).get_data(as_text=True)
    download = LINK.search(page).group(1)
    assert fetch(client, download).status_code == 200
    auth.logout()
    for role, status in (("hr", 200), ("admin", 200), ("manager", 403), ("staff", 403)):
        auth.login(make_user(role=role, department="Emergency"))
        assert client.get(location).status_code == status, role
        assert fetch(client, download).status_code == status, role
        auth.logout()
    with app.app_context():
        db.session.execute(update(User).where(User.id == manager.id).values(department_id=pharmacy))
        db.session.commit()
    auth.login(manager)
    assert client.get(location).status_code == 403, "a manager moved away no longer sees the old department"
    assert client.get("/exports/999999").status_code == 404


def test_an_expired_link_answers_410_and_the_file_is_gone(app, client, auth, make_user, staff):
    auth.login(make_user(role="hr"))
    location = ask_for_export(client, "/certificates/export").headers["Location"]
    app.extensions["jobs"].drain()
    download = LINK.search(client.get(location).get_data(as_text=True)).group(1)
    job = job_of(app, location)
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job.id).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    path = Path(app.config["JOBS_RESULT_DIR"]) / f"{job.id}-certificates.zip"
    assert path.is_file()
    gone = client.get(download)
    assert gone.status_code == 410 and "no longer kept" in gone.get_data(as_text=True)
    assert not path.exists()
    assert "Ask for the export again" in client.get(location).get_data(as_text=True)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=email_policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def test_the_requester_is_emailed_a_link_when_the_file_is_ready(app, client, auth, make_user, staff):
    inbox = Inbox()
    hr = make_user(role="hr", name="Hana Hr")
    with smtp_server(inbox) as port:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM="t@example.org")
        auth.login(hr)
        location = ask_for_export(client, "/certificates/export").headers["Location"]
        assert inbox.messages == []
        app.extensions["jobs"].drain()
    [(recipients, message)] = inbox.messages
    assert recipients == [hr.email] and message["Subject"] == "Your certificates ZIP is ready"
    assert f"https://training.example.org{location}" in message.get_content()


def test_purge_deletes_the_files_of_expired_links_only(app, client, auth, make_user, staff, runner):
    auth.login(make_user(role="hr"))
    expired = job_of(app, ask_for_export(client, "/certificates/export").headers["Location"])
    app.extensions["jobs"].drain()
    kept = job_of(app, ask_for_export(client, "/certificates/export", {"department": ""}).headers["Location"])
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == expired.id).values(expires_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    app.extensions["jobs"].drain()
    folder = Path(app.config["JOBS_RESULT_DIR"])
    assert runner.invoke(args=["jobs", "purge"]).output.strip() == "Deleted 1 expired export file(s)."
    assert [path.name for path in folder.glob("*.zip")] == [f"{kept.id}-certificates.zip"]


def test_a_retry_whose_parts_are_gone_starts_again(app, client, auth, make_user, staff, monkeypatch):
    """A retry on a worker that cannot see the first try's files (another server's disk) makes the whole ZIP."""
    monkeypatch.setattr(export, "BATCH", 1)
    _, lost = stored(app, staff[2])
    lost.unlink()
    design = app.config["CERTIFICATE_DESIGN_DIR"]
    app.config["CERTIFICATE_DESIGN_DIR"] = "/nonexistent/design"
    auth.login(make_user(role="hr"))
    location = ask_for_export(client, "/certificates/export").headers["Location"]
    job_id = job_of(app, location).id
    with app.app_context(), pytest.raises(Exception):  # noqa: B017 - whatever the renderer raises
        run_job(job_id)
    shutil.rmtree(Path(app.config["JOBS_RESULT_DIR"]) / "work" / str(job_id))
    app.config["CERTIFICATE_DESIGN_DIR"] = design
    app.extensions["jobs"].drain()
    page = client.get(location).get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(fetch(client, LINK.search(page).group(1)).get_data()))
    assert archive.testzip() is None
    assert len([name for name in archive.namelist() if name.endswith(".pdf")]) == 4
    assert archive.read("manifest.csv").decode("utf-8-sig").count("\r\n") == 5
