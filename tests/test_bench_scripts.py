"""Each benchmark script runs in its tiny configuration and prints the figures it exists to print.

The scripts run as `make bench*` runs them: this interpreter, from the project root, with the
environment's own defaults for the app stated (TRAINING_ENV=production, MFA_REQUIRED=1), so a script
that leans on the environment instead of stating the settings it needs fails here. The scratch
PostgreSQL databases are named after the test database in use (`<its name>_bench_<script>`) and
load.py's Redis database is the worker's own (`redis_test_url`), so that pytest-xdist workers do not
share them.
"""

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import make_url

from bench.common import (
    BARE_PAGE,
    BARE_PATH,
    ZIP_FILE,
    NotThePage,
    ScratchDatabase,
    app_with_bare_page,
    html_page,
    signed_in_client,
    stop_on_wrong_page,
    timed_get,
    what_is_wrong,
)
from tests.conftest import PASSWORD, TEST_DATABASE_URL, redis_test_url, scratch_database_name
from training.auth.users import create_user
from training.config import PROJECT_ROOT
from training.extensions import db

FIGURE = r"[\d,]+\.\d+"  # a printed measurement such as 12.34 or 1,908.6
GOAL = r"-> goal (met|missed)"
PRODUCTION_DEFAULTS = {"TRAINING_ENV": "production", "MFA_REQUIRED": "1"}


def run_tiny(script: str, *arguments: str, timeout: float = 120) -> str:
    """Run bench/<script> --tiny as a program; returns its standard output, failing on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--tiny", *arguments],
        cwd=PROJECT_ROOT,
        env=os.environ | PRODUCTION_DEFAULTS,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def assert_lines(output: str, *patterns: str, times: int = 1) -> None:
    """Every pattern matches exactly `times` lines of the output."""
    for pattern in patterns:
        found = re.findall(f"^{pattern}", output, re.MULTILINE)
        assert len(found) == times, f"{len(found)} lines, not {times}, match {pattern!r} in:\n{output}"


def section(output: str, title: str) -> str:
    """The lines of the report from the heading that starts with `title` to the next blank line."""
    start = output.index(f"\n{title}") + 1
    end = output.find("\n\n", start)
    return output[start : end if end >= 0 else None]


def scratch_database(purpose: str) -> ScratchDatabase:
    """A PostgreSQL database named after the test database in use, left over from no earlier run."""
    url = make_url(TEST_DATABASE_URL).set(database=scratch_database_name(purpose))
    database = ScratchDatabase(url.render_as_string(hide_password=False))
    database.drop()  # only a stopped run of this same test can have left it
    return database


@pytest.fixture
def postgresql_arguments():
    """For a script that measures PostgreSQL too: (its arguments, the report's titles) when TEST_DATABASE_URL is set.

    Each database is checked afterwards: the script must have dropped it.
    """
    made = []

    def arguments_for(purpose: str) -> tuple[list[str], list[str]]:
        if not TEST_DATABASE_URL:
            return [], []
        made.append(scratch_database(purpose))
        return ["--pg-url", made[-1].url], [f"PostgreSQL ({made[-1].name})"]

    yield arguments_for
    left = [database.name for database in made if database.exists()]
    for database in made:
        database.drop()
    assert not left, f"the script left {left} behind"


# --- each script, tiny ----------------------------------------------------------------------------


def test_certificates_prints_render_memory_and_zip_figures():
    output = run_tiny("certificates.py")
    assert_lines(
        output,
        rf"  median ms per render\s+{FIGURE}\s+{FIGURE}\s+{FIGURE}x",
        rf"  certificate <= 3x bare page \(median\): {FIGURE}x {GOAL}",
        rf"  certificate growth < 10% from render 2 to 4: [+-]{FIGURE}% {GOAL}",
        rf"  ZIP: build_zip \(the job's work\)\s+{FIGURE}\s+{FIGURE} MiB/s",
        rf"  HTTP: ask, run the job, download\s+{FIGURE}\s+{FIGURE} MiB/s\s+{FIGURE}x  checked: HTTP 200, a ZIP",
        rf"  served at disk speed, not render speed .* {GOAL}",
    )


def test_dashboard_prints_each_page_against_the_bare_page_at_two_sizes(postgresql_arguments):
    pg_arguments, pg_backends = postgresql_arguments("bench_dashboard")
    output = run_tiny("dashboard.py", *(pg_arguments or ["--no-pg"]))
    with_planner_setting = [title.removesuffix(")") + ", random_page_cost 1.1)" for title in pg_backends]
    backends = ["SQLite (temporary file)", *with_planner_setting]
    for title in backends:
        assert_lines(output, rf"{re.escape(title)}: median of 3 requests per page after 1 warm-ups, signed in as HR")
    row = rf"\s+{FIGURE}\s+{FIGURE}\s+{FIGURE} \({FIGURE}x\)\s+{FIGURE} \({FIGURE}x\)\s+\d+ / \d+ / \d+ "
    assert_lines(
        output,
        rf"\s+40{row}",
        rf"\s+80{row}",
        r"  people list views, ms \(x bare\) and statements:",
        rf"\s+40  people {FIGURE} \({FIGURE}x, \d+\); department {FIGURE} .*; not compliant .*; search .*",
        rf"\s+80  people {FIGURE} \({FIGURE}x, \d+\); department {FIGURE} .*; not compliant .*; search .*",
        rf"  people list within 3x bare at every size \(people, department, not compliant\): worst {FIGURE}x {GOAL}",
        rf"  people search within 3x bare at every size: worst {FIGURE}x {GOAL}",
        rf"  growth 40 -> 80 staff \(2x the staff\): bare {FIGURE}x, dashboard {FIGURE}x, people {FIGURE}x",
        rf"  growth well below 2x .*: worst {FIGURE}x {GOAL}",
        times=len(backends),
    )


def test_item_stats_prints_each_page_against_the_bare_page(postgresql_arguments):
    pg_arguments, pg_backends = postgresql_arguments("bench_item_stats")
    output = run_tiny("item_stats.py", *pg_arguments)
    backends = ["SQLite (temporary file)", *pg_backends]
    for title in backends:
        assert_lines(output, rf"{re.escape(title)}, 60 attempts of 30 learners, median of 3 requests:")
    assert_lines(
        output,
        rf"\s+bare:\s+{FIGURE} ms \(\s+1\.0x bare\), \d+ statements",
        rf"\s+overview:\s+{FIGURE} ms \(\s*{FIGURE}x bare\), \d+ statements",
        rf"\s+question:\s+{FIGURE} ms \(\s*{FIGURE}x bare\), \d+ statements",
        times=len(backends),
    )


def test_feed_prints_the_sync_against_the_import_for_both_runs(postgresql_arguments):
    pg_arguments, pg_backends = postgresql_arguments("bench_feed")
    output = run_tiny("feed.py", *pg_arguments)
    backends = ["SQLite (temporary file)", *pg_backends]
    for title in backends:
        assert_lines(output, rf"{re.escape(title)}, 200 rows:")
    versus = rf"import --apply {FIGURE} s, sync {FIGURE} s \({FIGURE}x the import\)"
    assert_lines(
        output,
        rf"  first run, creating 200 people: {versus}",
        rf"  second run, 5% changed \(2 new, 2 left, 3 moved, 3 new job titles\): {versus}",
        times=len(backends),
    )


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="bench/load.py serves from PostgreSQL only: set TEST_DATABASE_URL")
def test_load_prints_learner_and_hello_world_figures_and_its_goals(postgresql_arguments):
    pg_arguments, _ = postgresql_arguments("bench_load")
    redis_url = redis_test_url(1)  # 1 to 4: not the sign-in throttle tests' 11 to 14, nor make bench-load's 13
    output = run_tiny("load.py", *pg_arguments, "--redis-url", redis_url)
    figures = rf"\s+[\d,]+\s+{FIGURE}" + rf"\s+{FIGURE}" * 4 + r"\s+0"
    assert_lines(output, rf"Redis at {re.escape(redis_url)}: ", rf"  sign-in{figures}")
    assert_lines(section(output, "Learners, saturated"), rf"  all learner pages{figures}")
    assert_lines(section(output, "Hello-world, saturated"), rf"  hello-world{figures}")
    assert_lines(
        output,
        r"  no errors: 0 error\(s\) in every phase together -> goal met",
        rf"  learner pages at 0.2x or more of hello-world throughput: .* = {FIGURE}x {GOAL}",
        rf"  p99 under 50 ms \(learners, saturated\): {FIGURE} ms {GOAL}",
    )


# --- a response that is not the page meant is refused, not timed ----------------------------------


@pytest.mark.parametrize(
    ("expected", "status", "content_type", "body", "location", "fault"),
    [
        (BARE_PAGE, 302, "text/html", b"", "/login", "HTTP 302 redirecting to /login, expected 200"),
        (BARE_PAGE, 500, "text/html", b"<title>Bare page ", "", "HTTP 500, expected 200"),
        (BARE_PAGE, 200, "text/html", b"<title>Sign in ", "", "no b'<title>Bare page ' in the body"),
        (ZIP_FILE, 200, "text/html; charset=utf-8", b"PK\x03\x04", "", "content type 'text/html; charset=utf-8'"),
        (ZIP_FILE, 200, "application/zip", b"<html>PK\x03\x04", "", "no b'PK\\x03\\x04' at the start"),
        (ZIP_FILE, 200, "application/zip", b"PK\x03\x04...", "", ""),
    ],
)
def test_what_is_wrong_with_a_response_names_the_fault(expected, status, content_type, body, location, fault):
    found = what_is_wrong(expected, status, content_type, body, location)
    assert found.startswith(fault) if fault else found == ""


@pytest.fixture
def bench_app_with_hr(tmp_path, monkeypatch):
    """The benchmarks' app on a SQLite file, with an HR account; the environment says production."""
    for name, value in PRODUCTION_DEFAULTS.items():
        monkeypatch.setenv(name, value)
    app = app_with_bare_page(f"sqlite:///{tmp_path / 'bench.sqlite3'}", tmp_path)
    with app.app_context():
        db.create_all()
        create_user("hr@bench.example", "HR Bench", PASSWORD, role="hr")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_redirect_is_refused_rather_than_timed(bench_app_with_hr):
    client = signed_in_client(bench_app_with_hr, "hr@bench.example", PASSWORD)
    assert timed_get(client, BARE_PATH, BARE_PAGE) > 0
    with pytest.raises(NotThePage, match=r"^GET /login: HTTP 302 redirecting to /, expected 200$"):
        timed_get(client, "/login", html_page("<h1>Sign in</h1>"))  # signed in already: a redirect home


def test_a_wrong_page_ends_the_run_with_a_non_zero_exit_and_the_reason(bench_app_with_hr):
    client = signed_in_client(bench_app_with_hr, "hr@bench.example", PASSWORD)
    with pytest.raises(SystemExit) as stopped, stop_on_wrong_page():
        timed_get(client, "/login", html_page("<h1>Sign in</h1>"))
    assert stopped.value.code.endswith(
        "not the page meant to be timed: GET /login: HTTP 302 redirecting to /, expected 200"
    )


def test_sso_prints_the_openid_connect_round_trip_against_the_password_sign_in():
    output = run_tiny("sso.py")
    assert_lines(output, r"SQLite \(temporary file\), oidc-provider on loopback, median of 3 sign-ins of each kind:")
    assert_lines(
        output,
        rf"  password sign-in:\s+{FIGURE} ms \(\s+1\.0x password\)",
        rf"  OpenID Connect round trip:\s+{FIGURE} ms \(\s*{FIGURE}x password\)",
        rf"    of which our callback:\s+{FIGURE} ms \(\s*{FIGURE}x password\)",
    )


def test_sso_saml_prints_each_leg_of_a_sign_in_through_simplesamlphp():
    output = run_tiny("sso_saml.py")
    assert_lines(
        output,
        r"SAML sign-in round trip through SimpleSAMLphp, median of 3 sign-ins",
        rf"  GET /sso/saml/login\s+{FIGURE} ms",
        rf"  IdP \(SimpleSAMLphp\)\s+{FIGURE} ms",
        rf"  POST /sso/saml/acs\s+{FIGURE} ms",
        rf"  round trip\s+{FIGURE} ms",
    )


def test_scim_prints_users_per_second_for_create_and_patch_against_a_bare_get():
    output = run_tiny("scim.py")
    assert_lines(
        output,
        r"SQLite \(temporary file\), 20 users through /scim/v2 with the Flask test client:",
        rf"  bare GET /ServiceProviderConfig\s+{FIGURE} requests/s \(1\.0x\)",
        rf"  POST /Users \(create\)\s+{FIGURE} users/s\s+\({FIGURE}x bare\)",
        rf"  PATCH /Users/<id> \(Entra-style\)\s+{FIGURE} users/s\s+\({FIGURE}x bare\)",
    )


def test_exports_prints_asking_the_packet_and_zip_memory():
    output = run_tiny("exports.py")
    assert_lines(
        output,
        rf"  slowest ask {FIGURE} ms; a double click finds the same job: True {GOAL}",
        rf"  packet ready in {FIGURE} s {GOAL}",
        rf"  peak memory [\d,]+ -> [\d,]+ certificates: [+-]{FIGURE}% {GOAL}",
        rf"  CSV export {FIGURE} s {GOAL}",
        rf"  Excel job done: {FIGURE} s, [\d,]+ rows, {FIGURE} MiB",
    )


def test_transcript_prints_each_page_at_two_history_sizes_and_its_goals(postgresql_arguments):
    pg_arguments, pg_backends = postgresql_arguments("bench_transcript")
    output = run_tiny("transcript.py", *(pg_arguments or ["--no-pg"]))
    backends = ["SQLite (temporary file)", *pg_backends]
    for title in backends:
        assert_lines(output, rf"{re.escape(title)}: median of 3 requests per page after 1 warm-ups")
    cell = rf"\s+{FIGURE} /\s+{FIGURE} /\s+\d+"
    assert_lines(
        output,
        rf"\s+100{cell * 4}$",
        rf"\s+200{cell * 4}$",
        rf"  every page under 60 KB at every size: largest {FIGURE} KB {GOAL}",
        rf"  statements the same at every size: transcript \d+, last page \d+, HR person \d+ {GOAL}",
        rf"  time growth 100 -> 200 attempts under 1.5x: .*; worst {FIGURE}x {GOAL}",
        times=len(backends),
    )
