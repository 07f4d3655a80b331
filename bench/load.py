"""Load test: virtual learners through sign-in, module pages and quizzes against gunicorn on PostgreSQL.

Run from the project root, with PostgreSQL (and Redis, for the sign-in rate limits) on 127.0.0.1;
it needs no settings in the environment (it gives the server the ones it needs, below):

    .venv/bin/python bench/load.py                            # the full run: about 5 minutes
    .venv/bin/python bench/load.py --warmup 3 --duration 10   # a smoke check: about 75 seconds
    .venv/bin/python bench/load.py --tiny                     # 3 users, 1 s phases: seconds (tests)
    .venv/bin/python bench/load.py --access-log both          # every phase with and without the access log

A missed goal is reported as "goal missed", not as a failure exit code. Errors are different: a
response that is not the page meant (see below) is counted as an error and left out of the times,
and a run with any error judges no other goal and ends with exit status 1.

Set-up, from nothing: a scratch PostgreSQL database of this script's own, `bench_load` (--pg-url to
name another), gets `flask db upgrade`, `flask content sync` and --users staff accounts sharing one
password (hashed once). The script creates it, refuses to start if it already exists (another run,
or one kept with --keep), and drops it at the end, on failure too, unless --keep. The shipped
courses allow unlimited attempts with no wait; the learners never mark a module complete, so a
passed quiz does not complete the course and every loop may start a new attempt.

The server is `gunicorn --config gunicorn.conf.py` as `make serve` runs it, with the environment of a
production deployment behind nginx: TRAINING_ENV=production, LOG_FORMAT=json, SECRET_KEY,
DATABASE_URL, REDIS_URL (--redis-url, default `redis://127.0.0.1:6379/13`: database 13 is this
script's, no other benchmark uses Redis), TRUSTED_PROXY_COUNT=1; the client sends
`X-Forwarded-Proto: https`, a distinct `X-Forwarded-For` per virtual user and the `Referer` a
browser would (Flask-WTF checks it over HTTPS).
Workers are gunicorn.conf.py's (two per core plus one) unless --workers; the access log is on, as in
gunicorn.conf.py, unless --access-log off (with it on, gunicorn's own time per request is printed
too). Gunicorn serves `bench.load_app:create_load_app()`: the app plus `GET /bench/hello`, a bare
WSGI "hello", the hello-world baseline, served by the same server in the same run without a route in
the production app.

The load comes from locust (FastHttpUser, used as a library in this process). Each virtual user signs
in once (GET and POST /login: argon2id, slow by design, measured on its own as 30 sign-ins at once),
then loops: home page, course page, a module page (the next one each time, alternating courses),
start a quiz attempt (POST, the CSRF token taken from the course page), the quiz page, submit random
answers (POST, the token from the quiz page), the result page. Every response is checked: a page
must answer 200, as HTML, with its <h1> (bench/common.py's `what_is_wrong`); a form POST must
redirect where a browser's would (sign-in to the home page, a quiz start to its attempt, a submit to
its result); the hello-world route must answer 200 with its exact body. Anything else is an error.
Phases, each after --warmup seconds of untimed load and then measured for --duration seconds, all
with --users virtual users:

  1. learners, saturated: no think time, so throughput is the server's ceiling; latency is then
     mostly queueing (Little's law: 30 users / N requests per second), so p99 is not a page's cost;
  2. hello-world, saturated: the same, on /bench/hello;
  3. learners, paced: each user waits 1 to 3 s between pages, as people do; latency at that load;
  4. hello-world, paced: the same, on /bench/hello.

"req/s" counts right responses finished in the measured window; p50/p95/p99/max are exact
percentiles (nearest rank) of their response times, in milliseconds, measured by the client from
sending the request to reading the whole body. CPU is read from /proc over each measured window:
gunicorn's master and workers (workers recycled by max_requests included), PostgreSQL's backends
for the scratch database, this process (the load generator), and the rest of the machine ("other":
other people's tests on a shared machine; reported so a noisy run can be seen as one).

The load generator shares the 2 cores with the server, and each phase prints what it used. While this
was written, on a machine busy with other tests, locust used 0.05 to 0.07 of a core while the learner
pages saturated gunicorn (65 to 85 requests a second) and 0.45 to 0.52 of a core in the hello-world
phase (1,400 to 1,800 a second): the hello-world figure is what this machine can serve and measure at
once, not what gunicorn alone could serve. "CPU per request" divides each one's CPU by the requests
served, a figure that other load on the machine disturbs much less than the times.

Goals (issue 7): no errors; learner pages at 0.2x or more of hello-world throughput (saturated
phases); p99 under 50 ms (reported for both the saturated and the paced learner phase).
"""

import argparse
import json
import math
import os
import random
import re
import resource
import runpy
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, constant, task
from locust.env import Environment
from locust.event import Events
from locust.exception import StopUser
from markupsafe import escape

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

import psycopg  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.common import CSRF_FIELD, ScratchDatabase, Unavailable, argument_parser, html_page, what_is_wrong  # noqa: E402
from bench.load_app import HELLO_BODY, HELLO_PATH  # noqa: E402
from training import create_app  # noqa: E402
from training.auth.passwords import hash_password  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.content.models import Course  # noqa: E402
from training.extensions import db  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = secrets.token_urlsafe(16)
SESSION_COOKIE = "__Host-session"
PACED_WAIT_SECONDS = (1, 3)
THROUGHPUT_RATIO_GOAL = 0.2
P99_GOAL_MS = 50.0
SIGN_IN_KINDS = ("sign-in page", "sign-in")
LEARNER_KINDS = ("home", "course", "module", "quiz start", "quiz page", "quiz submit", "quiz result")
HELLO_KIND = "hello-world"
ALL_LEARNER_PAGES = "all learner pages"
CLIENT_ERROR = "client script error"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- what the virtual users know ------------------------------------------------------------------


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    title: str
    modules: tuple[tuple[str, str], ...]  # (slug, title) in course order


@dataclass
class VirtualUser:
    """One person: an account, an address as seen behind the proxy, and the session cookie they hold."""

    email: str
    forwarded_for: str
    cookie: str = ""
    loops: int = 0
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class LoadContext:
    """What a phase's locust users share: the site, the people, the courses, who takes which person."""

    base_url: str
    people: list[VirtualUser]
    courses: list[CourseSpec]
    next_index: count = field(default_factory=count)

    def take_person(self) -> VirtualUser:
        return self.people[next(self.next_index) % len(self.people)]

    def secure_url(self, path: str) -> str:
        """The address the browser sees behind the TLS proxy, for the Referer header."""
        return "https://" + self.base_url.split("://", 1)[1] + path


class FlowBroken(Exception):
    """A response was not what a browser would have got: counted as an error, the loop starts over.

    `recorded` is False when no request event carried the error (a page whose form could not be read).
    """

    def __init__(self, message: str, *, recorded: bool = False) -> None:
        super().__init__(message)
        self.recorded = recorded


# --- the locust users -----------------------------------------------------------------------------


ANSWER_INPUT = re.compile(r'<input type="(radio|checkbox)" name="(q-\d+)" id="[^"]*" value="(\d+)"')


class Browser(FastHttpUser):
    """A locust user that keeps the `__Host-session` cookie by hand and sends the proxy's headers.

    The cookie is Secure; the person's cookie outlives one locust user, which a phase discards.
    """

    abstract = True
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.load: LoadContext = self.environment.load_context
        self.person = self.load.take_person()
        self.client.client.cookiejar = None  # the cookie is kept on self.person, across phases

    def page(self, kind: str, path: str, heading: str, *, referer: str = "") -> str:
        """GET a page that must answer 200 with this <h1>; returns its HTML."""

        expected = html_page(f"<h1>{heading}</h1>")

        def problem(response) -> str:
            content_type = response.headers.get("Content-Type", "") if response.headers else ""
            body = response.content or b""
            return what_is_wrong(expected, response.status_code, content_type, body, redirect_path(response))

        return self.checked(kind, "GET", path, problem, referer=referer).text

    def post_redirect(self, kind: str, path: str, form, *, referer: str, location: re.Pattern) -> str:
        """POST a form that must answer with a redirect matching `location`; returns the target path."""

        def problem(response) -> str:
            if response.status_code != 302:
                return f"HTTP {response.status_code}, expected 302"
            target = redirect_path(response)
            return "" if location.fullmatch(target) else f"redirected to {target!r}"

        return redirect_path(self.checked(kind, "POST", path, problem, referer=referer, form=form))

    def checked(self, kind: str, method: str, path: str, problem, *, referer: str = "", form=None):
        """Send one request as this person's browser would; a response `problem` finds fault with is an error."""
        headers = {"X-Forwarded-For": self.person.forwarded_for, "X-Forwarded-Proto": "https"}
        if self.person.cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.person.cookie}"
        if referer:
            headers["Referer"] = self.load.secure_url(referer)
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form) if form is not None else None
        with self.client.request(
            method, path, name=kind, data=body, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            fault = problem(response)
            if fault:
                response.failure(fault)
            else:
                response.success()
        self._keep_cookie(response)
        if fault:
            raise FlowBroken(fault, recorded=True)
        return response

    @contextmanager
    def errors_end_the_round(self):
        """A broken flow ends this round; one that no request recorded is counted as a client error."""
        try:
            yield
        except FlowBroken as broken:
            if not broken.recorded:
                self.environment.events.user_error.fire(user_instance=self, exception=broken, tb=None)

    def _keep_cookie(self, response) -> None:
        for header in response.headers.getlist("Set-Cookie") if response.headers else []:
            name, _, rest = header.partition("=")
            if name.strip() != SESSION_COOKIE:
                continue
            value = rest.split(";", 1)[0]
            expired = "expires=thu, 01 jan 1970" in header.lower() or "max-age=0" in header.lower()
            self.person.cookie = "" if expired else value


def redirect_path(response) -> str:
    """A redirect's target as a path (Flask sends paths; a proxy may turn them into absolute URLs)."""
    location = response.headers.get("Location", "") if response.headers else ""
    if "://" in location:
        location = "/" + location.split("://", 1)[1].partition("/")[2]
    return location


ATTEMPT_PATH = re.compile(r"/attempts/\d+")
HOME_PATH = re.compile(r"/")


class SigningIn(Browser):
    """Signs its person in once (the sign-in page, then the form), then stops."""

    wait_time = constant(0)

    @task
    def sign_in(self) -> None:
        with self.errors_end_the_round():
            page = self.page("sign-in page", "/login", "Sign in")
            form = [("csrf_token", _csrf_token(page)), ("email", self.person.email), ("password", PASSWORD)]
            self.post_redirect("sign-in", "/login", form, referer="/login", location=HOME_PATH)
        raise StopUser()


class Learner(Browser):
    """A signed-in learner going round: home, course, a module, then a quiz attempt from start to result."""

    wait_time = constant(0)

    @task
    def learn(self) -> None:
        with self.errors_end_the_round():
            self.one_round()

    def one_round(self) -> None:
        person, courses = self.person, self.load.courses
        course = courses[person.loops % len(courses)]
        module_slug, module_title = course.modules[(person.loops // len(courses)) % len(course.modules)]
        person.loops += 1
        course_path = f"/courses/{course.slug}"
        self.page("home", "/", "My training")
        course_page = self.page("course", course_path, escape(course.title), referer="/")
        self.page("module", f"{course_path}/modules/{module_slug}", escape(module_title), referer=course_path)
        start = [("csrf_token", _csrf_token(course_page))]
        attempt = self.post_redirect(
            "quiz start", f"{course_path}/quiz", start, referer=course_path, location=ATTEMPT_PATH
        )
        quiz = self.page("quiz page", attempt, "Scenario quiz", referer=course_path)
        answers = [("csrf_token", _csrf_token(quiz)), *_random_answers(quiz, person.rng)]
        self.post_redirect("quiz submit", attempt, answers, referer=attempt, location=re.compile(re.escape(attempt)))
        self.page("quiz result", attempt, "Quiz result", referer=attempt)


class PacedLearner(Learner):
    """The same round as Learner, with a person's think time before every request."""

    wait_time = between(*PACED_WAIT_SECONDS)

    def checked(self, *args, **kwargs):
        self.wait()
        return super().checked(*args, **kwargs)


class Hello(Browser):
    """Asks for the hello-world route, with the same headers as a learner's browser."""

    wait_time = constant(0)

    @task
    def hello(self) -> None:
        with self.errors_end_the_round():
            self.checked(HELLO_KIND, "GET", HELLO_PATH, hello_problem)


def hello_problem(response) -> str:
    if response.status_code == 200 and response.content == HELLO_BODY:
        return ""
    return f"HTTP {response.status_code}, {len(response.content or b'')} bytes"


class PacedHello(Hello):
    wait_time = between(*PACED_WAIT_SECONDS)


def _csrf_token(page: str) -> str:
    found = CSRF_FIELD.search(page)
    if found is None:
        raise FlowBroken("the page has no CSRF token")
    return found.group(1)


def _random_answers(quiz: str, rng: random.Random) -> list[tuple[str, str]]:
    """A random choice for each question (one or more boxes where several answers may be right)."""
    options: dict[str, list[str]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for kind, name, value in ANSWER_INPUT.findall(quiz):
        options[name].append(value)
        kinds[name] = kind
    if not options:
        raise FlowBroken("the quiz page has no questions")
    answers = []
    for name, values in options.items():
        chosen = rng.sample(values, rng.randint(1, len(values))) if kinds[name] == "checkbox" else [rng.choice(values)]
        answers += [(name, value) for value in chosen]
    return answers


# --- recording ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindFigures:
    requests: int
    errors: int
    seconds: float
    times_ms: tuple[float, ...]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile of the response times."""
        if not self.times_ms:
            return float("nan")
        ordered = sorted(self.times_ms)
        rank = math.ceil(round(share * len(ordered), 9))  # round: 0.95 * 100 is 95.00000000000001
        return ordered[min(max(rank, 1), len(ordered)) - 1]


class Recorder:
    """Every response time and error, by request kind, while recording is on."""

    def __init__(self) -> None:
        self.recording = False
        self.started = 0.0
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: dict[str, str] = {}

    def on_request(self, name: str, response_time: float, exception=None, **_) -> None:
        if not self.recording:
            return
        if exception is None:
            self.times[name].append(response_time)
        else:
            self.errors[name] += 1
            self.examples.setdefault(name, str(exception)[:200])

    def on_user_error(self, user_instance, exception, tb) -> None:
        """An exception in the client's own code: counted as an error of its own kind."""
        if self.recording:
            self.errors[CLIENT_ERROR] += 1
            self.examples.setdefault(CLIENT_ERROR, repr(exception)[:200])

    def start(self) -> None:
        self.times.clear()
        self.errors.clear()
        self.examples.clear()
        self.started = time.perf_counter()
        self.recording = True

    def stop(self) -> dict[str, KindFigures]:
        self.recording = False
        seconds = time.perf_counter() - self.started
        names = [*self.times, *(name for name in self.errors if name not in self.times)]
        figures = {
            name: KindFigures(len(self.times[name]), self.errors[name], seconds, tuple(self.times[name]))
            for name in names
        }
        learner = [name for name in figures if name in LEARNER_KINDS]
        if learner:
            figures[ALL_LEARNER_PAGES] = KindFigures(
                sum(figures[name].requests for name in learner),
                sum(figures[name].errors for name in learner),
                seconds,
                tuple(t for name in learner for t in figures[name].times_ms),
            )
        return figures


# --- CPU ------------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (field 3 onwards), or [] if the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def process_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: workers that have exited
    return ticks / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuReading:
    at: float
    server: float
    postgres: dict[int, float]
    generator: float
    machine: float
    load: float


class CpuMeter:
    def __init__(self, server_pid: int, postgres_url: str, database: str) -> None:
        self.server_pid = server_pid
        self.postgres_url = postgres_url
        self.database = database

    def read(self) -> CpuReading:
        server = process_seconds(self.server_pid, with_reaped_children=True)
        server += sum(process_seconds(pid) for pid in children_of(self.server_pid))
        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            backends = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,)
            ).fetchall()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return CpuReading(
            at=time.perf_counter(),
            server=server,
            postgres={pid: process_seconds(pid) for (pid,) in backends},
            generator=usage.ru_utime + usage.ru_stime,
            machine=machine_busy_seconds(),
            load=os.getloadavg()[0],
        )


@dataclass(frozen=True)
class CpuUse:
    """Cores used on average over a window, by whom."""

    server: float
    postgres: float
    generator: float
    other: float
    load_before: float
    load_after: float

    def by_whom(self) -> dict[str, float]:
        """The cores used for serving and measuring (other processes left out)."""
        return {"gunicorn": self.server, "PostgreSQL": self.postgres, "load generator": self.generator}

    @classmethod
    def between(cls, before: CpuReading, after: CpuReading) -> "CpuUse":
        seconds = after.at - before.at
        server = (after.server - before.server) / seconds
        postgres = sum(value - before.postgres.get(pid, 0.0) for pid, value in after.postgres.items()) / seconds
        generator = (after.generator - before.generator) / seconds
        machine = (after.machine - before.machine) / seconds
        other = max(0.0, machine - server - postgres - generator)
        return cls(server, postgres, generator, other, before.load, after.load)


# --- the scratch database -------------------------------------------------------------------------


def flask_command(environment: dict[str, str], *arguments: str) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", *arguments],
        cwd=_REPOSITORY,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare_database(database: ScratchDatabase, environment: dict[str, str], users: int) -> list[CourseSpec]:
    """Schema, shipped courses and the staff accounts; returns the courses the learners will take."""
    flask_command(environment, "db", "upgrade")
    flask_command(environment, "content", "sync")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.sqlalchemy_uri,
            "SECRET_KEY": "set-up",
            "TRAINING_ENV": environment["TRAINING_ENV"],
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    password_hash = hash_password(PASSWORD)  # once: argon2id at full strength is slow by design
    with app.app_context():
        for n in range(users):
            create_user(f"learner{n}@load.example", f"Learner {n}", PASSWORD, password_hash=password_hash)
        courses = db.session.execute(select(Course).where(Course.published.is_(True)).order_by(Course.slug)).scalars()
        specs = [
            CourseSpec(course.slug, course.title, tuple((m.slug, m.title) for m in course.modules))
            for course in courses
            if course.max_attempts is None and course.attempt_wait_minutes == 0 and course.modules
        ]
        db.session.remove()
        db.engine.dispose()
    if not specs:
        raise SystemExit("No published course allows unlimited quiz attempts without a wait: nothing to load-test.")
    return specs


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn --config gunicorn.conf.py serving the app plus the hello-world route, logging to a file."""

    def __init__(self, environment: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.environment = environment | {"GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "bench.load_app:create_load_app()"],
            cwd=_REPOSITORY,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_healthy()

    def _wait_until_healthy(self, seconds: float = 60) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise SystemExit(f"/healthz did not answer 200 within {seconds:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def wait_for_workers(self, seconds: float = 30) -> int:
        """Wait until gunicorn has started as many workers as gunicorn.conf.py asks for; returns that number."""
        expected = int(
            self.environment.get("WEB_CONCURRENCY") or runpy.run_path(str(_REPOSITORY / "gunicorn.conf.py"))["workers"]
        )
        deadline = time.monotonic() + seconds
        while len(children_of(self.process.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(children_of(self.process.pid))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- phases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseResult:
    title: str
    seconds: float
    kinds: dict[str, KindFigures]
    cpu: CpuUse
    worker_boots: int
    server_times_ms: tuple[float, ...]
    server_errors: int
    error_examples: dict[str, str]


def run_users(context: LoadContext, user_class: type, users: int, recorder: Recorder):
    environment = Environment(user_classes=[user_class], host=context.base_url, events=Events())
    environment.load_context = context
    environment.events.request.add_listener(recorder.on_request)
    environment.events.user_error.add_listener(recorder.on_user_error)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    return runner


def sign_in_everyone(context: LoadContext, server: Server, meter: CpuMeter, timeout: float = 180) -> PhaseResult:
    """All virtual users sign in at once; measured until the last one is in."""
    recorder, offset, before = Recorder(), server.log_offset(), meter.read()
    recorder.start()
    runner = run_users(context, SigningIn, len(context.people), recorder)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = sum(recorder.errors.get(kind, 0) for kind in (*SIGN_IN_KINDS, CLIENT_ERROR))
        finished = len(recorder.times.get("sign-in", ())) + failed
        if finished >= len(context.people):
            break
        gevent.sleep(0.1)
    kinds = recorder.stop()
    runner.quit()
    return _phase_result(f"Sign-in: {len(context.people)} at once", kinds, recorder, meter, before, server, offset)


def measure(
    title: str,
    context: LoadContext,
    user_class: type,
    server: Server,
    meter: CpuMeter,
    warmup: float,
    duration: float,
) -> PhaseResult:
    recorder = Recorder()
    runner = run_users(context, user_class, len(context.people), recorder)
    gevent.sleep(warmup)
    offset, before = server.log_offset(), meter.read()
    recorder.start()
    gevent.sleep(duration)
    kinds = recorder.stop()
    result = _phase_result(title, kinds, recorder, meter, before, server, offset)
    runner.quit()
    return result


def access_log_durations(log: str) -> tuple[float, ...]:
    """gunicorn's own time for each request in the access log (empty when the access log is off)."""
    return tuple(
        json.loads(line)["duration_ms"] for line in log.splitlines() if line.startswith("{") and '"duration_ms"' in line
    )


def _phase_result(title, kinds, recorder, meter, before, server, offset) -> PhaseResult:
    after = meter.read()
    log = server.log_since(offset)
    return PhaseResult(
        title=title,
        seconds=after.at - before.at,
        kinds=kinds,
        cpu=CpuUse.between(before, after),
        worker_boots=log.count("Booting worker"),
        server_times_ms=access_log_durations(log),
        server_errors=log.count('"level": "error"'),
        error_examples=dict(recorder.examples),
    )


# --- the report -----------------------------------------------------------------------------------


def row(*cells: str) -> None:
    widths = (20, 9, 8, 8, 8, 8, 8, 7)
    print(
        "  "
        + " ".join(
            f"{cell:>{width}}" if i else f"{cell:<{width}}"
            for i, (cell, width) in enumerate(zip(cells, widths, strict=False))
        )
    )


def report_phase(result: PhaseResult) -> None:
    print(f"\n{result.title}\n{'-' * len(result.title)}")
    row("request", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
    order = [*SIGN_IN_KINDS, *LEARNER_KINDS, ALL_LEARNER_PAGES, HELLO_KIND]
    for kind in sorted(result.kinds, key=lambda name: order.index(name) if name in order else len(order)):
        figures = result.kinds[kind]
        row(
            kind,
            f"{figures.requests:,}",
            f"{figures.rps:.1f}",
            *(f"{figures.percentile(share):.1f}" for share in (0.5, 0.95, 0.99)),
            f"{max(figures.times_ms, default=float('nan')):.1f}",
            f"{figures.errors}",
        )
    cpu = result.cpu
    print(
        f"  CPU over {result.seconds:.0f} s, in cores: gunicorn {cpu.server:.2f}, PostgreSQL {cpu.postgres:.2f}, "
        f"load generator {cpu.generator:.2f}, other processes {cpu.other:.2f}; "
        f"load average {cpu.load_before:.1f} -> {cpu.load_after:.1f}"
    )
    served = sum(figures.requests for kind, figures in result.kinds.items() if kind != ALL_LEARNER_PAGES)
    if served:
        per_request = {name: cores * result.seconds * 1000 / served for name, cores in cpu.by_whom().items()}
        print(
            "  CPU per request, in ms (less sensitive to other load than the times above): "
            + ", ".join(f"{name} {ms:.2f}" for name, ms in per_request.items())
        )
    print(
        f"  gunicorn: {result.worker_boots} worker(s) booted in the window, {result.server_errors} error line(s) logged"
    )
    if result.server_times_ms:
        logged = KindFigures(len(result.server_times_ms), 0, result.seconds, result.server_times_ms)
        print(
            f"  gunicorn's own time per request (access log, {logged.requests:,} requests): "
            f"p50 {logged.percentile(0.5):.1f} ms, p95 {logged.percentile(0.95):.1f} ms, "
            f"p99 {logged.percentile(0.99):.1f} ms"
        )
    for kind, example in result.error_examples.items():
        print(f"  first error of {kind}: {example}")


def verdict(met: bool) -> str:
    return "goal met" if met else "goal missed"


def report_goals(results: list[PhaseResult], label: str) -> int:
    """Print the goals met or missed; returns the number of errors (when any, no other goal is judged)."""
    by_title = {result.title.split(":")[0]: result for result in results}
    errors = sum(
        figures.errors for result in results for kind, figures in result.kinds.items() if kind != ALL_LEARNER_PAGES
    )
    print(f"\nGoals{label}")
    print(f"  no errors: {errors} error(s) in every phase together -> {verdict(errors == 0)}")
    if errors:
        print("  other goals not judged: the figures would mix in responses that were not the pages meant")
        return errors
    learner = by_title.get("Learners, saturated")
    hello = by_title.get("Hello-world, saturated")
    if learner and hello and ALL_LEARNER_PAGES in learner.kinds and HELLO_KIND in hello.kinds:
        learner_rps = learner.kinds[ALL_LEARNER_PAGES].rps
        hello_rps = hello.kinds[HELLO_KIND].rps
        ratio = learner_rps / hello_rps
        print(
            f"  learner pages at {THROUGHPUT_RATIO_GOAL:g}x or more of hello-world throughput: "
            f"{learner_rps:.1f} / {hello_rps:.1f} req/s = {ratio:.3f}x -> {verdict(ratio >= THROUGHPUT_RATIO_GOAL)}"
        )
    for title in ("Learners, saturated", "Learners, paced"):
        if title in by_title and ALL_LEARNER_PAGES in by_title[title].kinds:
            p99 = by_title[title].kinds[ALL_LEARNER_PAGES].percentile(0.99)
            print(f"  p99 under {P99_GOAL_MS:g} ms ({title.lower()}): {p99:.1f} ms -> {verdict(p99 < P99_GOAL_MS)}")
    return errors


# --- command line ---------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--pg-url",
        "--database-url",
        default=DEFAULT_PG_URL,
        help=f"scratch PostgreSQL database to create and drop (default {DEFAULT_PG_URL})",
    )
    parser.add_argument("--users", type=int, default=30, help="virtual users (default 30)")
    parser.add_argument("--warmup", type=float, default=10, help="untimed seconds before each phase (default 10)")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per phase (default 60)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--access-log", choices=("on", "off", "both"), default="on", help="gunicorn's access log")
    parser.add_argument(
        "--phases", choices=("all", "saturated", "paced"), default="all", help="which phases to run (default all)"
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help=f"the rate limits' Redis (default {DEFAULT_REDIS_URL})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and gunicorn's logs")
    parser.add_argument("--tiny", action="store_true", help="3 users, 2 workers, 1 s phases: seconds (tests)")
    arguments = parser.parse_args(argv)
    if arguments.tiny:
        arguments.users, arguments.workers, arguments.warmup, arguments.duration = 3, 2, 0.25, 1.0
    return arguments


def server_environment(arguments, database: ScratchDatabase, folder: Path) -> dict[str, str]:
    environment = os.environ | {
        "FLASK_APP": "app.py",
        "TRAINING_ENV": "production",
        "LOG_FORMAT": "json",  # the report counts error lines and reads gunicorn's times from JSON lines
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database.url,
        "REDIS_URL": arguments.redis_url,
        "TRUSTED_PROXY_COUNT": "1",
        "CERTIFICATE_STORAGE_DIR": str(folder / "certificates"),
        "STAFF_IMPORT_DIR": str(folder / "staff-imports"),
        "AUTHORING_IMPORT_DIR": str(folder / "question-imports"),
    }
    if arguments.workers:
        environment["WEB_CONCURRENCY"] = str(arguments.workers)
    return environment


def redis_state(url: str) -> str:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"not reachable ({exc}); rate limits counted in each worker's memory"
    return "reachable"


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    try:
        run(parse_arguments(argv))
    finally:
        print(f"\nTotal load-test time: {time.perf_counter() - started:.0f} s")


def run(arguments: argparse.Namespace) -> None:
    database = ScratchDatabase(arguments.pg_url)
    print(
        f"Load test: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {arguments.users} virtual users, "
        f"{arguments.warmup:g} s warm-up and {arguments.duration:g} s measured per phase, database {database.name}"
    )
    try:
        database.create()
    except Unavailable as exc:
        raise SystemExit(f"PostgreSQL: {exc}") from None
    folder = Path(tempfile.mkdtemp(prefix="load-bench-"))
    try:
        environment = server_environment(arguments, database, folder)
        print(f"Redis at {environment['REDIS_URL']}: {redis_state(environment['REDIS_URL'])}")
        set_up = time.perf_counter()
        courses = prepare_database(database, environment, arguments.users)
        print(
            f"Set-up: schema, content and {arguments.users} accounts in {time.perf_counter() - set_up:.1f} s; "
            f"courses {', '.join(course.slug for course in courses)}"
        )
        people = [
            VirtualUser(f"learner{n}@load.example", f"198.51.100.{n % 250 + 1}", rng=random.Random(n))  # noqa: S311 - answers, not secrets
            for n in range(arguments.users)
        ]
        modes = ("on", "off") if arguments.access_log == "both" else (arguments.access_log,)
        for mode in modes:
            run_server(arguments, environment, folder, mode, people, courses, database)
    finally:
        if arguments.keep:
            print(f"\nKept database {database.name} and gunicorn's logs in {folder} (--keep)")
        else:
            database.drop()
            shutil.rmtree(folder, ignore_errors=True)


def run_server(arguments, environment, folder: Path, mode: str, people, courses, database) -> None:
    access_log = "-" if mode == "on" else ""
    server = Server(environment | {"GUNICORN_ACCESS_LOG": access_log}, folder / f"gunicorn-access-{mode}.log")
    server.start()
    try:
        context = LoadContext(server.base_url, people, courses)
        meter = CpuMeter(server.process.pid, database.url, database.name)
        label = f" (access log {mode})"
        print(f"\ngunicorn {server.base_url}: {server.wait_for_workers()} workers, access log {mode}, /healthz 200")
        results = []
        if not all(person.cookie for person in people):
            results.append(sign_in_everyone(context, server, meter))
            report_phase(results[-1])
        phases = []
        if arguments.phases in ("all", "saturated"):
            phases += [("Learners, saturated", Learner), ("Hello-world, saturated", Hello)]
        if arguments.phases in ("all", "paced"):
            phases += [("Learners, paced", PacedLearner), ("Hello-world, paced", PacedHello)]
        for title, user_class in phases:
            context.next_index = count()
            think = "no think time" if "saturated" in title else f"{PACED_WAIT_SECONDS[0]}-{PACED_WAIT_SECONDS[1]} s"
            heading = (
                f"{title}: {arguments.users} users, {think}, {arguments.duration:g} s after "
                f"{arguments.warmup:g} s warm-up{label}"
            )
            results.append(measure(heading, context, user_class, server, meter, arguments.warmup, arguments.duration))
            report_phase(results[-1])
        errors = report_goals(results, label)
        if errors:
            raise SystemExit(
                f"\nStopped: {errors} response(s) were not the page meant (see each phase's first errors above)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
