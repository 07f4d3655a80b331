"""The overview's counts: the dashboard read from them equals the aggregate over every obligation, they follow each
change of obligations (HTTP, and many at once), and `flask compliance reconcile` finds and fixes any drift."""

from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import pytest
from sqlalchemy import case, func, select, update

from tests.concurrency import POOL, at_once, copies
from tests.conftest import Auth, csrf_token
from tests.helpers import complete_course, start_quiz
from tests.test_compliance_queries import organisation
from tests.test_staff import person_form
from training.audit.models import AuditEvent
from training.auth.models import Department, User
from training.clock import today
from training.compliance import overview
from training.compliance.counts import FOLDED, fold_past_days
from training.compliance.models import FirstBreachCount, Obligation, ObligationCount, PeopleCount
from training.compliance.status import non_compliant_condition, status_conditions
from training.config import engine_options
from training.extensions import db


@pytest.fixture
def app_config(backend):
    """A pool large enough for every request of the race to hold its own connection at once."""
    return {"SQLALCHEMY_ENGINE_OPTIONS": engine_options(f"{backend}://") | POOL}


@pytest.fixture
def hr(make_user):
    return make_user("hr", email="hr@example.org", name="Harper HR")


def reconcile(runner, *options):
    return runner.invoke(args=["compliance", "reconcile", *options])


def people_per_department() -> dict[str, int]:
    return {d.name: d.people for d in overview.dashboard().departments}


def assert_no_drift(runner):
    result = reconcile(runner)
    assert result.exit_code == 0, result.output
    assert "No drift" in result.output


# --- the dashboard as it was: aggregates over every obligation ------------------------------------------------


def aggregate_dashboard(department_id, on, window) -> tuple[dict[str, int], list[tuple]]:
    """Counts per status and (department id, name, people, behind) by name, computed over the obligations."""
    conditions = status_conditions(on, window)
    scope = [] if department_id is None else [Obligation.department_id == department_id]
    sums = [func.coalesce(func.sum(case((condition, 1), else_=0)), 0) for condition in conditions.values()]
    counts = dict(zip(conditions, db.session.execute(select(*sums).where(*scope)).one(), strict=True))
    behind = case((non_compliant_condition(on), Obligation.user_id))
    rows = db.session.execute(
        select(
            Obligation.department_id,
            Department.name,
            func.count(func.distinct(Obligation.user_id)),
            func.count(func.distinct(behind)),
        )
        .outerjoin(Department, Department.id == Obligation.department_id)
        .where(*scope)
        .group_by(Obligation.department_id, Department.name)
        .order_by(Department.name.is_(None), Department.name)
    ).all()
    return counts, [(dep_id, name or "No department", people, late) for dep_id, name, people, late in rows]


def counted_dashboard(department_id, on) -> tuple[dict[str, int], list[tuple]]:
    figures = overview.dashboard(department_id, now=datetime.combine(on, time(12), tzinfo=UTC))
    assert figures.on == on
    return figures.counts, [(d.id, d.name, d.people, d.non_compliant) for d in figures.departments]


def assert_counted_as_aggregated(days, window) -> None:
    """The dashboard read from the counts equals the aggregate over every obligation, on each of `days`, for
    everyone and for each department."""
    scopes = [None, *db.session.execute(select(Department.id)).scalars()]
    for on in days:
        for department_id in scopes:
            expected = aggregate_dashboard(department_id, on, window)
            assert counted_dashboard(department_id, on) == expected, (on, department_id)


def dates_to_check(days, window) -> list:
    """Around a sample of the obligations' deciding days: the day itself and the edges of the due-soon window."""
    sample = sorted(days)[:: max(1, len(days) // 8)]
    return sorted(
        {d + timedelta(days=shift) for d in sample for shift in (-1, 0, 1, -window - 1, -window, -window + 1)}
    )


def test_the_dashboard_from_the_counts_equals_the_aggregate_over_obligations(
    app, content_dirs, write_course, make_user, runner
):
    write_course("privacy", "Privacy Basics", questions=(("pb-1", "single"), ("pb-2", "true_false")))
    write_course("photos", "Photos on the Ward", questions=(("pw-1", "single"), ("pw-2", "multiple")))
    organisation(app, content_dirs, 120)
    make_user(department=None, hire_date=datetime.now(UTC).date())  # someone without a department
    with app.app_context():
        window = app.config.get("COMPLIANCE_DUE_SOON_DAYS", 30)
        rows = db.session.execute(select(Obligation.due_on, Obligation.completed_on, Obligation.valid_until)).all()
        days = {until if done else due for due, done, until in rows if until or not done}
        started_open = db.session.execute(
            select(func.count()).where(Obligation.started.is_(True), Obligation.completed_on.is_(None))
        ).scalar_one()
        scopes = [None, *db.session.execute(select(Department.id)).scalars()]
        assert len(rows) > 200 and len(days) > 20 and started_open > 0 and len(scopes) > 3
        assert db.session.execute(select(Obligation.id).where(Obligation.department_id.is_(None))).first()
        assert_counted_as_aggregated(dates_to_check(days, window), window)
    assert_no_drift(runner)


def past_rows(model) -> list[tuple]:
    return db.session.execute(select(model).where(model.day < today())).scalars().all()


def test_folding_the_past_days_changes_no_figure_from_today_on(app, content_dirs, write_course, runner):
    """`flask compliance fold` leaves one row per bucket for the days gone by; every figure of today and later is
    unchanged, also after a change that names a folded day (someone overdue deactivated), until the next fold."""
    write_course("privacy", "Privacy Basics", questions=(("pb-1", "single"), ("pb-2", "true_false")))
    organisation(app, content_dirs, 120)
    with app.app_context():
        window = app.config.get("COMPLIANCE_DUE_SOON_DAYS", 30)
        on = today()
        days = [on + timedelta(days=shift) for shift in (0, 1, window - 1, window, window + 1, 400)]
        scopes = [None, *db.session.execute(select(Department.id)).scalars()]
        assert len(past_rows(FirstBreachCount)) > len(scopes)  # two years of history: many past days per department
        overdue = db.session.execute(
            select(User.email).join(Obligation).where(User.active.is_(True), non_compliant_condition(on)).limit(1)
        ).scalar_one()
    result = runner.invoke(args=["compliance", "fold"])
    assert result.exit_code == 0 and result.output.startswith("Folded "), result.output
    with app.app_context():
        for model in (FirstBreachCount, ObligationCount):
            rows = past_rows(model)
            assert {row.day for row in rows} == {FOLDED}
        assert len(past_rows(FirstBreachCount)) <= len(scopes)
    assert_no_drift(runner)
    assert runner.invoke(args=["users", "deactivate", overdue]).exit_code == 0
    with app.app_context():  # their first breach day, folded, is written again: a row of -1
        assert [row.people for row in past_rows(FirstBreachCount) if row.day != FOLDED] == [-1]
    for _ in range(2):
        with app.app_context():
            assert_counted_as_aggregated(days, window)
        assert_no_drift(runner)
        assert runner.invoke(args=["compliance", "fold"]).exit_code == 0
    with app.app_context():
        assert {row.day for row in past_rows(FirstBreachCount)} == {FOLDED}
    assert runner.invoke(args=["compliance", "fold"]).output == "Nothing to fold: no rows of past days.\n"


def fold_now(app) -> int:
    with app.app_context():
        folded = fold_past_days(today())
        db.session.commit()
        return folded


def test_folding_while_hr_deactivates_overdue_people_loses_no_count(app, content_dirs, write_course, runner):
    """Two folds at the moment up to eight overdue people are deactivated (their first breach days among the folded
    ones): every request succeeds, reconcile finds no drift and the dashboard equals the aggregate."""
    write_course("privacy", "Privacy Basics", questions=(("pb-1", "single"), ("pb-2", "true_false")))
    passwords, _ = organisation(app, content_dirs, 60)
    with app.app_context():
        window = app.config.get("COMPLIANCE_DUE_SOON_DAYS", 30)
        overdue = (
            db.session.execute(
                select(User.id)
                .join(Obligation)
                .where(User.active.is_(True), User.role == "staff", non_compliant_condition(today()))
                .group_by(User.id)
                .limit(8)
            )
            .scalars()
            .all()
        )
    assert len(overdue) >= 4  # the generator's history, counted back from today: six on the day this was written
    browser = app.test_client()
    assert Auth(browser).login("hr@demo.example", passwords["hr"]).status_code == 302
    token = csrf_token(browser, f"/staff/{overdue[0]}/deactivate")
    calls = [
        partial(client.post, f"/staff/{person}/deactivate", data={"csrf_token": token})
        for client, person in zip(copies(app, browser, len(overdue)), overdue, strict=True)
    ]
    outcome = at_once(app, [*calls, partial(fold_now, app), partial(fold_now, app)])
    assert outcome.tally() == {302: len(overdue), 200: 2}, outcome.errors()
    assert_no_drift(runner)
    with app.app_context():
        assert_counted_as_aggregated([today()], window)


# --- the counts follow every change -----------------------------------------------------------------------------


def test_the_counts_follow_moves_deactivations_starts_and_completions(
    app, auth, course, make_user, make_requirement, hr, runner
):
    mover = make_user(department="Emergency", name="Moving Mo")
    leaver = make_user(department="Emergency", name="Leaving Lee")
    learner = make_user(department="Radiology", name="Learning Lou")
    make_requirement(course)
    assert_no_drift(runner)
    with app.app_context():
        radiology = db.session.execute(select(Department.id).where(Department.name == "Radiology")).scalar_one()
    auth.login(hr)
    edit = person_form(name=mover.name, email=mover.email, department=str(radiology), employee_id="")
    assert auth.post(f"/staff/{mover.id}/edit", edit, token_from="/staff").status_code == 302
    assert_no_drift(runner)
    assert auth.post(f"/staff/{leaver.id}/deactivate", token_from="/staff").status_code == 302
    assert_no_drift(runner)
    auth.logout()
    auth.login(learner)
    start_quiz(auth, course)
    assert_no_drift(runner)
    complete_course(app, auth)
    assert_no_drift(runner)
    auth.logout()
    with app.app_context():
        figures = overview.dashboard()
    assert [(d.name, d.people) for d in figures.departments] == [("Radiology", 2), ("No department", 1)]


def test_people_of_one_department_changing_at_once_are_all_counted(app, course, make_user, make_requirement, hr):
    """Twenty HR requests at the same moment, each moving or deactivating someone of Emergency: on PostgreSQL
    each with its own connection, the counts' rows shared by all of them; then reconcile finds no drift."""
    people = [make_user(department="Emergency") for _ in range(20)]
    make_user(department="Radiology")
    make_requirement(course, due_within_days=0)
    with app.app_context():
        radiology = db.session.execute(select(Department.id).where(Department.name == "Radiology")).scalar_one()
    browser = app.test_client()
    assert Auth(browser).login(hr).status_code == 302
    token = csrf_token(browser, f"/staff/{people[0].id}/deactivate")
    clients = copies(app, browser)
    calls = []
    for client, person in zip(clients, people, strict=True):
        if person.id % 2:
            form = person_form(name=person.name, email=person.email, department=str(radiology), employee_id="")
            calls.append(partial(client.post, f"/staff/{person.id}/edit", data=form | {"csrf_token": token}))
        else:
            calls.append(partial(client.post, f"/staff/{person.id}/deactivate", data={"csrf_token": token}))
    outcome = at_once(app, calls)
    assert outcome.tally() == {302: 20}, outcome.errors()
    assert_no_drift(app.test_cli_runner())
    with app.app_context():
        moved = sum(1 for person in people if person.id % 2)
        assert people_per_department() == {"Radiology": moved + 1, "No department": 1}
        assert overview.dashboard().counts["due_soon"] == moved + 2


# --- reconcile ------------------------------------------------------------------------------------------------------


def test_reconcile_reports_each_drifting_row_and_fixes_it_with_an_audit_event(
    app, course, make_user, make_requirement, runner
):
    make_user(department="Emergency")
    make_requirement(course)
    with app.app_context():
        db.session.execute(update(ObligationCount).values(obligations=ObligationCount.obligations + 2))
        db.session.execute(FirstBreachCount.__table__.delete())
        db.session.add(
            ObligationCount(department_key=99, completed=True, started=False, day=date(2030, 1, 1), obligations=3)
        )
        db.session.commit()
        emergency = db.session.execute(select(User.department_id).where(User.department_id.is_not(None))).first()[0]
    result = reconcile(runner)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith(f"obligation_count ({emergency}, False, False, ") for line in lines), lines
    assert any(
        line.startswith(f"first_breach_count ({emergency}, ") and "stored 0, recomputed 1" in line for line in lines
    )
    assert "Run with --fix" in lines[-1]
    fixed = reconcile(runner, "--fix")
    assert fixed.exit_code == 0 and "Fixed" in fixed.output
    assert_no_drift(runner)
    with app.app_context():
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "compliance.counts_reconciled")
        ).scalar_one()
        assert event.actor_id is None and event.details["tables"] == ["first_breach_count", "obligation_count"]


def test_deactivating_an_account_from_the_command_line_takes_it_out_of_the_counts(
    app, course, make_user, make_requirement, runner
):
    leaver = make_user(department="Emergency")
    make_user(department="Emergency")
    make_requirement(course)
    assert runner.invoke(args=["users", "deactivate", leaver.email]).exit_code == 0
    with app.app_context():
        assert people_per_department() == {"Emergency": 1, "No department": 1}  # the rule maker has no department
    assert_no_drift(runner)
    assert runner.invoke(args=["users", "activate", leaver.email]).exit_code == 0
    with app.app_context():
        assert people_per_department() == {"Emergency": 2, "No department": 1}
    assert_no_drift(runner)


# --- the people list's totals ------------------------------------------------------------------------------------


def listed_total(client, query: str = "") -> str:
    page = client.get(f"/compliance/people{query}").get_data(as_text=True)
    return page.split('<p class="meta">', 1)[1].split(" ", 1)[0]


def counted_people(department_id=None, behind_on=None) -> int:
    """Active people (of a department; with an overdue or expired obligation on `behind_on`), counted over the rows."""
    query = select(func.count()).select_from(User).where(User.active.is_(True))
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if behind_on is not None:
        behind = select(Obligation.user_id).where(Obligation.user_id == User.id, non_compliant_condition(behind_on))
        query = query.where(behind.exists())
    return db.session.execute(query).scalar_one()


def test_the_people_list_totals_from_the_kept_counts_equal_the_people_counted(
    app, client, auth, content_dirs, write_course, runner
):
    """Everyone, each department, the people not compliant and both: the total shown is the number of people."""
    write_course("privacy", "Privacy Basics", questions=(("pb-1", "single"), ("pb-2", "true_false")))
    passwords, _ = organisation(app, content_dirs, 120)
    assert auth.login("hr@demo.example", passwords["hr"]).status_code == 302
    with app.app_context():
        on = datetime.now(UTC).date()
        departments = list(db.session.execute(select(Department.id)).scalars())
        expected = {"": counted_people(), "?status=non_compliant": counted_people(behind_on=on)}
        for department_id in departments:
            expected[f"?department={department_id}"] = counted_people(department_id)
            expected[f"?department={department_id}&status=non_compliant"] = counted_people(department_id, on)
    assert expected[""] > 100 and expected["?status=non_compliant"] > 0 and len(departments) > 3
    assert {query: listed_total(client, query) for query in expected} == {q: str(n) for q, n in expected.items()}
    assert_no_drift(runner)


def test_the_people_count_follows_new_moved_deactivated_and_reactivated_people(app, auth, make_user, hr, runner):
    mover = make_user(department="Emergency", name="Moving Mo")
    leaver = make_user(department="Emergency", name="Leaving Lee")
    make_user(department="Radiology", name="Staying Sam")
    with app.app_context():
        radiology = db.session.execute(select(Department.id).where(Department.name == "Radiology")).scalar_one()
        emergency = db.session.execute(select(Department.id).where(Department.name == "Emergency")).scalar_one()
    auth.login(hr)
    assert (listed_total(auth.client), listed_total(auth.client, f"?department={emergency}")) == ("4", "2")
    edit = person_form(name=mover.name, email=mover.email, department=str(radiology), employee_id="")
    assert auth.post(f"/staff/{mover.id}/edit", edit, token_from="/staff").status_code == 302
    assert auth.post(f"/staff/{leaver.id}/deactivate", token_from="/staff").status_code == 302
    assert listed_total(auth.client, f"?department={radiology}") == "2"
    assert (listed_total(auth.client), listed_total(auth.client, f"?department={emergency}")) == ("3", "0")
    assert_no_drift(runner)
    assert auth.post(f"/staff/{leaver.id}/reactivate", token_from="/staff").status_code == 302
    assert (listed_total(auth.client), listed_total(auth.client, f"?department={emergency}")) == ("4", "1")
    assert_no_drift(runner)


def test_reconcile_recounts_the_people_per_department(app, make_user, runner):
    make_user(department="Emergency")
    with app.app_context():
        db.session.execute(update(PeopleCount).values(people=PeopleCount.people + 5))
        db.session.commit()
    result = reconcile(runner)
    assert result.exit_code == 1
    assert any(line.startswith("people_count (") and "recomputed 1" in line for line in result.output.splitlines())
    assert reconcile(runner, "--fix").exit_code == 0
    assert_no_drift(runner)
