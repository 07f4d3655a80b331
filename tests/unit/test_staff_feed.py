"""The HR feed's pure rules: who it manages, who leaves, what each row does, and the safety limit."""

from datetime import date

import pytest

from training.staff import feed
from training.staff.import_plan import Directory, ExistingPerson
from training.staff.import_planner import in_feed_scope, plan_import

HEADER = "employee_id,name,email,department,job_title,hire_date,manager_email"


def nurse(n: int, **overrides) -> ExistingPerson:
    values = {
        "id": n,
        "employee_id": f"E{n}",
        "name": f"Nurse {n}",
        "email": f"nurse{n}@example.org",
        "department": "Pharmacy",
        "job_title": "Registered Nurse",
        "hire_date": None,
        "manager_email": None,
    }
    return ExistingPerson(**(values | overrides))


def row(person: ExistingPerson, **overrides) -> str:
    values = {
        "employee_id": person.employee_id,
        "name": person.name,
        "email": person.email,
        "department": person.department or "",
        "job_title": person.job_title,
        "hire_date": person.hire_date.isoformat() if person.hire_date else "",
        "manager_email": person.manager_email or "",
    }
    return ",".join((values | overrides).values())


def full(people: tuple[ExistingPerson, ...], *rows: str, importer_id: int | None = None):
    data = ("\n".join([HEADER, *rows]) + "\n").encode()
    directory = Directory(people, ("Pharmacy", "Radiology"))
    return plan_import(data, directory, may_change_privileged=True, importer_id=importer_id, full_file=True)


TEN = tuple(nurse(n) for n in range(1, 11))


def test_the_feed_manages_active_people_with_an_employee_id_other_than_whoever_runs_it():
    assert in_feed_scope(nurse(1))
    assert in_feed_scope(nurse(1, role="admin")), "an admin who is an employee leaves with HR's file"
    assert not in_feed_scope(nurse(1, employee_id=None)), "break-glass and hand-made accounts"
    assert not in_feed_scope(nurse(1, employee_id=""))
    assert not in_feed_scope(nurse(1, active=False)), "already gone"
    assert not in_feed_scope(nurse(1), importer_id=1)


def test_leavers_are_the_managed_people_whose_employee_id_is_on_no_row():
    people = (*TEN[:3], nurse(4, employee_id=None), nurse(5, active=False), nurse(6))
    plan = full(people, row(people[0]), row(people[1]), importer_id=6)
    assert [p.id for p in plan.leavers] == [3]
    assert plan.managed == 3, "1, 2 and 3; not 4 (no employee id), 5 (inactive) or 6 (running it)"


def test_a_row_with_errors_still_lists_its_person():
    plan = full(TEN[:2], row(TEN[0]), row(TEN[1], hire_date="2024-02-30"))
    assert plan.leavers == () and len(plan.errors) == 1


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({}, "unchanged"),
        ({"job_title": "Charge Nurse"}, "updated"),
        ({"department": "Radiology", "job_title": "Charge Nurse"}, "moved"),
    ],
)
def test_each_row_is_one_kind(change, kind):
    plan = full(TEN[:1], row(TEN[0], **change))
    assert [feed.row_kind(r) for r in plan.rows] == [kind]


def test_a_deactivated_person_listed_again_is_reactivated_and_may_manage_others():
    gone = nurse(2, active=False)
    plan = full((TEN[0], gone), row(TEN[0], manager_email=gone.email), row(gone, department="Radiology"))
    assert plan.ok, plan.errors
    assert [feed.row_kind(r) for r in plan.rows] == ["updated", "reactivated"]


def test_a_new_row_is_created_and_the_counts_add_up():
    dan = nurse(20, hire_date=date(2025, 1, 6))
    plan = full(TEN[:3], row(TEN[0]), row(TEN[1], job_title="Porter"), row(dan))
    assert feed.counts(plan) == feed.FeedCounts(created=1, updated=1, deactivated=1, unchanged=1)
    assert feed.counts(plan).summary() == (
        "1 created, 1 updated, 0 moved, 1 deactivated, 0 reactivated, 1 unchanged, 0 errors"
    )


def test_a_manager_who_would_leave_is_an_error_on_the_rows_naming_them():
    plan = full(TEN[:2], row(TEN[1], manager_email=TEN[0].email))
    assert [str(e) for e in plan.errors] == [
        "line 2: manager_email nurse1@example.org is not in this file, so that person would be deactivated"
    ]


def test_an_import_that_is_not_a_full_file_plans_no_leavers():
    data = ("\n".join([HEADER, row(TEN[0])]) + "\n").encode()
    plan = plan_import(data, Directory(TEN, ("Pharmacy",)))
    assert plan.leavers == () and plan.managed == 0


@pytest.mark.parametrize(
    ("leaving", "limit", "force", "refused"),
    [
        (1, 10, False, ""),  # exactly 10%: allowed
        (2, 10, False, "it would deactivate 2 of the 10 people the HR feed manages (20.0%), more than the limit"),
        (2, 20, False, ""),
        (2, 10, True, ""),
        (1, 0, False, "more than the limit of 0%"),
        (0, 0, False, ""),
        (10, 100, True, "every one of the 10 people the HR feed manages; this is refused even with --force"),
    ],
)
def test_the_safety_limit(leaving, limit, force, refused):
    plan = full(TEN, *(row(p) for p in TEN[leaving:])) if leaving < 10 else full(TEN, row(nurse(99)))
    found = feed.refusal(plan, limit, force)
    assert (refused in found) if refused else found == ""


def test_errors_refuse_whatever_the_limit():
    plan = full(TEN, row(TEN[0], email="not an address"), *(row(p) for p in TEN[1:]))
    assert feed.refusal(plan, 100, True) == "the file has 1 error(s); the feed is applied whole or not at all"
