"""Benchmark of certificate rendering, its memory use and the bulk ZIP export.

Run from the project root (Linux only: memory is read from /proc); it needs no settings in the
environment (the app's are stated in bench/common.py: development mode over plain HTTP, two-step
sign-in not required, rate-limit counts in the process's memory, so no Redis):

    .venv/bin/python bench/certificates.py            # full run (about 90 s on 2 cores)
    .venv/bin/python bench/certificates.py --quick    # small counts, a smoke check
    .venv/bin/python bench/certificates.py --tiny     # a handful of renders: seconds (tests)

A missed goal is reported as "goal missed", not as a failure exit code. The one HTTP response timed,
the ZIP export, must answer 200 with `application/zip` and start with a ZIP header; anything else
(a redirect to the sign-in or two-step page, an error page) stops the run with exit status 1 and the
reason, before the goal is judged. The database is a SQLite file in a new temporary folder, with the
certificate store beside it; no PostgreSQL, no Redis.
Every figure is printed beside a baseline measured in the same run:

Speed
    The baseline is WeasyPrint rendering a bare one-line page (`<p>Hello</p>`) with the process's
    shared FontConfiguration. The certificate is `CertificateRenderer.render` with the shipped
    design (PROJECT_ROOT/certificates) and a realistic `CertificateView` (a fresh serial, name and
    verification URL for every render), as the app calls it: the design's static page is rendered once,
    in the warm-up, and each render lays a certificate's text and QR code over it (certificates/README.md,
    "Slots"). Both are warmed up, then timed in alternating batches
    (A B B A ...) so that machine noise hits both equally. "median" is the median time of one
    render; "per second" is renders divided by the summed render time (one core, one thread).
    Goal: a certificate costs at most 3x the bare page (about 40 certificates per second).

Memory
    Each kind is rendered in its own freshly spawned process, so one measurement cannot inherit
    the other's memory. "start" is the resident set (RSS) after imports and building the renderer,
    before the first render; "peak" is the process's high-water RSS (VmHWM) read right after the
    200th render (ru_maxrss is printed too, but Linux carries it over fork + exec, so in a spawned
    process it is at least the parent's peak); "RSS after render n" is the current RSS after a
    gc.collect(). Goal: the certificate process grows less than 10% from the 50th to the 500th
    render; the bare page's growth over the same renders is printed for comparison.

Bulk ZIP
    A throwaway app (temporary SQLite file and certificate store) gets 1,000 certificates, each
    rendered and stored with `write_certificate_file` (render + fsync + database commit:
    the "render speed" figure). Then, all warm-cache (the files were just written and the page
    cache cannot be dropped without root): reading every stored PDF from disk (the "disk speed"
    baseline), building the export ZIP exactly as its job does (`build_zip`, batches read by
    keyset, written to a file), and the whole way through the Flask test client signed in as an
    HR user through the sign-in form: asking for it (POST /certificates/export), running the job
    (the in-memory queue, drained) and downloading the file from the job page's link. Goal: the
    ZIP is made at disk speed, not render speed; the verdict uses the job's ZIP time as a share of
    re-rendering every certificate (goal met under 10%) and checks that no stored file was
    re-rendered during the export. The HTTP time is printed beside it: it adds the queue's
    hand-off to a worker (about a second, whatever the size).
"""

import argparse
import gc
import multiprocessing
import os
import re
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

import weasyprint  # noqa: E402

from bench.common import (  # noqa: E402
    CSRF_FIELD,
    ZIP_FILE,
    NotThePage,
    argument_parser,
    bench_app,
    check_response,
    mode_label,
    signed_in_client,
    sqlite_file,
    stop_on_wrong_page,
)
from training.auth.passwords import hash_password  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.certificates.export import build_zip  # noqa: E402
from training.certificates.files import write_certificate_file  # noqa: E402
from training.certificates.issuing import issue_certificate  # noqa: E402
from training.certificates.listing import CertificateFilter  # noqa: E402
from training.certificates.models import Certificate  # noqa: E402
from training.certificates.render import (  # noqa: E402
    CertificateView,
    DesignSettings,
    font_configuration,
    renderer_for,
)
from training.certificates.serials import display_serial, new_serial  # noqa: E402
from training.completions.models import Completion  # noqa: E402
from training.config import PROJECT_ROOT  # noqa: E402
from training.content.models import Course  # noqa: E402
from training.extensions import db  # noqa: E402
from training.jobs.runner import Untracked  # noqa: E402
from training.quizzes.models import QuizAttempt  # noqa: E402

BARE_PAGE_HTML = "<p>Hello</p>"
SPEED_RATIO_GOAL = 3.0
CERTIFICATES_PER_SECOND_HINT = 40.0
MEMORY_GROWTH_GOAL_PERCENT = 10.0
ZIP_SHARE_OF_RENDER_GOAL = 0.10
MIB = 1024 * 1024
PASSWORD = secrets.token_urlsafe(16)  # the throwaway accounts' password, new every run
HR_EMAIL = "hr@example.org"
EXPORT_PATH = "/certificates/export"
JOB_LINK = re.compile(r'href="(/exports/\d+/download)"')

FIRST_NAMES = ("Amara", "Bartholomew", "Chloé", "Dmitri", "Eleanor", "Fatima", "Giovanni", "Hannah", "Ifeoma", "José")
LAST_NAMES = ("Okonkwo", "Fitzgerald-Smythe", "Nguyen", "Müller", "O'Sullivan", "Kowalczyk", "García", "Lindqvist")
COURSE_TITLES = (
    "Information Governance and Data Security Awareness",
    "Safeguarding Adults, Level 2",
    "Infection Prevention and Control",
    "Fire Safety",
)


# --- the two things being rendered ---------------------------------------------------------------


def realistic_view(number: int) -> CertificateView:
    """A certificate as a learner gets it, with a fresh serial (and so a fresh QR code) every time."""
    serial = display_serial(new_serial())
    completed = datetime(2026, 3, 12, 14, 30, tzinfo=UTC) - timedelta(days=number % 365)
    return CertificateView(
        serial=serial,
        recipient_name=f"{FIRST_NAMES[number % len(FIRST_NAMES)]} {LAST_NAMES[number % len(LAST_NAMES)]}",
        course_title=COURSE_TITLES[number % len(COURSE_TITLES)],
        course_version=1 + number % 4,
        score_percent=70 + number % 31,
        completed_on=f"{completed:%B} {completed.day}, {completed.year}",
        expires_on=f"{completed:%B} {completed.day}, {completed.year + 1}",
        organisation_name="Demo Health NHS Foundation Trust",
        verify_url=f"https://training.example.org/verify/{serial}",
        issued_at=completed,
    )


def bare_page_renderer() -> Callable[[int], bytes]:
    def render(_number: int) -> bytes:
        return weasyprint.HTML(string=BARE_PAGE_HTML).write_pdf(font_config=font_configuration())

    return render


def certificate_renderer() -> Callable[[int], bytes]:
    renderer = renderer_for(DesignSettings(folder=PROJECT_ROOT / "certificates"))

    def render(number: int) -> bytes:
        return renderer.render(realistic_view(number))

    return render


RENDERERS = {"bare page": bare_page_renderer, "certificate": certificate_renderer}


# --- memory readings (Linux /proc) ---------------------------------------------------------------


def current_rss_mib() -> float:
    """Resident set size now, after collecting garbage."""
    gc.collect()
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / MIB


def peak_rss_mib() -> float:
    """VmHWM: this process's high-water resident set (unlike ru_maxrss, not inherited from a parent)."""
    match = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- 1 and 2: speed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedFigures:
    times: list[float]
    size: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p90_ms(self) -> float:
        return statistics.quantiles(self.times, n=10)[-1] * 1000

    @property
    def per_second(self) -> float:
        return len(self.times) / sum(self.times)


def measure_speed(renders: int, warmup: int, batch: int) -> dict[str, SpeedFigures]:
    """Time every kind in alternating batches (A B B A A B ...), after warming each up."""
    functions = {name: make() for name, make in RENDERERS.items()}
    numbers = count()
    sizes = {}
    for name, render in functions.items():
        for _ in range(warmup):
            sizes[name] = len(render(next(numbers)))
    times: dict[str, list[float]] = {name: [] for name in functions}
    order = list(functions)
    done = 0
    while done < renders:
        size = min(batch, renders - done)
        for name in order:
            render = functions[name]
            for _ in range(size):
                number = next(numbers)
                start = time.perf_counter()
                render(number)
                times[name].append(time.perf_counter() - start)
        order.reverse()
        done += size
    return {name: SpeedFigures(times[name], sizes[name]) for name in functions}


# --- 3: memory -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryFigures:
    start_mib: float
    peak_mib: float
    ru_maxrss_mib: float
    rss_after: dict[int, float]


def memory_profile(kind: str, renders: int, peak_at: int, checkpoints: tuple[int, ...]) -> MemoryFigures:
    """Runs in a fresh process: render `renders` times, reading the peak and RSS at the checkpoints."""
    render = RENDERERS[kind]()
    start = current_rss_mib()
    peak = maxrss = float("nan")
    rss_after = {}
    for number in range(1, renders + 1):
        render(number)
        if number == peak_at:
            peak, maxrss = peak_rss_mib(), ru_maxrss_mib()
        if number in checkpoints:
            rss_after[number] = current_rss_mib()
    return MemoryFigures(start, peak, maxrss, rss_after)


def measure_memory(renders: int, peak_at: int, growth_from: int) -> dict[str, MemoryFigures]:
    checkpoints = tuple(sorted({1, growth_from, peak_at, renders, *range(100, renders + 1, 100)}))
    results = {}
    for kind in RENDERERS:
        # A new process per kind: its memory starts from imports only, and spawn (fork + exec) gives it a fresh VmHWM.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results[kind] = pool.submit(memory_profile, kind, renders, peak_at, checkpoints).result()
    return results


# --- 4: the bulk ZIP -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipFigures:
    certificates: int
    pdf_bytes: int
    write_times: list[float]
    disk_seconds: float
    export_query_seconds: float
    zip_seconds: float
    zip_bytes: int
    rerendered_during_export: int
    http_seconds: float | None
    http_bytes: int | None


def seed_certificates(app, how_many: int) -> list[int]:
    """A department, a learner, an HR user, a course and `how_many` completions with certificates."""
    password_hash = hash_password(PASSWORD)
    with app.app_context():
        db.create_all()
        learner = create_user(
            "learner@example.org",
            "Amara Okonkwo-Fitzgerald",
            PASSWORD,
            role="staff",
            department="Ward 7B",
            job_title="Registered Nurse",
            password_hash=password_hash,
        )
        create_user(HR_EMAIL, "Henry Rhodes", PASSWORD, role="hr", password_hash=password_hash)
        course = Course(
            slug="information-governance",
            title=COURSE_TITLES[0],
            summary="Annual mandatory training.",
            pass_mark=80,
            questions_per_attempt=10,
            certificate_validity_months=12,
            estimated_minutes=45,
        )
        db.session.add(course)
        db.session.flush()
        first = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
        attempts = []
        for cycle in range(how_many):
            started = first + timedelta(hours=cycle)
            attempts.append(
                QuizAttempt(
                    user_id=learner.id,
                    course_id=course.id,
                    course_version=course.version or 1,
                    cycle=cycle,
                    pass_mark=course.pass_mark,
                    started_at=started,
                    submitted_at=started + timedelta(minutes=20),
                    score=80 + cycle % 21,
                    passed=True,
                )
            )
        db.session.add_all(attempts)
        db.session.flush()
        completions = [
            Completion(
                user_id=learner.id,
                course_id=course.id,
                cycle=attempt.cycle,
                course_version=attempt.course_version,
                attempt_id=attempt.id,
                score=attempt.score,
                completed_at=attempt.submitted_at,
                expires_at=attempt.submitted_at + timedelta(days=365),
            )
            for attempt in attempts
        ]
        db.session.add_all(completions)
        db.session.flush()
        ids = [issue_certificate(completion).id for completion in completions]
        db.session.commit()
        return ids


def write_all_files(app, certificate_ids: list[int]) -> tuple[list[float], list[Path]]:
    """Render and store every certificate through the service, timing each one."""
    times, paths = [], []
    with app.app_context():
        for certificate_id in certificate_ids:
            certificate = db.session.get(Certificate, certificate_id)
            start = time.perf_counter()
            path = write_certificate_file(certificate)
            times.append(time.perf_counter() - start)
            paths.append(path)
        db.session.remove()
    return times, paths


def read_all_files(paths: list[Path]) -> tuple[float, int]:
    start = time.perf_counter()
    total = sum(len(path.read_bytes()) for path in paths)
    return time.perf_counter() - start, total


def modification_times(paths: list[Path]) -> list[int]:
    return [path.stat().st_mtime_ns for path in paths]


def export_zip_once(app) -> tuple[float, float, int]:
    """The job's work without HTTP and the queue: (seconds to count the rows, seconds in all, ZIP bytes)."""
    counted = Counted()
    with app.app_context(), tempfile.TemporaryDirectory(prefix="bench-zip-") as folder:
        start = time.perf_counter()
        build_zip(CertificateFilter(), Path(folder), counted)
        finished = time.perf_counter()
        size = (Path(folder) / "zip").stat().st_size
        db.session.remove()
    return counted.started - start, finished - start, size


class Counted(Untracked):
    """Notes when the job knew its total (the count query), and records nothing."""

    started = 0.0

    def start(self, total: int) -> None:
        self.started = time.perf_counter()


def export_zip_over_http(app, client) -> tuple[float, int]:
    """Seconds to ask for the export, run its job and download the file, and its bytes; NotThePage unless it
    is a ZIP."""
    start = time.perf_counter()
    token = CSRF_FIELD.search(client.get("/certificates").get_data(as_text=True))
    asked = client.post(EXPORT_PATH, data={"csrf_token": token.group(1) if token else ""})
    if asked.status_code != 303:
        raise NotThePage(f"POST {EXPORT_PATH}: HTTP {asked.status_code}, not the redirect to the job page")
    app.extensions["jobs"].drain()
    link = JOB_LINK.search(client.get(asked.headers["Location"]).get_data(as_text=True))
    if link is None:
        raise NotThePage(f"{asked.headers['Location']}: no download link on the job page")
    response = client.get(link.group(1))
    chunks = response.iter_encoded()
    first = next(chunks, b"")
    received = len(first) + sum(len(chunk) for chunk in chunks)
    response.close()
    elapsed = time.perf_counter() - start
    check_response(f"GET {EXPORT_PATH}", response, ZIP_FILE, first)
    return elapsed, received


def measure_bulk_zip(how_many: int, repeats: int, with_http: bool) -> ZipFigures:
    with tempfile.TemporaryDirectory(prefix="bench-certificates-") as folder:
        tmp = Path(folder)
        for name in ("modules", "quizzes", "store"):
            (tmp / name).mkdir()
        app = bench_app(
            sqlite_file(tmp),
            tmp,
            {
                "CONTENT_MODULES_DIR": str(tmp / "modules"),
                "CONTENT_QUIZZES_DIR": str(tmp / "quizzes"),
                "PUBLIC_BASE_URL": "https://training.example.org",
            },
        )
        certificate_ids = seed_certificates(app, how_many)
        write_times, paths = write_all_files(app, certificate_ids)
        before = modification_times(paths)

        disk_runs = [read_all_files(paths) for _ in range(repeats)]
        zip_runs = [export_zip_once(app) for _ in range(repeats)]
        http_runs = []
        if with_http:
            client = signed_in_client(app, HR_EMAIL, PASSWORD)
            http_runs = [export_zip_over_http(app, client) for _ in range(repeats)]
        rerendered = sum(old != new for old, new in zip(before, modification_times(paths), strict=True))

        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    return ZipFigures(
        certificates=how_many,
        pdf_bytes=disk_runs[0][1],
        write_times=write_times,
        disk_seconds=statistics.median(run[0] for run in disk_runs),
        export_query_seconds=statistics.median(run[0] for run in zip_runs),
        zip_seconds=statistics.median(run[1] for run in zip_runs),
        zip_bytes=zip_runs[0][2],
        rerendered_during_export=rerendered,
        http_seconds=statistics.median(run[0] for run in http_runs) if http_runs else None,
        http_bytes=http_runs[0][1] if http_runs else None,
    )


# --- 5: the report -------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "goal met" if met else "goal missed"


def heading(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}")


def row(label: str, value: str, baseline: str = "", ratio: str = "", note: str = "") -> None:
    print(f"  {label:<34} {value:>14} {baseline:>14} {ratio:>9}  {note}")


def report_speed(figures: dict[str, SpeedFigures], warmup: int, batch: int) -> None:
    base, cert = figures["bare page"], figures["certificate"]
    heading(f"1-2. Render speed ({len(cert.times)} renders each, {warmup} warm-up, alternating batches of {batch})")
    row("", "certificate", "bare page", "ratio")
    ratio = cert.median_ms / base.median_ms
    row("median ms per render", f"{cert.median_ms:.2f}", f"{base.median_ms:.2f}", f"{ratio:.2f}x", "")
    row("90th percentile ms", f"{cert.p90_ms:.2f}", f"{base.p90_ms:.2f}", f"{cert.p90_ms / base.p90_ms:.2f}x")
    row(
        "renders per second (one core)",
        f"{cert.per_second:.1f}",
        f"{base.per_second:.1f}",
        f"{cert.per_second / base.per_second:.2f}x",
    )
    row("PDF size, bytes", f"{cert.size:,}", f"{base.size:,}", f"{cert.size / base.size:.1f}x")
    print(
        f"  certificate <= {SPEED_RATIO_GOAL:g}x bare page (median): {ratio:.2f}x -> "
        f"{verdict(ratio <= SPEED_RATIO_GOAL)}"
    )
    print(
        f"  about {CERTIFICATES_PER_SECOND_HINT:g} certificates per second: {cert.per_second:.1f}/s -> "
        f"{verdict(cert.per_second >= CERTIFICATES_PER_SECOND_HINT)}"
    )


def growth_percent(figures: MemoryFigures, first: int, last: int) -> float:
    return (figures.rss_after[last] / figures.rss_after[first] - 1) * 100


def report_memory(figures: dict[str, MemoryFigures], renders: int, peak_at: int, growth_from: int) -> None:
    base, cert = figures["bare page"], figures["certificate"]
    heading(f"3. Memory (one fresh process per kind, {renders} renders each; MiB)")
    row("", "certificate", "bare page", "diff")
    row(
        "RSS before first render",
        f"{cert.start_mib:.1f}",
        f"{base.start_mib:.1f}",
        f"{cert.start_mib - base.start_mib:+.1f}",
    )
    row(
        f"peak RSS (VmHWM) after {peak_at} renders",
        f"{cert.peak_mib:.1f}",
        f"{base.peak_mib:.1f}",
        f"{cert.peak_mib - base.peak_mib:+.1f}",
    )
    row(
        f"ru_maxrss after {peak_at} renders",
        f"{cert.ru_maxrss_mib:.1f}",
        f"{base.ru_maxrss_mib:.1f}",
        f"{cert.ru_maxrss_mib - base.ru_maxrss_mib:+.1f}",
        "kept across fork + exec, so at least the parent's peak",
    )
    row(
        "peak minus RSS before rendering",
        f"{cert.peak_mib - cert.start_mib:.1f}",
        f"{base.peak_mib - base.start_mib:.1f}",
        f"{(cert.peak_mib - cert.start_mib) - (base.peak_mib - base.start_mib):+.1f}",
    )
    for number in sorted(cert.rss_after):
        row(
            f"RSS after render {number}",
            f"{cert.rss_after[number]:.1f}",
            f"{base.rss_after[number]:.1f}",
            f"{cert.rss_after[number] - base.rss_after[number]:+.1f}",
        )
    cert_growth = growth_percent(cert, growth_from, renders)
    base_growth = growth_percent(base, growth_from, renders)
    row(f"growth, render {growth_from} -> {renders}", f"{cert_growth:+.1f}%", f"{base_growth:+.1f}%")
    print(
        f"  certificate growth < {MEMORY_GROWTH_GOAL_PERCENT:g}% from render {growth_from} to {renders}: "
        f"{cert_growth:+.1f}% -> {verdict(cert_growth < MEMORY_GROWTH_GOAL_PERCENT)}"
    )


def megabytes_per_second(size: int, seconds: float) -> str:
    return f"{size / MIB / seconds:,.1f} MiB/s"


def report_bulk_zip(figures: ZipFigures, repeats: int) -> None:
    n = figures.certificates
    render_each = statistics.median(figures.write_times)
    render_all = n * render_each
    heading(f"4. Bulk ZIP of {n} stored certificates (median of {repeats} runs; all reads warm-cache)")
    print(
        f"  render + store, write_certificate_file: median {render_each * 1000:.1f} ms each, "
        f"{n / sum(figures.write_times):.1f}/s, {sum(figures.write_times):.1f} s in all"
    )
    print(f"  stored PDFs: {figures.pdf_bytes / MIB:.1f} MiB, {figures.pdf_bytes / n / 1024:.1f} KiB each")
    row("", "seconds", "MiB/s", "vs disk", "")
    row(
        "disk: read every stored PDF",
        f"{figures.disk_seconds:.3f}",
        megabytes_per_second(figures.pdf_bytes, figures.disk_seconds),
        "1.00x",
        "baseline",
    )
    row(
        "ZIP: build_zip (the job's work)",
        f"{figures.zip_seconds:.3f}",
        megabytes_per_second(figures.zip_bytes, figures.zip_seconds),
        f"{figures.zip_seconds / figures.disk_seconds:.2f}x",
        f"{figures.zip_bytes / MIB:.1f} MiB; {figures.export_query_seconds:.3f} s of it counting rows",
    )
    if figures.http_seconds is not None:
        row(
            "HTTP: ask, run the job, download",
            f"{figures.http_seconds:.3f}",
            megabytes_per_second(figures.http_bytes, figures.http_seconds),
            f"{figures.http_seconds / figures.disk_seconds:.2f}x",
            "checked: HTTP 200, a ZIP; test client signed in as HR",
        )
    row("re-render all (n x median write)", f"{render_all:.3f}", "", f"{render_all / figures.disk_seconds:.0f}x")
    share = figures.zip_seconds / render_all
    print(
        f"  ZIP time / ({n} x render time): {share:.3f}; stored files re-rendered during the export: "
        f"{figures.rerendered_during_export}"
    )
    if figures.http_seconds is not None:
        # Not in the verdict: it includes the queue's hand-off to a worker (about a second, whatever the size).
        print(f"  HTTP time / ({n} x render time): {figures.http_seconds / render_all:.3f} (with the queue's hand-off)")
    met = share < ZIP_SHARE_OF_RENDER_GOAL and figures.rerendered_during_export == 0
    print(
        f"  served at disk speed, not render speed (under {ZIP_SHARE_OF_RENDER_GOAL:.0%} of re-rendering, "
        f"nothing re-rendered): -> {verdict(met)}"
    )


# --- command line --------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts for a smoke check")
    parser.add_argument("--tiny", action="store_true", help="a handful of each: runs in seconds (tests)")
    parser.add_argument("--renders", type=int, default=100, help="timed renders of each kind (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed renders of each kind first (default 5)")
    parser.add_argument("--batch", type=int, default=10, help="renders per alternating batch (default 10)")
    parser.add_argument("--memory-renders", type=int, default=500, help="renders per memory process (default 500)")
    parser.add_argument("--memory-peak-at", type=int, default=200, help="read the peak after this render")
    parser.add_argument("--memory-growth-from", type=int, default=50, help="growth is measured from this render")
    parser.add_argument("--zip-certificates", type=int, default=1000, help="certificates in the ZIP (default 1000)")
    parser.add_argument("--zip-repeats", type=int, default=3, help="runs of each read; the median is reported")
    parser.add_argument("--no-http", action="store_true", help="skip the export through the Flask test client")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.renders, arguments.warmup = 20, 3
        arguments.memory_renders, arguments.memory_peak_at, arguments.memory_growth_from = 60, 60, 10
        arguments.zip_certificates = 100
    if arguments.tiny:
        arguments.renders, arguments.warmup, arguments.batch = 4, 1, 2
        arguments.memory_renders, arguments.memory_peak_at, arguments.memory_growth_from = 4, 4, 2
        arguments.zip_certificates, arguments.zip_repeats = 4, 1
    arguments.memory_peak_at = min(arguments.memory_peak_at, arguments.memory_renders)
    arguments.memory_growth_from = min(arguments.memory_growth_from, arguments.memory_renders)
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    with stop_on_wrong_page():
        run(arguments)


def run(arguments: argparse.Namespace) -> None:
    started = time.perf_counter()
    print(
        f"Certificate benchmark: WeasyPrint {weasyprint.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs{mode_label(arguments)}"
    )

    speed = measure_speed(arguments.renders, arguments.warmup, arguments.batch)
    report_speed(speed, arguments.warmup, arguments.batch)

    memory = measure_memory(arguments.memory_renders, arguments.memory_peak_at, arguments.memory_growth_from)
    report_memory(memory, arguments.memory_renders, arguments.memory_peak_at, arguments.memory_growth_from)

    bulk = measure_bulk_zip(arguments.zip_certificates, arguments.zip_repeats, with_http=not arguments.no_http)
    report_bulk_zip(bulk, arguments.zip_repeats)

    print(f"\nTotal benchmark time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
