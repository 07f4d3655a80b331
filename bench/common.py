"""What the benchmark scripts share: their command line's common parts, their app and its settings, the
check that a timed response is the page meant, signing in, and the databases of a run (an SQLite file
in a temporary folder, a scratch PostgreSQL database of their own).

A benchmark that times a redirect, a sign-in page or an error page prints figures about the wrong
thing. So every timed response goes through `check_response` (or `what_is_wrong`, for responses
that are not the Flask test client's): status 200, the expected content type and a marker of the
page (a heading or a string found only there; for a file, its magic bytes). Anything else raises
`NotThePage`, which `stop_on_wrong_page` turns into a non-zero exit with the reason, before any
goal is judged.
"""

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from flask import render_template
from jinja2 import ChoiceLoader, DictLoader
from psycopg import sql
from sqlalchemy import event, make_url

from training import create_app
from training.auth.access import roles_required
from training.config import PROJECT_ROOT, normalise_database_url
from training.extensions import db

BARE_PATH = "/bench/bare"
BARE_TEMPLATE = '{% extends "base.html" %}{% block title %}Bare page{% endblock %}'
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class NotThePage(RuntimeError):
    """A response that was to be timed is not the page meant (a redirect, an error, another page)."""


@dataclass(frozen=True)
class Expected:
    """What the response meant looks like: its content type and a marker in (or at the start of) its body."""

    content_type: str
    marker: bytes
    at_start: bool = False

    def describe(self) -> str:
        return f"{self.marker!r} {'at the start' if self.at_start else 'in the body'}"


def html_page(marker: str) -> Expected:
    """An HTML page recognised by a string found only on it, such as its <h1> or <title>."""
    return Expected("text/html", marker.encode())


BARE_PAGE = html_page("<title>Bare page ")
ZIP_FILE = Expected("application/zip", b"PK\x03\x04", at_start=True)


def what_is_wrong(expected: Expected, status: int, content_type: str, body: bytes, location: str = "") -> str:
    """Why a response is not the page expected, or "" when it is."""
    if status != 200:
        return f"HTTP {status}{f' redirecting to {location}' if location else ''}, expected 200"
    if not content_type.startswith(expected.content_type):
        return f"content type {content_type!r}, expected {expected.content_type}"
    found = body.startswith(expected.marker) if expected.at_start else expected.marker in body
    return "" if found else f"no {expected.describe()}"


def check_response(what: str, response, expected: Expected, body: bytes | None = None) -> None:
    """Raise NotThePage unless a Flask test client response is the page expected (`body`: its first bytes)."""
    body = response.get_data() if body is None else body
    location = response.headers.get("Location", "")
    fault = what_is_wrong(expected, response.status_code, response.content_type or "", body, location)
    if fault:
        raise NotThePage(f"{what}: {fault}")


@contextmanager
def stop_on_wrong_page() -> Iterator[None]:
    """A wrong page ends the run with exit status 1 and the reason, instead of figures about the wrong thing."""
    try:
        yield
    except NotThePage as exc:
        raise SystemExit(f"\nStopped, not the page meant to be timed: {exc}") from None


# --- the benchmark's app --------------------------------------------------------------------------


def app_settings(database_uri: str, folder: Path) -> dict:
    """Settings stated here rather than taken from the environment, whose defaults are for production.

    Development: plain HTTP through the test client (production redirects it to HTTPS). Two-step
    sign-in not required, as with `make run`. Rate-limit counts in this process's memory: no Redis,
    nothing shared with another run. Shipped content; files in the run's own folder. Background jobs on the
    in-memory queue, run by the script itself (`app.extensions["jobs"].drain()`), not by a thread of the app.
    """
    return {
        "TESTING": True,
        "TRAINING_ENV": "development",
        "MFA_REQUIRED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SECRET_KEY": "benchmark secret key",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "CONTENT_MODULES_DIR": str(PROJECT_ROOT / "modules"),
        "CONTENT_QUIZZES_DIR": str(PROJECT_ROOT / "quizzes"),
        "CERTIFICATE_STORAGE_DIR": str(folder / "store"),
        "STAFF_IMPORT_DIR": str(folder / "staff-imports"),
        "AUTHORING_IMPORT_DIR": str(folder / "question-imports"),
        "JOBS_RESULT_DIR": str(folder / "exports"),
        "JOBS_IN_PROCESS": False,
    }


def bench_app(database_uri: str, folder: Path, settings: dict | None = None):
    """The app with `app_settings`, and a script's own `settings` on top of them."""
    return create_app(app_settings(database_uri, folder) | (settings or {}))


def app_with_bare_page(database_uri: str, folder: Path):
    """The app plus `GET /bench/bare`: a template extending base.html, behind the HR pages' sign-in check."""
    app = bench_app(database_uri, folder)

    @roles_required("hr", "admin")
    def bare():
        return render_template("bench/bare.html")

    app.add_url_rule(BARE_PATH, "bench_bare", bare)
    app.jinja_env.loader = ChoiceLoader([DictLoader({"bench/bare.html": BARE_TEMPLATE}), app.jinja_env.loader])
    return app


def signed_in_client(app, email: str, password: str):
    """A test client signed in through the sign-in form (its CSRF token included), landing on the home page."""
    client = app.test_client()
    page = client.get("/login")
    check_response("GET /login", page, html_page("<h1>Sign in</h1>"))
    token = CSRF_FIELD.search(page.get_data(as_text=True))
    if token is None:
        raise NotThePage("GET /login: no CSRF token in the sign-in form")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    location = response.headers.get("Location", "")
    if response.status_code != 302 or location != "/":
        raise NotThePage(f"signing in as {email}: HTTP {response.status_code} to {location!r}, expected 302 to '/'")
    return client


def timed_get(client, path: str, expected: Expected) -> float:
    """Seconds to GET `path` and read the whole body; NotThePage unless it is the page expected."""
    start = time.perf_counter()
    response = client.get(path)
    body = response.get_data()
    elapsed = time.perf_counter() - start
    check_response(f"GET {path}", response, expected, body)
    return elapsed


def median_ms_per_page(client, pages: dict[str, tuple[str, Expected]], requests: int, warmup: int) -> dict[str, float]:
    """Median milliseconds per page (name: (path, expected)), in alternating rounds (A B C, C B A, ...)
    after `warmup` requests of each, so that machine noise hits every page alike."""
    for page in pages.values():
        for _ in range(warmup):
            timed_get(client, *page)
    times: dict[str, list[float]] = {name: [] for name in pages}
    order = list(pages)
    for _ in range(requests):
        for name in order:
            times[name].append(timed_get(client, *pages[name]))
        order.reverse()
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def count_statements(app, client, path: str, expected: Expected) -> int:
    """SQL statements sent while serving one checked GET of `path`."""
    statements = []
    with app.app_context():
        engine = db.engine

    def listener(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        timed_get(client, path, expected)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


# --- the command line ----------------------------------------------------------------------------

ALSO_POSTGRESQL = "also measure on this PostgreSQL database (created and dropped here)"


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A script's command line, described by the first line of its docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0])


def mode_label(arguments: argparse.Namespace) -> str:
    """How the report's first line names a --tiny or --quick run."""
    return " (tiny)" if arguments.tiny else " (quick)" if arguments.quick else ""


def sign_in_arguments(doc: str, argv: list[str] | None, *, count_help: str, tiny_help: str) -> argparse.Namespace:
    """The command line of a sign-in benchmark: --sign-ins (default 30), and --tiny for 3."""
    parser = argument_parser(doc)
    parser.add_argument("--sign-ins", type=int, default=30, help=count_help)
    parser.add_argument("--tiny", action="store_true", help=tiny_help)
    arguments = parser.parse_args(argv)
    if arguments.tiny:
        arguments.sign_ins = 3
    return arguments


# --- the databases of a run -----------------------------------------------------------------------


def sqlite_file(folder: Path, name: str = "bench.sqlite3") -> str:
    """The URI of an SQLite database in a file of the run's temporary folder."""
    return f"sqlite:///{Path(folder) / name}"


@contextmanager
def scratch_postgresql(url: str, skipped: str = "PostgreSQL skipped") -> Iterator["ScratchDatabase | None"]:
    """The run's scratch PostgreSQL database, dropped at the end; None, after printing `skipped` and
    the reason, when it cannot be created."""
    database = ScratchDatabase(url)
    try:
        database.create()
    except Unavailable as exc:
        print(f"{skipped}: {exc}")
        yield None
        return
    try:
        yield database
    finally:
        database.drop()


def on_sqlite_then_postgresql(what: str, measure: Callable[[str], None], pg_url: str | None, prefix: str) -> None:
    """`measure(database URI)` on an SQLite file in a new temporary folder (named with `prefix`), then
    on a scratch PostgreSQL database if `pg_url` names one, each under a heading "<database>, <what>:"."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        print(f"SQLite (temporary file), {what}:")
        measure(sqlite_file(Path(folder)))
    if pg_url:
        with scratch_postgresql(pg_url) as database:
            if database is not None:
                print(f"PostgreSQL ({database.name}), {what}:")
                measure(database.sqlalchemy_uri)


# --- a scratch PostgreSQL database ----------------------------------------------------------------


class Unavailable(Exception):
    """PostgreSQL cannot be used for the benchmark; the message says why."""


class ScratchDatabase:
    """A PostgreSQL database that this run creates, and drops at the end.

    A database that already exists is refused, never reused: it may be another run's, in use.
    """

    def __init__(self, url: str) -> None:
        target = make_url(normalise_database_url(url))
        self.name = target.database
        self.url = target.set(drivername="postgresql").render_as_string(hide_password=False)
        self.sqlalchemy_uri = normalise_database_url(self.url)
        self.admin_url = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        self.shown = target.render_as_string()

    def exists(self) -> bool:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as connection:
            return bool(connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,)).fetchone())

    def create(self) -> None:
        try:
            if self.exists():
                raise Unavailable(
                    f"database {self.name} already exists (another run, or one that was stopped?); drop it "
                    f"(`dropdb -h 127.0.0.1 -U postgres {self.name}`) or give another name with --pg-url"
                )
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        except psycopg.Error as exc:
            raise Unavailable(f"cannot create {self.shown}: {exc}".strip()) from exc

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
