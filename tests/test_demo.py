"""`flask demo`: the small demo's HR records, and the large organisation written in bulk (`--staff N`)."""

import re
from collections import defaultdict

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import TEST_DATABASE_URL, _pg_uri
from tests.helpers import get_when_prepared
from training import create_app
from training.auth.models import User
from training.certificates.models import Certificate
from training.completions.models import Completion, ModuleProgress
from training.compliance import rules
from training.compliance.models import Obligation, Requirement
from training.compliance.overview import dashboard
from training.content.models import Course
from training.courses.rules import add_months
from training.db import utcnow
from training.extensions import db
from training.quizzes.models import QuizAttempt


def accounts_of(output: str) -> dict[str, tuple[str, str]]:
    """role -> (email, password) from the demo's printed account lines."""
    lines = [line.split() for line in output.splitlines() if "password:" in line]
    return {parts[0]: (parts[1], parts[-1]) for parts in lines}


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


@pytest.fixture
def two_courses(write_course, sync):
    write_course()
    write_course("second-course", "Second Course", questions=(("sc-1", "single"), ("sc-2", "true_false")))
    sync()


@pytest.fixture
def large(runner, two_courses):
    result = runner.invoke(args=["demo", "--staff", "1000", "--seed", "5"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_large_demo_prints_its_time_counts_and_working_accounts(large, auth, client):
    assert re.search(r"Generated in \d+\.\d s: 18 departments, 1,003 people, .* certificates", large)
    accounts = accounts_of(large)
    assert set(accounts) == {"staff", "manager", "hr", "author", "admin"}
    assert auth.login(*accounts["hr"]).status_code == 302
    page = client.get("/compliance/people").get_data(as_text=True)
    assert re.search(r"\d+ people · page 1 of \d+", page)


def test_the_large_demo_shows_every_status_and_department(app, large):
    with app.app_context():
        figures = dashboard()
        assert all(figures.counts[status] > 0 for status in rules.STATUSES), figures.counts
        assert len([d for d in figures.departments if d.id is not None]) == 18
        assert 0 < figures.rate < 100


def test_the_large_demo_staff_have_hr_records_and_a_manager_in_their_department(app, large):
    with app.app_context():
        people = db.session.execute(select(User)).scalars().all()
        assert len(people) == 1003
        assert len({p.employee_id for p in people}) == 1003
        assert all(re.fullmatch(r"E\d{6}", p.employee_id) and p.hire_date for p in people)
        by_id = {p.id: p for p in people}
        managers = [p for p in people if p.role == "manager"]
        assert len({m.department_id for m in managers}) == len(managers) == 18
        for person in people:
            if person.role == "staff":
                manager = by_id[person.manager_id]
                assert (manager.role, manager.department_id) == ("manager", person.department_id)
        assert count(User, User.active.is_(False)) > 0
        assert count(Obligation, Obligation.user_id.in_(select(User.id).where(User.active.is_(False)))) == 0


def test_the_large_demo_history_is_what_the_services_would_have_written(app, large):
    with app.app_context():
        completions = db.session.execute(select(Completion)).scalars().all()
        attempts = {a.id: a for a in db.session.execute(select(QuizAttempt)).scalars()}
        certificates = {c.completion_id: c for c in db.session.execute(select(Certificate)).scalars()}
        names = dict(db.session.execute(select(User.id, User.name)).all())
        cycles = defaultdict(list)
        for completion in completions:
            cycles[(completion.user_id, completion.course_id)].append(completion.cycle)
            attempt = attempts[completion.attempt_id]
            assert attempt.passed and attempt.score == completion.score >= attempt.pass_mark
            assert (attempt.user_id, attempt.course_id, attempt.cycle) == (
                completion.user_id,
                completion.course_id,
                completion.cycle,
            )
            assert completion.completed_at == attempt.submitted_at
            assert completion.expires_at == add_months(completion.completed_at, 12)
            certificate = certificates[completion.id]
            assert (certificate.recipient_name, certificate.score) == (names[completion.user_id], completion.score)
            assert (certificate.completed_at, certificate.expires_at) == (
                completion.completed_at,
                completion.expires_at,
            )
        assert all(sorted(c) == list(range(len(c))) for c in cycles.values())
        assert len(certificates) == len(completions) > 1000
        assert len({c.serial for c in certificates.values()}) == len(certificates)
        assert any(not a.passed for a in attempts.values())
        assert count(ModuleProgress) > 0
        added = dict(db.session.execute(select(User.id, User.created_at)).all())
        now = utcnow()
        assert all(added[a.user_id] <= a.started_at < a.submitted_at < now for a in attempts.values())
        progress = db.session.execute(select(ModuleProgress.user_id, ModuleProgress.completed_at)).all()
        assert all(added[user_id] <= moment < now for user_id, moment in progress)
        assert count(Requirement) == 4 and count(Requirement, Requirement.department_id.is_not(None)) == 2


def test_a_bulk_certificate_is_rendered_by_a_job_on_first_download(app, large, auth, client):
    with app.app_context():
        serial = db.session.scalar(select(Certificate.serial).order_by(Certificate.id).limit(1))
    auth.login(*accounts_of(large)["hr"])
    assert client.get(f"/certificates/{serial}.pdf").status_code == 202, "being prepared: the file was never rendered"
    response = get_when_prepared(app, client, f"/certificates/{serial}.pdf")
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF")


def test_the_large_demo_refuses_a_database_with_users(app, runner, large):
    again = runner.invoke(args=["demo", "--staff", "50"])
    assert again.exit_code != 0 and "already has users" in again.output
    skipped = runner.invoke(args=["demo", "--staff", "50", "--if-empty"])
    assert skipped.exit_code == 0 and "Demo not created" in skipped.output
    with app.app_context():
        assert count(User) == 1003


def test_the_large_demo_needs_content_and_sensible_options(app, runner):
    no_content = runner.invoke(args=["demo", "--staff", "50"])
    assert no_content.exit_code != 0 and "flask content sync" in no_content.output
    assert runner.invoke(args=["demo", "--staff", "5"]).exit_code == 2
    assert runner.invoke(args=["demo", "--staff", "50", "--years", "0"]).exit_code == 2
    years_alone = runner.invoke(args=["demo", "--years", "3"])
    assert years_alone.exit_code == 2 and "--years only applies with --staff" in years_alone.output
    with app.app_context():
        assert count(User) == 0


def test_demo_help_describes_both_sizes(runner):
    output = runner.invoke(args=["demo", "--help"]).output
    assert "--staff" in output and "--years" in output and "in bulk" in output


def test_the_small_demo_gives_hr_rules_staff_records_and_a_ward_manager(app, runner, two_courses, auth, client):
    result = runner.invoke(args=["demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        people = db.session.execute(select(User)).scalars().all()
        assert len({p.employee_id for p in people if p.employee_id}) == 41
        first_activity = dict(
            db.session.execute(
                select(ModuleProgress.user_id, func.min(ModuleProgress.completed_at)).group_by(ModuleProgress.user_id)
            ).all()
        )
        assert all(p.hire_date < first_activity[p.id].date() for p in people if p.id in first_activity)
        manager = next(p for p in people if p.role == "manager")
        ward = [p for p in people if p.department_id == manager.department_id and p.id != manager.id]
        assert ward and all(p.manager_id == manager.id for p in ward)
        assert count(Requirement, Requirement.department_id.is_(None)) == 2
        assert count(Obligation) == 2 * 41
        counts = dashboard().counts
        assert counts[rules.OVERDUE] and counts[rules.DUE_SOON] and counts[rules.COMPLETED]
    auth.login(*accounts_of(result.output)["hr"])
    assert "compliant" in client.get("/compliance").get_data(as_text=True)


# --- no default accounts (ASVS 6.3.2) -------------------------------------------------------------


@pytest.fixture(params=["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else []))
def fresh_database_uri(request, tmp_path):
    """An empty database: a file on SQLite, or a scratch database named after the test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    base, test_database = _pg_uri().rsplit("/", 1)
    scratch = f"{test_database}_fresh"
    admin = create_engine(_pg_uri(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {scratch}"))
    yield f"{base}/{scratch}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
    admin.dispose()


# Alembic reads the schema back on SQLite, which cannot reflect the expression index (see test_migrations.py).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_upgrading_and_loading_the_shipped_content_create_no_accounts(fresh_database_uri):
    """Only `flask demo` ever makes accounts by itself; a new site starts with none."""
    fresh = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_database_uri})
    runner = fresh.test_cli_runner()
    assert fresh.config["TRAINING_ENV"] == "production"
    for command in (["db", "upgrade"], ["content", "sync"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    with fresh.app_context():
        assert count(Course) > 0, "the shipped courses are loaded"
        assert count(User) == 0
        db.session.remove()
        db.engine.dispose()


def test_the_demo_refuses_a_production_site_unless_told_it_is_one(app, runner, two_courses):
    app.config["TRAINING_ENV"] = "production"
    refused = runner.invoke(args=["demo", "--if-empty"])
    assert refused.exit_code == 1 and "TRAINING_ENV is production" in refused.output
    assert "--yes-in-production" in refused.output
    assert runner.invoke(args=["demo", "--staff", "50"]).exit_code == 1
    with app.app_context():
        assert count(User) == 0
    forced = runner.invoke(args=["demo", "--yes-in-production", "--seed", "2"])
    assert forced.exit_code == 0, forced.output
    assert "warning: creating demo accounts with TRAINING_ENV=production" in forced.output
    assert set(accounts_of(forced.output)) == {"staff", "manager", "hr", "author", "admin"}


def test_demo_help_explains_the_production_guard(runner):
    assert "--yes-in-production" in runner.invoke(args=["demo", "--help"]).output
