"""Benchmark of the transcript pages for one person with a short and a long history, against a bare page.

Run from the project root; it needs no settings in the environment (bench/common.py states them):

    .venv/bin/python bench/transcript.py            # 100, 860 and 5,000 quiz attempts, SQLite and PostgreSQL
    .venv/bin/python bench/transcript.py --quick    # 100 and 900 attempts, fewer requests
    .venv/bin/python bench/transcript.py --tiny     # 100 and 200 attempts, 3 requests: seconds (tests)
    .venv/bin/python bench/transcript.py --no-pg    # SQLite only

For each backend and size, a fresh schema gets the shipped courses, an HR account and a learner with that many
submitted quiz attempts, one a day back from today, one in four of them passed, completing a cycle of the course
with a certificate. PostgreSQL uses a scratch database of the script's own (`bench_transcript`, or --pg-url),
created and dropped here. Four pages are requested through the Flask test client, each checked (status 200 and
its heading): the learner's "My transcript" (first page and last page of attempts), HR's page of the person,
and `GET /bench/bare` (base.html and the sign-in check, nothing else). "ms" is the median of alternating rounds
after a warm-up; "KB" the page's size; "SQL" the statements of one request.

Goals (issue 20, goal 5: a person with 860 attempts got a 278 KB page): every page under 60 KB at every size,
the same number of statements at every size, and page time growing less than 1.5x from the smallest history to
the largest (the smallest already fills the first page of attempts, so the growth is the history's own cost).
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from sqlalchemy import select, text  # noqa: E402

from bench.common import (  # noqa: E402
    BARE_PAGE,
    BARE_PATH,
    app_with_bare_page,
    argument_parser,
    count_statements,
    html_page,
    median_ms_per_page,
    mode_label,
    scratch_postgresql,
    signed_in_client,
    sqlite_file,
    stop_on_wrong_page,
)
from training.auth.users import create_user  # noqa: E402
from training.certificates.issuing import issue_certificate  # noqa: E402
from training.completions.models import Completion  # noqa: E402
from training.content.models import Course  # noqa: E402
from training.content.service import sync_configured_content  # noqa: E402
from training.courses.transcript import ATTEMPTS_PER_PAGE  # noqa: E402
from training.db import utcnow  # noqa: E402
from training.extensions import db  # noqa: E402
from training.quizzes.models import QuizAttempt  # noqa: E402

PASSWORD = "benchmark password 1234"  # noqa: S105 - the accounts of the benchmark's own scratch database
HR_EMAIL, LEARNER_EMAIL = "hr@bench.example", "learner@bench.example"
PASSED_EVERY = 4  # so that even the smallest history fills a page of completions (25) and of attempts (50)
PAGE_LIMIT_KB = 60
GROWTH_LIMIT = 1.5
TRANSCRIPT = html_page("<h1>My transcript</h1>")
PERSON = html_page("<h1>Long History</h1>")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="100 and 900 attempts, 10 requests per page")
    parser.add_argument("--tiny", action="store_true", help="100 and 200 attempts, 3 requests per page")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_transcript")
    arguments = parser.parse_args(argv)
    arguments.sizes = (100, 200) if arguments.tiny else (100, 900) if arguments.quick else (100, 860, 5000)
    arguments.requests, arguments.warmup = (3, 1) if arguments.tiny else (10, 3) if arguments.quick else (30, 5)
    return arguments


def load_history(app, attempts: int) -> int:
    """A fresh schema, the shipped courses, an HR account and a learner with `attempts` attempts; the learner's id."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_configured_content()
        create_user(HR_EMAIL, "Hilda Resources", PASSWORD, role="hr")
        learner = create_user(LEARNER_EMAIL, "Long History", PASSWORD, role="staff")
        course = (
            db.session.execute(select(Course).where(Course.published.is_(True)).order_by(Course.id)).scalars().first()
        )
        now = utcnow()
        rows = [_attempt(learner.id, course, now - timedelta(days=age), age) for age in range(attempts)]
        db.session.add_all(rows)
        db.session.flush()
        for attempt in (row for row in rows if row.passed):
            completion = Completion(
                user_id=learner.id,
                course_id=course.id,
                cycle=attempt.cycle,
                course_version=course.version,
                attempt_id=attempt.id,
                score=attempt.score,
                completed_at=attempt.submitted_at,
                expires_at=attempt.submitted_at + timedelta(days=365),
            )
            db.session.add(completion)
            db.session.flush()
            issue_certificate(completion, now=attempt.submitted_at)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        learner_id = learner.id
        db.session.remove()
    return learner_id


def _attempt(user_id: int, course: Course, moment, age: int) -> QuizAttempt:
    passed = age % PASSED_EVERY == 0
    return QuizAttempt(
        user_id=user_id,
        course_id=course.id,
        course_version=course.version,
        cycle=age // PASSED_EVERY + 1 if passed else 0,
        pass_mark=80,
        started_at=moment - timedelta(minutes=10),
        submitted_at=moment,
        score=90 if passed else 40,
        passed=passed,
    )


def measure(database_uri: str, folder: Path, attempts: int, arguments: argparse.Namespace) -> dict[str, tuple]:
    """Per page: (median ms, KB, statements)."""
    app = app_with_bare_page(database_uri, folder)
    learner_id = load_history(app, attempts)
    last = -(-attempts // ATTEMPTS_PER_PAGE)
    learner = signed_in_client(app, LEARNER_EMAIL, PASSWORD)
    hr = signed_in_client(app, HR_EMAIL, PASSWORD)
    pages = {
        "transcript": (learner, "/transcript", TRANSCRIPT),
        "last page": (learner, f"/transcript?attempts_page={last}", TRANSCRIPT),
        "HR person": (hr, f"/compliance/people/{learner_id}", PERSON),
        "bare": (hr, BARE_PATH, BARE_PAGE),
    }
    figures = {}
    for name, (client, path, expected) in pages.items():
        ms = median_ms_per_page(client, {name: (path, expected)}, arguments.requests, arguments.warmup)[name]
        size = len(client.get(path).get_data()) / 1000
        figures[name] = (ms, size, count_statements(app, client, path, expected))
    return figures


def run_backend(title: str, database_uri: str, folder: Path, arguments: argparse.Namespace) -> None:
    print(f"\n{title}: median of {arguments.requests} requests per page after {arguments.warmup} warm-ups")
    print(
        f"  {'attempts':>8}  "
        + "  ".join(f"{name + ' ms / KB / SQL':>30}" for name in ("transcript", "last page", "HR person", "bare"))
    )
    results = {}
    for size in arguments.sizes:
        results[size] = measure(database_uri, folder, size, arguments)
        cells = (f"{ms:9.2f} / {kb:6.1f} / {sql:3d}" for ms, kb, sql in results[size].values())
        print(f"  {size:>8,}  " + "  ".join(f"{cell:>30}" for cell in cells))
    judge(results, arguments.sizes)


def judge(results: dict[int, dict[str, tuple]], sizes: tuple[int, ...]) -> None:
    pages = [name for name in results[sizes[0]] if name != "bare"]
    largest_kb = max(results[size][name][1] for size in sizes for name in pages)
    met = largest_kb < PAGE_LIMIT_KB
    print(f"  every page under {PAGE_LIMIT_KB} KB at every size: largest {largest_kb:.1f} KB {goal(met)}")
    counts = {name: sorted({results[size][name][2] for size in sizes}) for name in pages}
    same = all(len(found) == 1 for found in counts.values())
    shown = ", ".join(f"{name} {'/'.join(map(str, found))}" for name, found in counts.items())
    print(f"  statements the same at every size: {shown} {goal(same)}")
    growth = {name: results[sizes[-1]][name][0] / results[sizes[0]][name][0] for name in pages}
    shown = ", ".join(f"{name} {value:.2f}x" for name, value in growth.items())
    worst = max(growth.values())
    limit = f"time growth {sizes[0]:,} -> {sizes[-1]:,} attempts under {GROWTH_LIMIT}x"
    print(f"  {limit}: {shown}; worst {worst:.2f}x {goal(worst < GROWTH_LIMIT)}")


def goal(met: bool) -> str:
    return "-> goal met" if met else "-> goal missed"


def run(arguments: argparse.Namespace) -> None:
    print(
        f"Transcript benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"{', '.join(f'{size:,}' for size in arguments.sizes)} attempts{mode_label(arguments)}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-transcript-") as folder:
        run_backend("SQLite (temporary file)", sqlite_file(Path(folder)), Path(folder), arguments)
        if arguments.no_pg:
            print("\nPostgreSQL skipped: --no-pg")
            return
        with scratch_postgresql(arguments.pg_url, skipped="\nPostgreSQL skipped") as database:
            if database is not None:
                run_backend(f"PostgreSQL ({database.name})", database.sqlalchemy_uri, Path(folder), arguments)


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    try:
        with stop_on_wrong_page():
            run(parse_arguments(argv))
    finally:
        print(f"\nTotal benchmark time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
