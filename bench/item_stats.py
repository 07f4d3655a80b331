"""Benchmark of the item statistics pages against a bare page, for a course with many submitted attempts.

Run from the project root:

    .venv/bin/python bench/item_stats.py                 # 20,000 attempts on SQLite
    .venv/bin/python bench/item_stats.py --attempts 2000 # a smoke check
    .venv/bin/python bench/item_stats.py --pg-url postgresql://postgres@127.0.0.1:5432/bench_item_stats

It only prints figures. A fresh database gets the shipped courses, 2,000 learners in 8 departments and
5 job titles, and the given number of submitted attempts of the first shipped course, each with its
questions and answers (a learner's chance of a right answer rises with an invented skill level, so the
figures vary; they describe nothing real). Three pages are then timed through the Flask test client,
signed in as HR: `/bench/bare` (a template extending base.html behind the same sign-in check), the
course overview and one question's page; "ms" is the median of alternating rounds after a warm-up, and
the SQL statements per request are counted with a `before_cursor_execute` listener.
"""

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from sqlalchemy import insert, select  # noqa: E402

from bench.dashboard import Unavailable, bench_app, count_statements, get, prepare_postgresql  # noqa: E402
from training.auth.models import Department, User  # noqa: E402
from training.auth.passwords import hash_password  # noqa: E402
from training.auth.services import create_user  # noqa: E402
from training.content.service import sync_configured_content  # noqa: E402
from training.courses.models import Course  # noqa: E402
from training.db import utcnow  # noqa: E402
from training.extensions import db  # noqa: E402
from training.quizzes.models import AttemptAnswer, AttemptQuestion, Question, QuestionVersion, QuizAttempt  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)  # the HR account the benchmark signs in with
LEARNERS = 2_000
DEPARTMENTS = [f"Department {n}" for n in range(1, 9)]
JOB_TITLES = ["Registered Nurse", "Healthcare Assistant", "Porter", "Receptionist", "Physician"]


def load(attempts: int, seed: int) -> tuple[str, int]:
    """The data set; returns the course slug and one question id."""
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
            for n in range(LEARNERS)
        ],
    )
    learners = db.session.execute(select(User.id).where(User.role == "staff")).scalars().all()
    skill = {user_id: rng.uniform(0.2, 0.95) for user_id in learners}
    ease = {v.id: rng.uniform(-0.3, 0.3) for v in versions}
    now = utcnow()
    attempt_rows, asked_rows, answer_rows = [], [], []
    asked_id = 0
    for attempt_id in range(1, attempts + 1):
        user_id = rng.choice(learners)
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
    create_user("hr@bench.example", "HR Bench", PASSWORD, role="hr", password_hash=hash_password(PASSWORD))
    db.session.commit()
    question = db.session.execute(select(Question.id).where(Question.course_id == course.id).limit(1)).scalar_one()
    return course.slug, question


def measure(uri: str, attempts: int, requests: int, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-item-stats-") as folder:
        app = bench_app(uri, Path(folder))
        started = time.perf_counter()
        with app.app_context():
            db.drop_all()
            db.create_all()
            slug, question_id = load(attempts, seed)
            db.session.remove()
        print(f"  generated {attempts:,} attempts in {time.perf_counter() - started:.1f} s")
        pages = {
            "bare": "/bench/bare",
            "overview": f"/authoring/courses/{slug}/statistics",
            "question": f"/authoring/questions/{question_id}/statistics",
        }
        client = app.test_client()
        client.post("/login", data={"email": "hr@bench.example", "password": PASSWORD})
        times: dict[str, list[float]] = {name: [] for name in pages}
        for path in pages.values():
            get(client, path)
        order = list(pages)
        for _ in range(requests):
            for name in order:
                times[name].append(get(client, pages[name]))
            order.reverse()
        bare = statistics.median(times["bare"]) * 1000
        for name, path in pages.items():
            ms = statistics.median(times[name]) * 1000
            print(
                f"  {name:>9}: {ms:8.1f} ms ({ms / bare:5.1f}x bare), {count_statements(app, client, path)} statements"
            )
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=20_000, help="submitted attempts (default 20,000)")
    parser.add_argument("--requests", type=int, default=7, help="timed requests per page (default 7)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", help="also measure on this PostgreSQL database (created and dropped if new)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-item-stats-sqlite-") as folder:
        print(f"SQLite, {arguments.attempts:,} attempts, median of {arguments.requests} requests:")
        measure(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", arguments.attempts, arguments.requests, arguments.seed)
    if not arguments.pg_url:
        return
    try:
        uri, drop = prepare_postgresql(arguments.pg_url)
    except Unavailable as exc:
        print(f"PostgreSQL skipped: {exc}")
        return
    try:
        print(f"PostgreSQL, {arguments.attempts:,} attempts, median of {arguments.requests} requests:")
        measure(uri, arguments.attempts, arguments.requests, arguments.seed)
    finally:
        drop()


if __name__ == "__main__":
    main()
