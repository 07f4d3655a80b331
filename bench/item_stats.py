"""Benchmark of the item statistics pages against a bare page, for a course with many submitted attempts.

Run from the project root; it needs no settings in the environment (the app's are stated in
bench/common.py: development mode over plain HTTP, two-step sign-in not required, rate-limit counts
in the process's memory, so no Redis):

    .venv/bin/python bench/item_stats.py                 # 20,000 attempts on SQLite
    .venv/bin/python bench/item_stats.py --attempts 2000 # a smoke check
    .venv/bin/python bench/item_stats.py --tiny          # 60 attempts of 30 learners: seconds (tests)
    .venv/bin/python bench/item_stats.py --pg-url postgresql://postgres@127.0.0.1:5432/bench_item_stats

It only prints figures. A timed response that is not the page meant (a redirect, an error page,
another page: status 200 and the page's <title> are checked every time) stops the run with exit
status 1 and the reason.

SQLite uses a file in a new temporary folder. PostgreSQL is measured too when --pg-url names a
database, which must not exist yet: the script creates it and drops it at the end (a name of this
script's own, such as `bench_item_stats`, keeps two benchmarks from sharing one).

A fresh database gets the shipped courses, 2,000 learners (--learners) in 8 departments and 5 job
titles, and the given number of submitted attempts of the first shipped course, each with its
questions and answers (a learner's chance of a right answer rises with an invented skill level, so the
figures vary; they describe nothing real). Three pages are then timed through the Flask test client,
signed in as HR through the sign-in form: `/bench/bare` (a template extending base.html behind the
same sign-in check), the course overview and one question's page; "ms" is the median of alternating
rounds after a warm-up, and the SQL statements per request are counted with a `before_cursor_execute`
listener.
"""

import argparse
import random
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from markupsafe import escape  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bench.common import (  # noqa: E402
    ALSO_POSTGRESQL,
    BARE_PAGE,
    BARE_PATH,
    Expected,
    app_with_bare_page,
    argument_parser,
    count_statements,
    html_page,
    median_ms_per_page,
    on_sqlite_then_postgresql,
    signed_in_client,
    stop_on_wrong_page,
)
from training.auth.models import Department, User  # noqa: E402
from training.auth.passwords import hash_password  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.content.models import Course, Question, QuestionVersion  # noqa: E402
from training.content.service import sync_configured_content  # noqa: E402
from training.db import utcnow  # noqa: E402
from training.extensions import db  # noqa: E402
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)  # the HR account the benchmark signs in with
HR_EMAIL = "hr@bench.example"
DEPARTMENTS = [f"Department {n}" for n in range(1, 9)]
JOB_TITLES = ["Registered Nurse", "Healthcare Assistant", "Porter", "Receptionist", "Physician"]


def load(attempts: int, learners: int, seed: int) -> dict[str, tuple[str, Expected]]:
    """The data set; returns the pages to time, by name: (path, what the page looks like)."""
    rng = random.Random(seed)  # noqa: S311 - invented benchmark data, not secrets
    sync_configured_content()
    course = db.session.execute(select(Course).order_by(Course.slug).limit(1)).scalar_one()
    versions = (
        db.session.execute(
            select(QuestionVersion)
            .join(Question, Question.current_version_id == QuestionVersion.id)
            .where(Question.course_id == course.id, Question.status == "published")
        )
        .scalars()
        .all()
    )
    departments = [Department(name=name) for name in DEPARTMENTS]
    db.session.add_all(departments)
    db.session.flush()
    hashed = hash_password("not used for signing in")
    db.session.execute(
        insert(User),
        [
            {
                "email": f"learner{n}@bench.example",
                "name": f"Learner {n}",
                "password_hash": hashed,
                "role": "staff",
                "job_title": rng.choice(JOB_TITLES),
                "department_id": rng.choice(departments).id,
            }
            for n in range(learners)
        ],
    )
    learner_ids = db.session.execute(select(User.id).where(User.role == "staff")).scalars().all()
    skill = {user_id: rng.uniform(0.2, 0.95) for user_id in learner_ids}
    ease = {v.id: rng.uniform(-0.3, 0.3) for v in versions}
    now = utcnow()
    attempt_rows, asked_rows, answer_rows = [], [], []
    asked_id = 0
    for attempt_id in range(1, attempts + 1):
        user_id = rng.choice(learner_ids)
        drawn = rng.sample(versions, course.questions_per_attempt)
        right = 0
        for position, version in enumerate(drawn):
            asked_id += 1
            correct_ids = [o.id for o in version.options if o.correct]
            wrong_ids = [o.id for o in version.options if not o.correct]
            correct = rng.random() < min(0.98, max(0.02, skill[user_id] + ease[version.id]))
            selected = correct_ids if correct else [rng.choice(wrong_ids), *correct_ids[1:]]
            right += correct
            asked_rows.append(
                {
                    "id": asked_id,
                    "attempt_id": attempt_id,
                    "question_version_id": version.id,
                    "position": position,
                    "option_order": [o.id for o in version.options],
                }
            )
            answer_rows.append(
                {"attempt_question_id": asked_id, "selected_option_ids": sorted(selected), "correct": correct}
            )
        score = round(100 * right / len(drawn))
        submitted = now - timedelta(minutes=attempt_id)
        attempt_rows.append(
            {
                "id": attempt_id,
                "user_id": user_id,
                "course_id": course.id,
                "course_version": course.version,
                "pass_mark": course.pass_mark,
                "started_at": submitted - timedelta(minutes=20),
                "submitted_at": submitted,
                "score": score,
                "passed": score >= course.pass_mark,
            }
        )
    for model, rows in ((QuizAttempt, attempt_rows), (AttemptQuestion, asked_rows), (AttemptAnswer, answer_rows)):
        for start in range(0, len(rows), 5_000):
            db.session.execute(insert(model), rows[start : start + 5_000])
    create_user(HR_EMAIL, "HR Bench", PASSWORD, role="hr", password_hash=hash_password(PASSWORD))
    db.session.commit()
    question = db.session.execute(select(Question).where(Question.course_id == course.id).limit(1)).scalar_one()
    return {
        "bare": (BARE_PATH, BARE_PAGE),
        "overview": (
            f"/authoring/courses/{course.slug}/statistics",
            html_page(f"<title>Question statistics: {escape(course.title)} "),
        ),
        "question": (
            f"/authoring/questions/{question.id}/statistics",
            html_page(f"<title>Statistics: {escape(question.key)} "),
        ),
    }


def measure(uri: str, arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-item-stats-") as folder:
        app = app_with_bare_page(uri, Path(folder))
        started = time.perf_counter()
        with app.app_context():
            db.drop_all()
            db.create_all()
            pages = load(arguments.attempts, arguments.learners, arguments.seed)
            db.session.remove()
        print(f"  generated {arguments.attempts:,} attempts in {time.perf_counter() - started:.1f} s")
        client = signed_in_client(app, HR_EMAIL, PASSWORD)
        medians = median_ms_per_page(client, pages, arguments.requests, warmup=1)
        for name, page in pages.items():
            ms = medians[name]
            print(
                f"  {name:>9}: {ms:8.1f} ms ({ms / medians['bare']:5.1f}x bare), "
                f"{count_statements(app, client, *page)} statements"
            )
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def describe(arguments: argparse.Namespace) -> str:
    return (
        f"{arguments.attempts:,} attempts of {arguments.learners:,} learners, median of {arguments.requests} requests"
    )


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--attempts", type=int, default=20_000, help="submitted attempts (default 20,000)")
    parser.add_argument("--learners", type=int, default=2_000, help="learners who made them (default 2,000)")
    parser.add_argument("--requests", type=int, default=7, help="timed requests per page (default 7)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="60 attempts of 30 learners, 3 requests: seconds (tests)")
    parser.add_argument("--pg-url", help=ALSO_POSTGRESQL)
    arguments = parser.parse_args(argv)
    if arguments.tiny:
        arguments.attempts, arguments.learners, arguments.requests = 60, 30, 3
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    with stop_on_wrong_page():
        on_sqlite_then_postgresql(
            describe(arguments), lambda uri: measure(uri, arguments), arguments.pg_url, "bench-item-stats-sqlite-"
        )


if __name__ == "__main__":
    main()
