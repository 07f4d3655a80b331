"""Small helpers for tests: driving a quiz through HTTP, comparing pages, counting SQL, ageing rules."""

import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import event, select

from training.extensions import db
from training.quizzes.attempts import gradable
from training.quizzes.models import QuizAttempt


def start_quiz(auth, slug: str) -> int:
    response = auth.post(f"/courses/{slug}/quiz", token_from=f"/courses/{slug}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/attempts/(\d+)$", response.headers["Location"]).group(1))


def answer_key(app, attempt_id: int, wrong: int = 0) -> dict[str, list[str]]:
    """Form data answering every question: correctly, except the first `wrong` ones."""
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        data = {}
        for index, question in enumerate(gradable(attempt)):
            if index < wrong:
                chosen = sorted(question.option_ids - question.correct_option_ids)[:1]
            else:
                chosen = sorted(question.correct_option_ids)
            data[f"q-{question.id}"] = [str(i) for i in chosen]
        return data


def submit(auth, attempt_id: int, data: dict):
    return auth.post(f"/attempts/{attempt_id}", data=data, token_from=f"/attempts/{attempt_id}")


def attempts_of(app, user_id: int) -> list[QuizAttempt]:
    with app.app_context():
        return db.session.execute(select(QuizAttempt).where(QuizAttempt.user_id == user_id)).scalars().all()


def complete_modules(auth, slug="test-course", modules=("intro", "photos")):
    for module in modules:
        response = auth.post(
            f"/courses/{slug}/modules/{module}/complete", token_from=f"/courses/{slug}/modules/{module}"
        )
        assert response.status_code == 302


def complete_course(app, auth, slug="test-course", modules=("intro", "photos")) -> int:
    """Read every module and pass the quiz through HTTP, as the signed-in learner; returns the attempt id."""
    complete_modules(auth, slug, modules)
    attempt_id = start_quiz(auth, slug)
    assert submit(auth, attempt_id, answer_key(app, attempt_id)).status_code == 302
    return attempt_id


def comparable_page(response) -> str:
    """The page without what differs between any two requests: the sign-out form's CSRF token (it
    carries a timestamp) and the request id shown as an error page's reference."""
    text = re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))
    return re.sub(r"reference <code>[^<]*</code>", "", text)


@contextmanager
def recorded_statements(app):
    """Collect the SQL statements the app's engine runs inside the `with` block, in order."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def age_requirement(app, requirement_id: int, days: int) -> None:
    """Make the rule `days` old, as if HR had added it then; the app's own obligations follow."""
    from training.compliance.models import Requirement
    from training.compliance.obligations import refresh_obligations

    with app.app_context():
        requirement = db.session.get(Requirement, requirement_id)
        requirement.created_at -= timedelta(days=days)
        refresh_obligations()
        db.session.commit()


# The header fields of a plain-text email from training/mail.py, as a mail server receives it.
PLAIN_EMAIL_FIELDS = sorted(
    [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
    ]
)


def header_field_names(raw: bytes) -> list[str]:
    """The header fields of a message as a mail server received it: every line of the header block
    that does not continue the one before (a bare CR or LF counts as a line break, as mail servers
    may take it)."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return [line.split(b":", 1)[0].decode() for line in head.splitlines() if line[:1] not in (b" ", b"\t")]


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """End a test peer: ask it to stop, and kill it if it has not within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(handler, **options) -> Iterator[int]:
    """A real SMTP server (aiosmtpd) on a free loopback port for the block, handing messages to
    `handler`; yields its port. `options` go to aiosmtpd's Controller (TLS, authentication)."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def ask_for_export(client, path: str, query: dict | None = None, data: dict | None = None):
    """Ask for an export as its page does (a POST with the page's CSRF token); the answer is a redirect to the
    export's job page, or the response that refused."""
    from tests.conftest import csrf_token

    form = {"csrf_token": csrf_token(client, "/"), **(data or {})}
    return client.post(path, query_string=query, data=form)


def fetch_export(app, client, path: str, query: dict | None = None, data: dict | None = None):
    """Ask for an export, let a worker run its job (the in-memory queue, drained), then download the file from
    the job page's link; returns the download response."""
    return download_when_ready(app, client, ask_for_export(client, path, query, data))


def get_when_prepared(app, client, path: str):
    """GET as a browser does from a "being prepared" page (a certificate whose file a job renders: 202): run the
    queued jobs, then ask again. The response is read whole and closed (send_file keeps the file open until then)."""
    response = client.get(path)
    if response.status_code == 202:
        app.extensions["jobs"].drain()
        response = client.get(path)
    response.get_data()
    response.close()
    return response


def download_when_ready(app, client, asked):
    """From the answer to asking for an export: run its job, then download the file from the job page's link."""
    assert asked.status_code == 303, asked.get_data(as_text=True)[:2000]
    job_page = asked.headers["Location"]
    app.extensions["jobs"].drain()
    page = client.get(job_page).get_data(as_text=True)
    link = re.search(r'href="(/exports/\d+/download)"', page)
    assert link, page
    response = client.get(link.group(1))
    response.get_data()  # read whole, so the file can be closed
    response.close()
    return response
