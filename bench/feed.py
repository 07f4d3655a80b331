"""Benchmark of the nightly HR feed (`flask staff sync`) against `flask staff import --apply` of the same files.

Run from the project root; it needs no settings in the environment (the app's are stated in
bench/common.py):

    .venv/bin/python bench/feed.py                  # 10,000 rows on SQLite
    .venv/bin/python bench/feed.py --tiny           # 200 rows: seconds (tests)
    .venv/bin/python bench/feed.py --pg-url postgresql://postgres@127.0.0.1:5432/bench_feed

It only prints figures. A run that does not do what it is timed for (a non-zero exit, or counts other
than the file's) stops the script with exit status 1 and the reason.

For each backend, a fresh database gets the shipped courses and two requirements (every department
must take one course; one department a second), so that each changed person's obligations are
rebuilt as in production. The first file lists N people (--rows) in 8 departments, each with a
manager from the first rows; the second file is the same list with 5% of the rows changed: 1% new
people, 1% left out (leavers), 1.5% moved to another department and 1.5% with a new job title.
Both commands run through the Flask CLI in this process: the import (the baseline, measured in the
same run) applies the first file to an empty database and then the second; the sync does the same
on a database of its own. Each command starts with the cache of checked email addresses (training/staff/rules.py)
empty, as in the new process that cron starts. The import does not deactivate the leavers; the sync does. SQLite uses a
file in a new temporary folder; PostgreSQL a database named by --pg-url, which must not exist: the
script creates it and drops it at the end.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from sqlalchemy import select  # noqa: E402

from bench.common import ALSO_POSTGRESQL, argument_parser, bench_app, on_sqlite_then_postgresql  # noqa: E402
from training.auth.models import Department  # noqa: E402
from training.auth.users import create_user  # noqa: E402
from training.compliance.requirements import RequirementInput, create_requirement  # noqa: E402
from training.content.models import Course  # noqa: E402
from training.content.service import sync_configured_content  # noqa: E402
from training.extensions import db  # noqa: E402
from training.staff import rules  # noqa: E402
from training.staff.csv_file import EXAMPLE  # noqa: E402

DEPARTMENTS = [f"Department {n}" for n in range(1, 9)]
JOB_TITLES = ["Registered Nurse", "Healthcare Assistant", "Porter", "Receptionist", "Physician"]
MANAGERS = 40  # the first rows manage the others


class WrongRun(RuntimeError):
    """A timed command did not do what it was timed for."""


def person_row(n: int, department: str, job_title: str) -> list[str]:
    manager = f"person{n % MANAGERS}@bench.example" if n >= MANAGERS else ""
    return [f"E{n:06d}", f"Person {n}", f"person{n}@bench.example", department, job_title, "2020-01-06", manager]


def staff_files(rows: int, seed: int) -> tuple[bytes, bytes, dict[str, int]]:
    """The first export, the second (5% of rows changed), and what the second changes."""
    rng = random.Random(seed)  # noqa: S311 - invented benchmark data, not secrets
    first = [person_row(n, rng.choice(DEPARTMENTS), rng.choice(JOB_TITLES)) for n in range(rows)]
    share = max(1, rows // 100)
    changed = {"created": share, "deactivated": share, "moved": share * 3 // 2, "updated": share * 3 // 2}
    candidates = rng.sample(range(MANAGERS, rows), changed["deactivated"] + changed["moved"] + changed["updated"])
    leavers = set(candidates[: changed["deactivated"]])
    movers = candidates[changed["deactivated"] : changed["deactivated"] + changed["moved"]]
    promoted = candidates[changed["deactivated"] + changed["moved"] :]
    second = [list(row) for row in first]
    for n in movers:
        second[n][3] = next(name for name in DEPARTMENTS if name != first[n][3])
    for n in promoted:
        second[n][4] = "Charge Nurse"
    second = [row for n, row in enumerate(second) if n not in leavers]
    second += [person_row(n, rng.choice(DEPARTMENTS), "Porter") for n in range(rows, rows + changed["created"])]
    changed["unchanged"] = rows - sum(changed.values()) + changed["created"]
    return _csv(first), _csv(second), changed


def _csv(rows: list[list[str]]) -> bytes:
    return ("\n".join([EXAMPLE, *(",".join(row) for row in rows)]) + "\n").encode()


def prepare(app) -> None:
    """Empty tables, the shipped courses, the departments and two requirements (with an HR user to make them)."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_configured_content()
        db.session.add_all(Department(name=name) for name in DEPARTMENTS)
        db.session.commit()
        actor = create_user("hr@bench.example", "HR Bench", "not used for signing in 1", role="hr")
        first, second = db.session.execute(select(Course.id).order_by(Course.slug).limit(2)).scalars()
        create_requirement(actor, RequirementInput(f"course:{first}", None, "", 30, 12))
        department = db.session.execute(select(Department.id).where(Department.name == DEPARTMENTS[0])).scalar_one()
        create_requirement(actor, RequirementInput(f"course:{second}", department, "", 30, None))
        db.session.remove()


def timed(app, arguments: list[str], expect: str) -> float:
    """Seconds for one `flask ...` command, which must exit 0 and print `expect`."""
    runner = app.test_cli_runner()
    rules.forget_checked_emails()  # each command starts cold, as in the process cron starts
    started = time.perf_counter()
    result = runner.invoke(args=arguments)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0 or expect not in result.output:
        command = " ".join(arguments[:2])
        raise WrongRun(f"flask {command}: exit {result.exit_code}, expected {expect!r} in:\n{result.output}")
    return elapsed


def sync_counts(changed: dict[str, int], first_run: bool, rows: int) -> str:
    if first_run:
        return f"  created: {rows}\n  updated: 0\n  moved: 0\n  deactivated: 0\n"
    return (
        f"  created: {changed['created']}\n  updated: {changed['updated']}\n  moved: {changed['moved']}\n"
        f"  deactivated: {changed['deactivated']}\n  reactivated: 0\n  unchanged: {changed['unchanged']}\n"
    )


def measure(uri: str, arguments: argparse.Namespace) -> None:
    first, second, changed = staff_files(arguments.rows, arguments.seed)
    with tempfile.TemporaryDirectory(prefix="bench-feed-") as folder:
        paths = [Path(folder) / "first.csv", Path(folder) / "second.csv"]
        for path, data in zip(paths, (first, second), strict=True):
            path.write_bytes(data)
        app = bench_app(uri, Path(folder))
        times: dict[str, list[float]] = {"import": [], "sync": []}
        prepare(app)
        import_second = f"Imported: {changed['created']} new, {changed['moved'] + changed['updated']} updated"
        times["import"].append(timed(app, ["staff", "import", str(paths[0]), "--apply"], f"{arguments.rows} new"))
        times["import"].append(timed(app, ["staff", "import", str(paths[1]), "--apply"], import_second))
        prepare(app)
        times["sync"].append(timed(app, ["staff", "sync", str(paths[0])], sync_counts(changed, True, arguments.rows)))
        times["sync"].append(timed(app, ["staff", "sync", str(paths[1])], sync_counts(changed, False, arguments.rows)))
        with app.app_context():
            db.drop_all()
            db.engine.dispose()
    runs = [
        f"first run, creating {arguments.rows:,} people",
        f"second run, 5% changed ({changed['created']} new, {changed['deactivated']} left, "
        f"{changed['moved']} moved, {changed['updated']} new job titles)",
    ]
    for index, title in enumerate(runs):
        baseline, feed = times["import"][index], times["sync"][index]
        print(f"  {title}: import --apply {baseline:.2f} s, sync {feed:.2f} s ({feed / baseline:.2f}x the import)")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="people in the HR export (default 10,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="200 rows: seconds (tests)")
    parser.add_argument("--pg-url", help=ALSO_POSTGRESQL)
    arguments = parser.parse_args(argv)
    if arguments.tiny:
        arguments.rows = 200
    if arguments.rows < 200:
        parser.error("--rows must be at least 200")
    return arguments


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    try:
        rows = f"{arguments.rows:,} rows"
        on_sqlite_then_postgresql(rows, lambda uri: measure(uri, arguments), arguments.pg_url, "bench-feed-sqlite-")
    except WrongRun as exc:
        raise SystemExit(f"\nStopped, not the run meant to be timed: {exc}") from None


if __name__ == "__main__":
    main()
