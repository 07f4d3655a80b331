"""Certificates through the app: issue on completion, store, download, verify, revoke and export."""

import csv
import errno
import hashlib
import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import csrf_token
from tests.helpers import ask_for_export, comparable_page, complete_course, fetch_export, get_when_prepared
from training.audit.models import AuditEvent
from training.auth.models import Department
from training.certificates import files, issuing, revocation, verification
from training.certificates.files import certificate_store
from training.certificates.listing import CertificateFilter, find_certificates
from training.certificates.models import Certificate, CertificateFile
from training.certificates.render import renderer_for
from training.certificates.serials import display_serial
from training.completions.models import Completion
from training.content.models import Course
from training.courses import services as course_services
from training.courses.services import mark_module_complete
from training.db import utcnow
from training.extensions import db
from training.jobs.models import Job
from training.quizzes import attempts as quiz_attempts


@dataclass(frozen=True)
class Issued:
    serial: str  # display form, as printed
    sha256: str
    path: Path
    user_id: int
    name: str


def issued_certificates(app, user_id: int) -> list[Issued]:
    with app.app_context():
        rows = db.session.execute(
            select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.id)
        ).scalars()
        store = certificate_store()
        return [
            Issued(
                display_serial(c.serial),
                c.latest_file.sha256 if c.latest_file else "",
                store.path_for(c.serial),
                c.user_id,
                c.recipient_name,
            )
            for c in rows
        ]


@pytest.fixture
def certified(app, client, auth, make_user, course):
    """Make a staff member complete the test course through HTTP; returns (user, certificate)."""

    def make(department="Emergency", name=None):
        user = make_user(department=department, name=name)
        auth.login(user)
        complete_course(app, auth)
        auth.logout()
        (certificate,) = issued_certificates(app, user.id)
        return user, certificate

    return make


def complete_at(app, user_id: int, when) -> None:
    """Complete the test course at a past moment, through the services (as the demo does)."""
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.slug == "test-course")).scalar_one()
        for offset, module in enumerate(course.modules):
            mark_module_complete(user_id, module, now=when + timedelta(minutes=offset))
        attempt = course_services.start_quiz(user_id, course, now=when)
        answers = {q.id: sorted(q.correct_option_ids) for q in quiz_attempts.gradable(attempt)}
        course_services.submit_quiz(user_id, attempt.id, answers, now=when + timedelta(minutes=5))


def download(client, serial):
    """A certificate PDF as the browser gets it, after its "being prepared" page if its file was being rendered."""
    response = get_when_prepared(client.application, client, f"/certificates/{serial}.pdf")
    return response, response.get_data()


def move_clock(monkeypatch, by: timedelta):
    moved = utcnow() + by
    for module in (files, issuing, revocation, verification):
        monkeypatch.setattr(module, "utcnow", lambda: moved)


# --- issue on completion -----------------------------------------------------------------------


@pytest.mark.renders_certificates_at_completion
def test_completing_a_course_issues_one_certificate_with_its_pdf_stored(app, certified):
    user, certificate = certified()
    assert len(certificate.serial) == 19 and certificate.serial.count("-") == 3
    assert certificate.path.is_file()
    assert hashlib.sha256(certificate.path.read_bytes()).hexdigest() == certificate.sha256
    assert not list(certificate.path.parent.glob(".tmp-*")), "no temporary file left behind"
    with app.app_context():
        stored = db.session.execute(select(Certificate)).scalar_one()
        completion = db.session.execute(select(Completion)).scalar_one()
        assert stored.completion_id == completion.id
        assert stored.recipient_name == user.name and stored.course_title == "Test Course"
        assert stored.course_version == 1 and stored.score == 100
        assert stored.expires_at == completion.expires_at and stored.organisation_name == "Demo Health"


def test_with_rendering_deferred_the_first_download_asks_a_job_to_render_and_record_the_file(
    app, client, auth, certified
):
    """CERTIFICATE_RENDER_AT_COMPLETION off (the test apps' default): nothing is rendered at completion, and
    the first download renders nothing itself: it answers 202 with a page that asks again every few seconds,
    and a job renders, stores and records the same file a deployed site would have stored at completion."""
    assert app.config["CERTIFICATE_RENDER_AT_COMPLETION"] is False
    user, certificate = certified()
    assert certificate.sha256 == "" and not certificate.path.exists()
    auth.login(user)
    for _ in range(2):  # asking again while the job waits finds the same job
        waiting = client.get(f"/certificates/{certificate.serial}.pdf")
        assert waiting.status_code == 202 and waiting.mimetype == "text/html"
        assert waiting.headers["Retry-After"] == "3" and waiting.headers["Cache-Control"] == "no-store"
        page = waiting.get_data(as_text=True)
        assert "being prepared" in page and "certificate-preparing.js" in page
        assert f'data-download="/certificates/{certificate.serial}.pdf"' in page
    assert client.head(f"/certificates/{certificate.serial}.pdf").status_code == 202, "the page's check: not yet"
    assert not certificate.path.exists(), "the request rendered nothing"
    with app.app_context():
        job = db.session.execute(select(Job)).scalar_one()
        assert (job.kind, job.status) == ("certificate-render", "queued")
        assert not db.session.scalar(select(func.count()).select_from(CertificateFile))
    app.extensions["jobs"].drain()
    ready = client.head(f"/certificates/{certificate.serial}.pdf")
    assert ready.status_code == 200 and ready.get_data() == b"", "the page's check: ready, and no file sent"
    with app.app_context():
        assert not db.session.scalar(select(func.count()).where(AuditEvent.action == "certificate.downloaded"))
    response, data = download(client, certificate.serial)
    assert response.status_code == 200 and data.startswith(b"%PDF-")
    (stored,) = issued_certificates(app, user.id)
    assert stored.path.read_bytes() == data and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert download(client, certificate.serial)[1] == data, "the second download serves the stored file"
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "certificate.downloaded")) == 2


@pytest.mark.renders_certificates_at_completion
def test_the_downloaded_pdf_reads_back_with_name_course_serial_and_dates(app, client, auth, certified):
    user, certificate = certified(name="Ana Lucía Pérez")
    auth.login(user)
    home = client.get("/").get_data(as_text=True)
    assert f'href="/certificates/{certificate.serial}.pdf"' in home
    response, data = download(client, certificate.serial)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"certificate-{certificate.serial}.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert hashlib.sha256(data).hexdigest() == certificate.sha256
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    with app.app_context():
        stored = db.session.execute(select(Certificate)).scalar_one()
        completed_on = f"{stored.completed_at.day} {stored.completed_at:%B %Y}"  # 6 December 2026
        expires_on = f"{stored.expires_at.day} {stored.expires_at:%B %Y}"
    for expected in ("Ana Lucía Pérez", "Test Course", certificate.serial, completed_on, expires_on):
        assert expected in text, expected
    assert f"https://training.example.org/verify/{certificate.serial.replace('-', '')}" in text
    assert reader.metadata.author == "Demo Health"


def test_the_transcript_lists_the_completion_attempts_and_certificate(client, auth, certified):
    user, certificate = certified()
    auth.login(user)
    page = client.get("/transcript").get_data(as_text=True)
    assert certificate.serial in page and "Test Course" in page and "100%" in page and "Passed" in page
    assert f'href="/certificates/{certificate.serial}.pdf"' in page


def test_completing_again_after_expiry_issues_a_new_certificate_and_the_old_one_expires(
    app, client, auth, make_user, course
):
    user = make_user()
    complete_at(app, user.id, utcnow() - timedelta(days=400))
    (old,) = issued_certificates(app, user.id)
    assert client.get(f"/verify/{old.serial}.json").json["status"] == "expired"
    auth.login(user)
    assert "Expired" in client.get("/").get_data(as_text=True)
    complete_course(app, auth)
    first, second = issued_certificates(app, user.id)
    assert first.serial == old.serial and second.serial != old.serial
    assert client.get(f"/verify/{second.serial}.json").json["status"] == "valid"
    assert client.get(f"/verify/{old.serial}.json").json["status"] == "expired"


@pytest.mark.renders_certificates_at_completion
def test_a_rendering_failure_does_not_lose_the_completion(app, client, auth, make_user, course, tmp_path):
    app.config["CERTIFICATE_DESIGN_DIR"] = str(tmp_path / "no-such-design")
    user = make_user()
    auth.login(user)
    complete_course(app, auth)
    (certificate,) = issued_certificates(app, user.id)
    assert certificate.sha256 == "" and not certificate.path.exists()
    response = client.get(f"/certificates/{certificate.serial}.pdf")
    assert response.status_code == 202 and "being prepared" in response.get_data(as_text=True)
    with app.app_context():
        job = db.session.execute(select(Job)).scalar_one()
        assert (job.kind, job.status) == ("certificate-render", "queued"), "a job will render it again"
    app.config["CERTIFICATE_DESIGN_DIR"] = str(Path(__file__).resolve().parent.parent / "certificates")
    app.extensions["jobs"].drain()
    assert certificate.path.is_file(), "the job rendered it"
    assert download(client, certificate.serial)[0].status_code == 200


# --- storage and downloads -----------------------------------------------------------------------


@pytest.mark.renders_certificates_at_completion
def test_a_missing_file_is_rendered_again_to_the_recorded_bytes(app, client, auth, certified):
    user, certificate = certified()
    certificate.path.unlink()
    auth.login(user)
    response, data = download(client, certificate.serial)
    assert response.status_code == 200
    assert hashlib.sha256(data).hexdigest() == certificate.sha256
    assert certificate.path.is_file()
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(CertificateFile)).scalar() == 1


@pytest.mark.renders_certificates_at_completion
def test_a_file_changed_on_disk_is_never_served(app, client, auth, certified):
    user, certificate = certified()
    certificate.path.write_bytes(b"%PDF-1.7 tampered")
    auth.login(user)
    _, data = download(client, certificate.serial)
    assert hashlib.sha256(data).hexdigest() == certificate.sha256


@pytest.mark.renders_certificates_at_completion
def test_a_crash_while_writing_leaves_no_partial_file(app, certified, monkeypatch):
    _, certificate = certified()
    before = certificate.path.read_bytes()

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("training.certificates.storage.os.replace", crash)
    with app.app_context(), pytest.raises(OSError, match="disk full"):
        certificate_store().write(certificate.serial.replace("-", ""), b"%PDF-partial")
    assert certificate.path.read_bytes() == before
    assert not list(certificate.path.parent.glob(".tmp-*"))


def break_storage(kind: str, folder: Path, monkeypatch) -> None:
    """A real storage fault, lifted again by `monkeypatch.undo()` (and `repair_storage`).

    "read-only": the folder's mode is 0500, which stops writes for anyone but root; as root (for whom
    modes do not), the folder is replaced by a regular file, so every write under it fails with
    ENOTDIR. "full": the kernel's fsync reports ENOSPC, as a full disk does for data the page cache
    accepted; patched at the OS boundary (`os.fsync`), as a full filesystem cannot be mounted here.
    """
    if kind == "full":

        def no_space_left(_fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", no_space_left)
    elif os.geteuid() != 0:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o500)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.write_text("a regular file where the certificate folder should be")


def repair_storage(folder: Path, monkeypatch) -> None:
    monkeypatch.undo()
    if folder.is_file():
        folder.unlink()
    elif folder.is_dir():
        folder.chmod(0o700)


@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_a_download_while_the_certificate_cannot_be_stored_waits_for_the_job(
    app, client, auth, certified, monkeypatch, fault
):
    """The request neither renders nor writes: it answers 202 and leaves nothing partial behind; once storage
    works again, the job stores and records the file, and the download serves it."""
    user, certificate = certified(name="Ana Lucía Pérez")
    folder = Path(app.config["CERTIFICATE_STORAGE_DIR"])
    auth.login(user)
    break_storage(fault, folder, monkeypatch)
    try:
        response = client.get(f"/certificates/{certificate.serial}.pdf")
    finally:
        repair_storage(folder, monkeypatch)
    assert response.status_code == 202 and "being prepared" in response.get_data(as_text=True)
    assert not [p for p in folder.rglob("*") if p.is_file()], "no partial or temporary file left behind"
    assert issued_certificates(app, user.id)[0].sha256 == "", "nothing recorded before the file is stored"
    _, data = download(client, certificate.serial)
    assert "Ana Lucía Pérez" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    (recorded,) = issued_certificates(app, user.id)
    assert certificate.path.read_bytes() == data and recorded.sha256 == hashlib.sha256(data).hexdigest()
    assert "The file matches" in check_file(client, certificate.serial, pdf=data).get_data(as_text=True)


@pytest.mark.renders_certificates_at_completion
def test_a_design_change_records_a_second_file_and_both_verify(app, client, auth, certified, tmp_path):
    user, certificate = certified()
    design = tmp_path / "design"
    shutil.copytree(Path(app.config["CERTIFICATE_DESIGN_DIR"]), design)
    (design / "certificate.css").write_text((design / "certificate.css").read_text() + "\nh1 { color: #333; }\n")
    app.config["CERTIFICATE_DESIGN_DIR"] = str(design)
    renderer_for.cache_clear()
    certificate.path.unlink()
    auth.login(user)
    _, new_data = download(client, certificate.serial)
    new_hash = hashlib.sha256(new_data).hexdigest()
    assert new_hash != certificate.sha256
    for digest in (certificate.sha256, new_hash):
        page = check_file(client, certificate.serial, sha256=digest)
        assert "The file matches" in page.get_data(as_text=True)
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "certificate.rerendered")).scalar_one()
        assert event.details == {"sha256": new_hash, "previous_sha256": certificate.sha256}


@pytest.mark.parametrize(
    ("role", "same_department", "status"),
    [
        ("staff", True, 404),
        ("manager", True, 200),
        ("manager", False, 404),
        ("hr", False, 200),
        ("admin", False, 200),
    ],
)
def test_who_may_download_a_certificate(client, auth, make_user, certified, role, same_department, status):
    _, certificate = certified(department="Emergency")
    auth.login(make_user(role=role, department="Emergency" if same_department else "Pharmacy"))
    response, _ = download(client, certificate.serial)
    assert response.status_code == status
    if status == 404:
        unknown = client.get("/certificates/0000-0000-0000-0000.pdf")
        assert comparable_page(response) == comparable_page(unknown), (
            "another person's serial must look exactly like an unknown one"
        )
    assert client.get(f"/certificates/{certificate.serial}").status_code == status


@pytest.mark.parametrize("serial", ["not-a-serial", "0000-0000-0000-000U", "%2e%2e%2fsecret", "A" * 200])
def test_malformed_serials_are_404_not_500(client, auth, make_user, course, serial):
    auth.login(make_user())
    assert client.get(f"/certificates/{serial}.pdf").status_code == 404
    assert client.get(f"/certificates/{serial}").status_code == 404
    assert client.get(f"/verify/{serial}").status_code == 404
    assert client.get(f"/verify/{serial}.json").status_code == 404


def test_signed_out_visitors_cannot_download(client, certified):
    _, certificate = certified()
    response = client.get(f"/certificates/{certificate.serial}.pdf")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.renders_certificates_at_completion
def test_the_learners_certificate_page_has_no_file_hash_and_hr_sees_it(app, client, auth, make_user, certified):
    user, certificate = certified()
    auth.login(user)
    page = client.get(f"/certificates/{certificate.serial}").get_data(as_text=True)
    assert '<h2 id="details-heading">Certificate details</h2>' in page
    assert "SHA-256" not in page and certificate.sha256 not in page
    auth.logout()
    auth.login(make_user(role="hr"))
    page = client.get(f"/certificates/{certificate.serial}").get_data(as_text=True)
    assert "SHA-256 of the file" in page and certificate.sha256 in page


# --- public verification -------------------------------------------------------------------------


@pytest.mark.renders_certificates_at_completion
def test_verification_needs_no_sign_in_and_shows_only_the_minimum(client, certified):
    user, certificate = certified()
    response = client.get(f"/verify/{certificate.serial}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "This certificate is valid" in page
    assert user.name in page and "Test Course" in page and certificate.serial in page
    assert user.email not in page and "100%" not in page and certificate.sha256 not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert f'href="/verify/{certificate.serial}.json"' in page


def test_verification_json(client, certified):
    user, certificate = certified()
    body = client.get(f"/verify/{certificate.serial.lower().replace('-', '')}.json").json
    assert body == {
        "serial": certificate.serial,
        "status": "valid",
        "name": user.name,
        "course": "Test Course",
        "organisation": "Demo Health",
        "issued_on": body["issued_on"],
        "expires_on": body["expires_on"],
        "revoked_on": None,
    }
    assert body["expires_on"][:4] == str(int(body["issued_on"][:4]) + 1)


def test_verification_says_expired_once_the_clock_passes_the_expiry(client, certified, monkeypatch):
    _, certificate = certified()
    move_clock(monkeypatch, timedelta(days=366))
    assert "This certificate has expired" in client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert client.get(f"/verify/{certificate.serial}.json").json["status"] == "expired"


def test_an_unknown_serial_is_a_plain_404(client, course):
    for path in ("/verify/0000-0000-0000-0000", "/verify/0000000000000000.json"):
        response = client.get(path)
        assert response.status_code == 404
    assert client.get("/verify/0000-0000-0000-0000.json").json == {
        "error": {"code": "not_found", "message": "No certificate has this serial."}
    }


def test_the_lookup_form_goes_to_the_verification_page(client, certified):
    _, certificate = certified()
    assert client.get("/verify").status_code == 200
    response = client.get("/verify", query_string={"serial": certificate.serial.lower()})
    assert response.status_code == 302 and response.headers["Location"] == f"/verify/{certificate.serial}"
    bad = client.get("/verify", query_string={"serial": "12345"})
    assert bad.status_code == 400 and "16 letters and digits" in bad.get_data(as_text=True)


def test_verification_is_rate_limited(app, client, certified):
    _, certificate = certified()
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    statuses = [client.get(f"/verify/{certificate.serial}").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.get(f"/verify/{certificate.serial}.json")
    assert limited.status_code == 429 and limited.json["error"]["code"] == "too_many_requests"
    assert client.get("/verify/0000-0000-0000-0000").status_code == 429, "unknown serials count too"


def check_file(client, serial, *, pdf: bytes | None = None, sha256: str | None = None, filename="certificate.pdf"):
    data = {"csrf_token": csrf_token(client, f"/verify/{serial}")}
    if pdf is not None:
        data["pdf"] = (io.BytesIO(pdf), filename)
    if sha256 is not None:
        data["sha256"] = sha256
    return client.post(f"/verify/{serial}", data=data, content_type="multipart/form-data")


@pytest.mark.renders_certificates_at_completion
def test_uploading_the_issued_pdf_matches_and_an_altered_one_does_not(client, certified):
    _, certificate = certified()
    original = certificate.path.read_bytes()
    response = check_file(client, certificate.serial, pdf=original)
    assert response.status_code == 200 and "The file matches" in response.get_data(as_text=True)
    altered = original + b"1 0 obj\n<</Title (Forged)>>\nendobj\n%%EOF\n"  # an appended "incremental update"
    page = check_file(client, certificate.serial, pdf=altered).get_data(as_text=True)
    assert "The file does not match" in page


@pytest.mark.renders_certificates_at_completion
def test_entering_the_sha256_works_like_uploading(client, certified):
    _, certificate = certified()
    page = check_file(client, certificate.serial, sha256=certificate.sha256.upper()).get_data(as_text=True)
    assert "The file matches" in page


@pytest.mark.renders_certificates_at_completion
def test_a_file_of_another_certificate_does_not_match(client, certified):
    _, first = certified()
    _, second = certified()
    assert "does not match" in check_file(client, first.serial, pdf=second.path.read_bytes()).get_data(as_text=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pdf": b"GIF89a not a pdf"}, "That file is not a PDF"),
        (
            {"pdf": b"%PDF-1.7 a pdf by its bytes", "filename": "certificate.exe"},
            "Choose the certificate&#39;s .pdf file.",
        ),
        ({"pdf": b""}, "Choose the certificate PDF"),
        ({"sha256": "abc"}, "A SHA-256 is 64 characters"),
        ({"sha256": "z" * 64}, "A SHA-256 is 64 characters"),
        ({}, "Choose the certificate PDF, or enter its SHA-256."),
    ],
)
def test_bad_uploads_get_a_clear_400(client, certified, kwargs, message):
    _, certificate = certified()
    response = check_file(client, certificate.serial, **kwargs)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert page.count('aria-invalid="true"') == 1


def test_a_huge_upload_is_refused_with_413(client, certified):
    _, certificate = certified()
    huge = FileStorage(io.BytesIO(b"%PDF-" + b"0" * (3 * 1024 * 1024)), "huge.pdf", content_type="application/pdf")
    boundary, body = encode_multipart({"csrf_token": csrf_token(client, f"/verify/{certificate.serial}"), "pdf": huge})
    # The body is built in memory: the test client would otherwise spool it to a temporary file that
    # nothing closes once the app refuses to read it (a test-client artefact, not the app's).
    response = client.post(
        f"/verify/{certificate.serial}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 413 and "larger than this site accepts" in response.get_data(as_text=True)


def test_a_check_without_the_csrf_token_is_refused(client, certified):
    _, certificate = certified()
    response = client.post(f"/verify/{certificate.serial}", data={"sha256": certificate.sha256})
    assert response.status_code == 400 and "The file matches" not in response.get_data(as_text=True)


# --- revocation ----------------------------------------------------------------------------------


def revoke(auth, serial, reason="Issued in error: the quiz was taken by someone else."):
    return auth.post(f"/certificates/{serial}/revoke", data={"reason": reason}, token_from=f"/certificates/{serial}")


def test_hr_revokes_with_a_reason_and_everything_says_so(app, client, auth, make_user, certified):
    user, certificate = certified()
    hr = make_user(role="hr")
    auth.login(hr)
    response = revoke(auth, certificate.serial)
    assert response.status_code == 302 and response.headers["Location"] == f"/certificates/{certificate.serial}"
    detail = client.get(f"/certificates/{certificate.serial}").get_data(as_text=True)
    assert "Revoked on" in detail and "Issued in error" in detail and hr.name in detail
    body = client.get(f"/verify/{certificate.serial}.json").json
    assert body["status"] == "revoked" and body["revoked_on"] == utcnow().date().isoformat()
    page = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert "This certificate was revoked" in page and "Issued in error" not in page, "the reason stays private"
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "certificate.revoked")).scalar_one()
        assert event.actor_id == hr.id and event.subject_id == certificate.serial.replace("-", "")
        assert event.details["reason"].startswith("Issued in error") and event.ip_address == "127.0.0.1"
        assert abs(event.occurred_at - utcnow()) < timedelta(minutes=1)
    auth.logout()
    auth.login(user)
    response = client.get(f"/certificates/{certificate.serial}.pdf")
    assert response.status_code == 410 and "was revoked" in response.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Certificate revoked" in home, "the learner sees the course is due again"


def test_a_revoked_course_can_be_completed_again_for_a_new_certificate(app, client, auth, make_user, certified):
    user, certificate = certified()
    auth.login(make_user(role="admin"))
    assert revoke(auth, certificate.serial).status_code == 302
    auth.logout()
    auth.login(user)
    complete_course(app, auth)
    old, new = issued_certificates(app, user.id)
    assert client.get(f"/verify/{new.serial}.json").json["status"] == "valid"
    assert client.get(f"/verify/{old.serial}.json").json["status"] == "revoked"


def test_revoking_twice_is_a_409(auth, make_user, certified):
    _, certificate = certified()
    auth.login(make_user(role="hr"))
    assert revoke(auth, certificate.serial).status_code == 302
    token_page = f"/certificates/{certificate.serial}"
    again = auth.post(
        f"/certificates/{certificate.serial}/revoke", data={"reason": "Second time around."}, token_from=token_page
    )
    assert again.status_code == 409 and "already revoked" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("reason", "message"), [("", "Say why"), ("too short", "between 10 and 500"), ("x" * 501, "between 10 and 500")]
)
def test_a_revocation_needs_a_real_reason(app, auth, make_user, certified, reason, message):
    _, certificate = certified()
    auth.login(make_user(role="hr"))
    response = revoke(auth, certificate.serial, reason)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert 'aria-describedby="reason-hint reason-error"' in page and 'aria-invalid="true"' in page
    assert 'id="reason-error"' in page, "the message is tied to its field for screen readers"
    with app.app_context():
        revocations = select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("certificate.%"))
        assert db.session.execute(revocations).scalar() == 0


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_hr_and_admins_revoke(app, auth, make_user, certified, role):
    _, certificate = certified(department="Emergency")
    auth.login(make_user(role=role, department="Emergency"))
    token = csrf_token(auth.client, "/")
    response = auth.client.post(
        f"/certificates/{certificate.serial}/revoke", data={"reason": "Not allowed to do this.", "csrf_token": token}
    )
    assert response.status_code == 403
    assert auth.client.get(f"/verify/{certificate.serial}.json").json["status"] == "valid"


# --- HR list and bulk export ---------------------------------------------------------------------


def read_zip(response) -> tuple[list[dict], zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return manifest, archive


def zip_members(data: bytes) -> dict[str, bytes]:
    """Each member's name and contents: what two exports of the same records share, whatever second
    each was zipped in (a member's timestamp is the time of its export, to 2 seconds)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.renders_certificates_at_completion
def test_hr_exports_a_zip_with_a_manifest_of_serials_and_hashes(app, client, auth, make_user, certified):
    _, first = certified(department="Emergency")
    _, second = certified(department="Pharmacy", name='=HYPERLINK("http://evil")')
    hr = make_user(role="hr")
    auth.login(hr)
    response = fetch_export(app, client, "/certificates/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    again = fetch_export(app, client, "/certificates/export")
    assert zip_members(again.get_data()) == zip_members(response.get_data())
    manifest, archive = read_zip(response)
    assert {row["serial"] for row in manifest} == {first.serial, second.serial}
    for row in manifest:
        pdf = archive.read(row["file"])
        assert hashlib.sha256(pdf).hexdigest() == row["sha256"]
        assert row["status"] == "valid" and row["course"] == "Test Course"
    evil = next(row for row in manifest if row["serial"] == second.serial)
    assert evil["name"].startswith("'="), "spreadsheet formulas are neutralised"
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "certificate.exported")).scalars()
        assert [(e.actor_id, e.details["count"], e.details["channel"], e.ip_address) for e in events] == [
            (hr.id, 2, "web", "127.0.0.1")
        ] * 2


def test_the_export_follows_the_filter_and_leaves_out_revoked_files(app, client, auth, make_user, certified):
    _, emergency = certified(department="Emergency")
    _, pharmacy = certified(department="Pharmacy")
    _, revoked = certified(department="Pharmacy")
    auth.login(make_user(role="hr"))
    assert revoke(auth, revoked.serial).status_code == 302
    with app.app_context():
        pharmacy_id = db.session.execute(select(Department.id).where(Department.name == "Pharmacy")).scalar_one()
    manifest, archive = read_zip(fetch_export(app, client, "/certificates/export", {"department": pharmacy_id}))
    assert {row["serial"] for row in manifest} == {pharmacy.serial, revoked.serial}
    revoked_row = next(row for row in manifest if row["serial"] == revoked.serial)
    assert revoked_row["status"] == "revoked" and revoked_row["file"] == "" and revoked_row["revoked_on"]
    assert sorted(archive.namelist()) == sorted(["manifest.csv", f"certificates/{pharmacy.serial}.pdf"])
    today = utcnow().date()
    empty, _ = read_zip(
        fetch_export(app, client, "/certificates/export", {"issued_from": (today + timedelta(days=1)).isoformat()})
    )
    assert empty == []
    everything, _ = read_zip(
        fetch_export(
            app, client, "/certificates/export", {"issued_from": today.isoformat(), "issued_to": today.isoformat()}
        )
    )
    assert len(everything) == 3 and emergency.serial in {row["serial"] for row in everything}


@pytest.mark.renders_certificates_at_completion
def test_the_export_renders_files_that_went_missing(app, client, auth, make_user, certified):
    _, certificate = certified()
    certificate.path.unlink()
    auth.login(make_user(role="admin"))
    manifest, archive = read_zip(fetch_export(app, client, "/certificates/export"))
    assert hashlib.sha256(archive.read(manifest[0]["file"])).hexdigest() == certificate.sha256


@pytest.mark.parametrize(
    "query",
    [
        {"department": "abc"},
        {"department": "99999"},
        {"course": "1 OR 1=1"},
        {"issued_from": "yesterday"},
        {"issued_from": "2026-05-02", "issued_to": "2026-05-01"},
        {"issued_to": "9999-12-31"},
        {"issued_from": "0001-01-01"},
    ],
)
def test_a_tampered_filter_is_a_400_not_a_500(client, auth, make_user, certified, query):
    certified()
    auth.login(make_user(role="hr"))
    assert client.get("/certificates", query_string=query).status_code == 400
    assert ask_for_export(client, "/certificates/export", query).status_code == 400


def test_hr_lists_certificates_with_filters_and_pages(app, client, auth, make_user, certified):
    issued = [certified(department="Emergency")[1] for _ in range(3)]
    auth.login(make_user(role="hr"))
    page = client.get("/certificates").get_data(as_text=True)
    assert "3 certificates" in page and all(c.serial in page for c in issued)
    with app.app_context():
        page_of_two = find_certificates(CertificateFilter(), 2, per_page=2)
    assert page_of_two.total == 3 and page_of_two.pages == 2 and len(page_of_two.items) == 1


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_staff_and_managers_cannot_list_or_export(client, auth, make_user, certified, role):
    certified()
    auth.login(make_user(role=role))
    assert client.get("/certificates").status_code == 403
    assert ask_for_export(client, "/certificates/export").status_code == 403


# --- command line --------------------------------------------------------------------------------


@pytest.mark.renders_certificates_at_completion
def test_cli_export_writes_the_same_zip(app, runner, certified, tmp_path):
    _, certificate = certified(department="Emergency")
    certified(department="Pharmacy")
    out = tmp_path / "out" / "certs.zip"
    result = runner.invoke(args=["certificates", "export", str(out), "--department", "Emergency"])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 certificate(s)" in result.output
    archive = zipfile.ZipFile(out)
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["serial"] for row in manifest] == [certificate.serial]
    assert hashlib.sha256(archive.read(manifest[0]["file"])).hexdigest() == certificate.sha256
    assert not list(out.parent.glob(".tmp-*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--department", "Nowhere"], "no department 'Nowhere'"),
        (["--course", "nope"], "no course 'nope'"),
        (["--from", "2026-02-30"], "2026-02-30"),
        (["--from", "2026-05-02", "--to", "2026-05-01"], "--to is before --from"),
    ],
)
def test_cli_export_rejects_bad_filters(runner, course, tmp_path, args, message):
    out = tmp_path / "x.zip"
    result = runner.invoke(args=["certificates", "export", str(out), *args])
    assert result.exit_code == 2 and message in result.output
    assert not out.exists()


@pytest.mark.renders_certificates_at_completion
def test_cli_render_missing_asks_for_a_job_that_restores_deleted_files(app, runner, certified, monkeypatch):
    monkeypatch.setattr(files, "RENDER_BATCH", 1)
    _, first = certified()
    certified()
    first.path.unlink()
    result = runner.invoke(args=["certificates", "render-missing"])
    assert result.exit_code == 0 and "renders the missing certificate files (queued)" in result.output
    assert not first.path.exists(), "the job renders it, not the command"
    assert runner.invoke(args=["jobs", "work", "--once"]).exit_code == 0
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256
    with app.app_context():
        job = db.session.execute(select(Job)).scalar_one()
        assert (job.status, job.done_count, job.params) == ("done", 2, {"checked": 2, "rendered": 1})
    here = runner.invoke(args=["certificates", "render-missing", "--here"])
    assert here.output.strip() == "Checked 2 certificate(s); rendered 0."


def test_cli_issue_missing_covers_completions_recorded_before_certificates(app, runner, certified):
    user, certificate = certified()
    with app.app_context():
        db.session.execute(CertificateFile.__table__.delete())
        db.session.execute(Certificate.__table__.delete())
        db.session.commit()
    result = runner.invoke(args=["certificates", "issue-missing"])
    assert result.exit_code == 0 and "Issued 1 certificate(s)." in result.output
    (reissued,) = issued_certificates(app, user.id)
    assert reissued.serial != certificate.serial and reissued.path.is_file()
    assert runner.invoke(args=["certificates", "issue-missing"]).output.strip() == "Issued 0 certificate(s)."


@pytest.mark.parametrize("role", ["owner", "hr", "manager"])
def test_the_breadcrumb_leads_to_a_page_about_this_certificate(client, auth, make_user, certified, role):
    """Its owner goes back to their transcript, HR to the register, a manager to the person's record (not the
    manager's own transcript); the link opens for that viewer."""
    nurse, certificate = certified(name="Nia Okafor")
    viewer = nurse if role == "owner" else make_user(role=role, department="Emergency")
    auth.login(viewer)
    html = client.get(f"/certificates/{certificate.serial}").get_data(as_text=True)
    start = html.index('aria-label="Breadcrumb"')
    crumbs = html[start : html.index("</nav>", start)]
    back = {"owner": "/transcript", "hr": "/certificates", "manager": f"/compliance/people/{nurse.id}"}[role]
    assert f'href="{back}"' in crumbs and client.get(back).status_code == 200
