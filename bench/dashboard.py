"""Benchmark of the compliance dashboard and people list against a bare page, from 1,000 to 50,000 staff.

Run from the project root; it needs no settings in the environment (the app's are stated in
bench/common.py: development mode over plain HTTP, two-step sign-in not required, rate-limit counts
in the process's memory, so no Redis):

    .venv/bin/python bench/dashboard.py            # 1,000, 10,000 and 50,000 staff on SQLite and PostgreSQL
    .venv/bin/python bench/dashboard.py --quick    # 300 and 3,000 staff, fewer requests: a smoke check
    .venv/bin/python bench/dashboard.py --tiny     # 40 and 80 staff, 3 requests, one process: seconds (tests)
    .venv/bin/python bench/dashboard.py --no-pg    # SQLite only

A missed goal is reported as "goal missed", not as a failure exit code. A timed response that is not
the page meant (a redirect, an error page, another page: status 200 and the page's <h1> or <title>
are checked every time) stops the run with exit status 1 and the reason, before any goal is judged.

For each backend and size, a fresh database gets the shipped courses and an organisation from the
same generator as `flask demo --staff N` (two years of attempts, completions and certificates; the
time it takes is printed), then the overview's counts of past days folded, as the daily `flask compliance fold`
leaves them. SQLite uses a file in a new temporary folder. PostgreSQL uses a scratch
database of this script's own, `bench_dashboard` (--pg-url to name another), which the script
creates and drops at the end; if it already exists (another run, or one that was stopped), the
PostgreSQL part is skipped with the reason rather than share it. After loading, PostgreSQL gets
VACUUM ANALYZE, as its autovacuum does on its own after a bulk load (since PostgreSQL 13 it vacuums a table
after many inserts, which sets the visibility map that index-only scans need, such as the people list's counts);
SQLite is left as the app leaves it (no statistics). PostgreSQL's database is also given the planner setting
docs/operations.md asks of a production database (PG_SETTINGS: random_page_cost 1.1, for storage where a random
read costs about what a sequential one does, as on SSDs or with the database in memory; ALTER DATABASE, so the
measuring process's new connections have it); --pg-defaults leaves PostgreSQL's defaults, to compare.
With --proposed-indexes, indexes proposed for the schema but not in it yet (see PROPOSED_INDEXES)
are created with the tables, to measure what they would change.

These pages are then requested through the Flask test client, signed in as the HR account (through
the sign-in form, CSRF token included):
`GET /compliance` (the dashboard), `GET /compliance/people` (first page of the people list), the people list
filtered as HR filters it most (the largest department, `status=non_compliant`, a search for "patel"), and
`GET /bench/bare`, a route registered on the benchmark's app only that renders a template extending
base.html with no content behind the same sign-in check: the fixed cost of any page (session,
user, layout). The pages are timed in a freshly spawned process (the one that generated 50,000
people is slower at everything afterwards, the bare page included), except with --tiny, a smoke
run whose figures mean little, which saves the seconds of starting one per size. Each page is
warmed up, then requested in alternating rounds (A B C, C B A, ...) so that machine noise hits all
of them alike; "ms" is the median time of one request. The SQL statements per request are counted with a
`before_cursor_execute` listener.

Goals (issue 20, goal 4: the HR overview must not grow with staff): the people list within 3x the bare
route at every size, unfiltered, for one department and for the people not compliant (the search is printed
beside them with its own verdict); the dashboard within 5x at every size; growth of either page from the smallest to
the largest size (1,000 -> 50,000: 50 times the staff) under 2x.
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import count
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))  # run as a plain script: make the `training` package importable

from sqlalchemy import Index, func, select, text  # noqa: E402

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
from training.auth.models import User  # noqa: E402
from training.clock import today  # noqa: E402
from training.compliance.counts import fold_past_days  # noqa: E402
from training.content.service import sync_configured_content  # noqa: E402
from training.demo_bulk import create_bulk_demo  # noqa: E402
from training.extensions import db  # noqa: E402

PEOPLE_PAGE = html_page("<h1>People</h1>")
PAGES = {
    "bare": (BARE_PATH, BARE_PAGE),
    "dashboard": ("/compliance", html_page("<h1>Compliance</h1>")),
    "people": ("/compliance/people", PEOPLE_PAGE),
}
# The people list as HR filters it most, from the dashboard's links and the filter form: one department (the
# largest), the people not compliant, and a search for a surname (a part of the name, email or employee id).
FILTERED_PEOPLE = {
    "department": "/compliance/people?department={department_id}",
    "not compliant": "/compliance/people?status=non_compliant",
    "search": "/compliance/people?q=patel",
}
PEOPLE_VIEWS = ("people", "department", "not compliant")  # the goal's views; search is reported beside them
HR_EMAIL = "hr@demo.example"  # the HR account create_bulk_demo makes
PEOPLE_RATIO_GOAL = 3.0
DASHBOARD_RATIO_GOAL = 5.0
GROWTH_GOAL = 2.0  # for 50 times the staff: sublinear, close to flat
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_dashboard"
PG_SETTINGS = {"random_page_cost": "1.1"}  # docs/operations.md, "Database settings"


@dataclass(frozen=True)
class SizeFigures:
    staff: int
    generate_seconds: float
    rows: dict[str, int]
    median_ms: dict[str, float]
    statements: dict[str, int]

    def ratio(self, page: str) -> float:
        return self.median_ms[page] / self.median_ms["bare"]


def pages_to_time(department_id: int) -> dict:
    """PAGES and the filtered people list views (FILTERED_PEOPLE) of this organisation."""
    views = {name: (path.format(department_id=department_id), PEOPLE_PAGE) for name, path in FILTERED_PEOPLE.items()}
    return PAGES | views


# --- the benchmark's app --------------------------------------------------------------------------


def add_proposed_indexes() -> list[str]:
    """Attach the proposed indexes to the models' tables, so that `create_all` makes them; returns their names.

    ix_user_active_name: the people list is ordered by lower(name) among active people; without an
    index every page sorts all of them.
    """
    indexes: list[Index] = []  # ix_user_active_name, proposed here first, is now in the schema (migration 0004)
    return [index.name for index in indexes]


def load_organisation(
    app, staff: int, pg_settings: dict[str, str] | None = None
) -> tuple[float, dict[str, int], str, int]:
    """A fresh schema, the shipped courses and `staff` people; returns (seconds, row counts, HR password, the id of
    the department with the most active people)."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_configured_content()
        result = create_bulk_demo(staff, seed=1)
        fold_past_days(today())  # as the daily `flask compliance fold` leaves a server with two years of history
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
                name = connection.dialect.identifier_preparer.quote(db.engine.url.database)
                for setting, value in (pg_settings or {}).items():
                    connection.execute(text(f"ALTER DATABASE {name} SET {setting} = {value}"))
        largest = db.session.execute(
            select(User.department_id)
            .where(User.active.is_(True), User.department_id.is_not(None))
            .group_by(User.department_id)
            .order_by(func.count().desc(), User.department_id)
            .limit(1)
        ).scalar_one()
        db.session.remove()
    password = next(account.password for account in result.accounts if account.role == "hr")
    return result.seconds, result.counts, password, largest


def measure_pages(
    database_uri: str, folder: str, password: str, department_id: int, requests: int, warmup: int
) -> tuple[dict, dict]:
    """In a fresh process: median milliseconds and SQL statements per page."""
    app = app_with_bare_page(database_uri, Path(folder))
    client = signed_in_client(app, HR_EMAIL, password)
    pages = pages_to_time(department_id)
    medians = median_ms_per_page(client, pages, requests, warmup)
    statements = {name: count_statements(app, client, *page) for name, page in pages.items()}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return medians, statements


def measure_pages_in_a_fresh_process(*arguments) -> tuple[dict, dict]:
    """measure_pages in a newly spawned process, like a server started after the data was loaded.

    Generating 50,000 people leaves this process slower at everything (the bare page too).
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure_pages, *arguments).result()


def measure_size(database_uri: str, staff: int, arguments: argparse.Namespace) -> SizeFigures:
    measure = measure_pages if arguments.tiny else measure_pages_in_a_fresh_process
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        app = app_with_bare_page(database_uri, Path(folder))
        seconds, rows, password, department_id = load_organisation(app, staff, arguments.pg_settings)
        with app.app_context():
            db.engine.dispose()
        medians, statements = measure(
            database_uri, folder, password, department_id, arguments.requests, arguments.warmup
        )
        with app.app_context():
            db.drop_all()  # the next size starts from an empty PostgreSQL database
            db.engine.dispose()
    return SizeFigures(staff, seconds, rows, medians, statements)


# --- the report -----------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "goal met" if met else "goal missed"


def row(*cells: str) -> None:
    widths = (8, 10, 9, 18, 18, 11, 30)
    print("  " + " ".join(f"{cell:>{width}}" for cell, width in zip(cells, widths, strict=False)))


def report_backend(title: str, figures: list[SizeFigures], requests: int, warmup: int) -> None:
    heading = f"{title}: median of {requests} requests per page after {warmup} warm-ups, signed in as HR"
    print(f"\n{heading}\n{'-' * len(heading)}")
    row("staff", "generate s", "bare ms", "dashboard ms", "people ms", "statements", "rows generated")
    for size in figures:
        row(
            f"{size.staff:,}",
            f"{size.generate_seconds:.1f}",
            f"{size.median_ms['bare']:.2f}",
            f"{size.median_ms['dashboard']:.2f} ({size.ratio('dashboard'):.1f}x)",
            f"{size.median_ms['people']:.2f} ({size.ratio('people'):.1f}x)",
            f"{size.statements['bare']} / {size.statements['dashboard']} / {size.statements['people']}",
            f"{size.rows['completions']:,} completions, {size.rows['obligations']:,} obligations",
        )
    report_people_views(figures)
    worst_people = max(size.ratio(view) for size in figures for view in PEOPLE_VIEWS)
    print(
        f"  people list within {PEOPLE_RATIO_GOAL:g}x bare at every size ({', '.join(PEOPLE_VIEWS)}): "
        f"worst {worst_people:.2f}x -> {verdict(worst_people <= PEOPLE_RATIO_GOAL)}"
    )
    worst_search = max(size.ratio("search") for size in figures)
    print(
        f"  people search within {PEOPLE_RATIO_GOAL:g}x bare at every size: worst {worst_search:.2f}x -> "
        f"{verdict(worst_search <= PEOPLE_RATIO_GOAL)}"
    )
    worst_dashboard = max(size.ratio("dashboard") for size in figures)
    print(
        f"  dashboard within {DASHBOARD_RATIO_GOAL:g}x bare at every size: worst {worst_dashboard:.2f}x -> "
        f"{verdict(worst_dashboard <= DASHBOARD_RATIO_GOAL)}"
    )
    if len(figures) > 1:
        first, last = figures[0], figures[-1]
        growth = {page: last.median_ms[page] / first.median_ms[page] for page in PAGES}
        scale = last.staff / first.staff
        print(
            f"  growth {first.staff:,} -> {last.staff:,} staff ({scale:g}x the staff): "
            + ", ".join(f"{page} {value:.2f}x" for page, value in growth.items())
        )
        worst = max(growth["dashboard"], growth["people"])
        met = verdict(worst < GROWTH_GOAL)
        print(f"  growth well below {scale:g}x (goal: under {GROWTH_GOAL:g}x): worst {worst:.2f}x -> {met}")


def report_people_views(figures: list[SizeFigures]) -> None:
    """The people list filtered as HR filters it, beside the unfiltered list, with the statements of each."""
    print("  people list views, ms (x bare) and statements:")
    for size in figures:
        views = ("people", *FILTERED_PEOPLE)
        cells = [
            f"{view} {size.median_ms[view]:.2f} ({size.ratio(view):.1f}x, {size.statements[view]})" for view in views
        ]
        print(f"  {size.staff:>8,}  " + "; ".join(cells))


def run_backend(title: str, next_uri: Callable[[], str], arguments: argparse.Namespace) -> None:
    figures = []
    for staff in arguments.sizes:
        print(f"  {title}: generating and measuring {staff:,} staff ...", flush=True)
        figures.append(measure_size(next_uri(), staff, arguments))
    report_backend(title, figures, arguments.requests, arguments.warmup)


# --- command line ---------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="300 and 3,000 staff, fewer requests: a smoke check")
    parser.add_argument("--tiny", action="store_true", help="40 and 80 staff, 3 requests, no new process: seconds")
    parser.add_argument("--sizes", default="1000,10000,50000", help="staff counts, comma separated")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per page (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first (default 3)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="scratch PostgreSQL database to create and drop")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--proposed-indexes", action="store_true", help="create the proposed indexes too")
    parser.add_argument(
        "--pg-defaults", action="store_true", help="PostgreSQL's default planner costs, not PG_SETTINGS"
    )
    arguments = parser.parse_args(argv)
    arguments.pg_settings = {} if arguments.pg_defaults else PG_SETTINGS
    if arguments.quick:
        arguments.sizes, arguments.requests, arguments.warmup = "300,3000", 7, 2
    if arguments.tiny:
        arguments.sizes, arguments.requests, arguments.warmup = "40,80", 3, 1
    arguments.sizes = [int(size) for size in arguments.sizes.split(",")]
    return arguments


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    try:
        with stop_on_wrong_page():
            run(parse_arguments(argv))
    finally:
        print(f"\nTotal benchmark time: {time.perf_counter() - started:.1f} s")


def run(arguments: argparse.Namespace) -> None:
    print(
        f"Dashboard benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"sizes {', '.join(f'{size:,}' for size in arguments.sizes)}{mode_label(arguments)}"
    )
    if arguments.proposed_indexes:
        print(f"With the proposed indexes: {', '.join(add_proposed_indexes())}")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-sqlite-") as folder:
        files = (sqlite_file(Path(folder), f"bench-{n}.sqlite3") for n in count(1))
        run_backend("SQLite (temporary file)", files.__next__, arguments)
    if arguments.no_pg:
        print("\nPostgreSQL skipped: --no-pg")
        return
    with scratch_postgresql(arguments.pg_url, skipped="\nPostgreSQL skipped") as database:
        if database is not None:
            uri = database.sqlalchemy_uri
            settings = ", ".join(f"{name} {value}" for name, value in arguments.pg_settings.items()) or "defaults"
            run_backend(f"PostgreSQL ({database.name}, {settings})", lambda: uri, arguments)


if __name__ == "__main__":
    main()
