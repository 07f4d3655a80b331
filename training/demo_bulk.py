"""A large synthetic organisation, written in bulk: `flask demo --staff 10000`.

The small demo (`training.demo`) goes through the learner services; at ten thousand people that
would take hours. This module writes the same kinds of rows directly with Core `insert()`
executemany in batches: a hospital's departments, staff with HR records (employee id, hire date,
manager), HR's rules (made `years` ago, so everyone is already due), and `years` of history per
person and required course -- quiz attempts (scored; the questions asked are not recorded),
completions with their cycle and expiry, and a certificate for each completion (its PDF is rendered
by a job on first download). Then every obligation is derived once by `refresh_obligations`.

Each person and course gets one of a few profiles so that the dashboard shows every status:
current, due soon (renewal within the window), expired, overdue (never completed), and, for people
whose start date is still ahead, not started or in progress.
"""

import random
import secrets
import time as timer
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, insert, select

from training.auth.models import Department, User
from training.auth.passwords import hash_password, unusable_password_hash
from training.certificates.models import Certificate
from training.certificates.serials import new_serial
from training.clock import organisation_zone, today
from training.completions.models import Completion, ModuleProgress
from training.compliance.obligations import refresh_obligations
from training.compliance.rules import add_months_to_date
from training.content.models import Course, TrainingModule
from training.courses.rules import add_months
from training.db import utcnow
from training.demo import (
    EMPLOYEE_ID,
    ROLE_ACCOUNTS,
    DemoAccount,
    DemoRefused,
    RequirementSpec,
    add_requirements,
)
from training.extensions import db
from training.quizzes.models import QuizAttempt

BATCH = 2000  # people whose history is built and inserted together: bounds memory at 50,000 staff


@dataclass(frozen=True)
class DepartmentSpec:
    name: str
    weight: int  # relative headcount
    manager_title: str
    titles: tuple[str, ...]


HOSPITAL = (
    DepartmentSpec("Emergency Department", 9, "Emergency Nurse Manager",
                   ("Registered Nurse", "Emergency Physician", "Paramedic", "Healthcare Assistant")),
    DepartmentSpec("Intensive Care Unit", 6, "Critical Care Nurse Manager",
                   ("Critical Care Nurse", "Intensivist", "Respiratory Therapist")),
    DepartmentSpec("Medical-Surgical Ward", 14, "Nurse Manager",
                   ("Registered Nurse", "Nursing Assistant", "Ward Clerk", "Hospitalist")),
    DepartmentSpec("Maternity and Labour Ward", 6, "Midwifery Manager",
                   ("Midwife", "Obstetrician", "Maternity Support Worker")),
    DepartmentSpec("Paediatrics", 5, "Paediatric Nurse Manager",
                   ("Paediatric Nurse", "Paediatrician", "Play Specialist")),
    DepartmentSpec("Operating Theatres", 7, "Theatre Manager",
                   ("Scrub Nurse", "Anaesthetist", "Surgeon", "Operating Department Practitioner")),
    DepartmentSpec("Oncology", 4, "Oncology Nurse Manager", ("Oncology Nurse", "Oncologist", "Radiotherapist")),
    DepartmentSpec("Cardiology", 4, "Cardiology Nurse Manager",
                   ("Cardiac Nurse", "Cardiologist", "Cardiac Physiologist")),
    DepartmentSpec("Mental Health", 4, "Mental Health Service Manager",
                   ("Mental Health Nurse", "Psychiatrist", "Clinical Psychologist", "Support Worker")),
    DepartmentSpec("Outpatient Clinic", 7, "Clinic Manager",
                   ("Medical Assistant", "Physical Therapist", "Nurse Practitioner")),
    DepartmentSpec("Front Desk and Admissions", 5, "Patient Access Manager",
                   ("Receptionist", "Admissions Clerk", "Patient Access Coordinator")),
    DepartmentSpec("Pharmacy", 4, "Chief Pharmacist", ("Pharmacist", "Pharmacy Technician")),
    DepartmentSpec("Radiology", 4, "Radiology Manager", ("Radiographer", "Sonographer", "Radiologist")),
    DepartmentSpec("Laboratory and Pathology", 4, "Laboratory Manager",
                   ("Biomedical Scientist", "Phlebotomist", "Pathologist")),
    DepartmentSpec("Health Information Management", 3, "Health Records Manager",
                   ("Medical Records Clerk", "Clinical Coder", "Release of Information Specialist")),
    DepartmentSpec("Facilities and Estates", 4, "Facilities Manager",
                   ("Porter", "Housekeeper", "Maintenance Technician")),
    DepartmentSpec("Information Technology", 2, "IT Service Manager",
                   ("Service Desk Analyst", "Systems Administrator", "Clinical Systems Analyst")),
    DepartmentSpec("Finance and Billing", 2, "Finance Manager", ("Billing Specialist", "Accounts Assistant")),
)  # fmt: skip
ROLE_ACCOUNT_DEPARTMENT = "Medical-Surgical Ward"  # where the staff@ and manager@ demo accounts work
# Department rules on top of "every course for everyone": the emergency department renews the first
# course every six months, and the front desk, who handle patient records from day one, finish it within a week.
STRICTER_RULES = {"Emergency Department": {"recertify_months": 6}, "Front Desk and Admissions": {"due_within_days": 7}}

FIRST_NAMES = (
    "Aaliyah", "Abdul", "Adaeze", "Aiden", "Akira", "Alejandro", "Amara", "Ana", "Anjali", "Ben", "Bianca", "Carlos",
    "Chen", "Chloe", "Daniel", "Deepa", "Dmitri", "Elena", "Emeka", "Eva", "Farah", "Fatima", "Gabriel", "Grace",
    "Hana", "Hassan", "Ines", "Isaac", "Ivy", "Jada", "James", "Javier", "Joy", "Kenji", "Kwame", "Layla", "Lena",
    "Liam", "Lucia", "Mai", "Mateo", "Maya", "Mohammed", "Nadia", "Niamh", "Noah", "Olga", "Omar", "Priya", "Quinn",
    "Rosa", "Ruth", "Samuel", "Sara", "Sione", "Tara", "Tomas", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zainab",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Brooks", "Campbell", "Chowdhury", "Cohen", "Costa", "Dubois",
    "Evans", "Fischer", "Garcia", "Haddad", "Hughes", "Ibrahim", "Ito", "Jensen", "Kaur", "Kim", "Kowalski",
    "Larsen", "Lindqvist", "Lopez", "Mbeki", "Mensah", "Moreau", "Murphy", "Nguyen", "Novak", "Okafor", "Park",
    "Patel", "Petrov", "Quispe", "Rahman", "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Tanaka",
    "Taylor", "Tremblay", "Usman", "Vargas", "Walsh", "Wang", "Yilmaz", "Zhang",
)  # fmt: skip

# Per person and course: how the story ends today. Conscientious people mostly keep current.
PROFILES = ("current", "due_soon", "expired", "never")
CONSCIENTIOUS_WEIGHTS = (80, 12, 5, 3)
CARELESS_WEIGHTS = (35, 10, 25, 30)
CARELESS_SHARE = 0.15
NEW_HIRE_SHARE = 0.04  # hired in the last 60 days
FUTURE_START_SHARE = 0.015  # recorded by HR before their first day: obligations not due yet
LEAVER_SHARE = 0.015  # deactivated: history kept, no obligations


@dataclass(frozen=True)
class CourseInfo:
    id: int
    title: str
    version: int
    pass_mark: int
    questions: int
    validity_months: int
    module_ids: tuple[int, ...]


@dataclass
class Person:
    name: str
    email: str
    role: str
    department: str | None
    job_title: str
    hire_date: date
    active: bool = True
    password_hash: str = ""
    conscientious: bool = True
    id: int | None = None
    employee_id: str = ""


@dataclass
class Plan:
    """Everything the history generator needs to know about the organisation and the calendar."""

    rng: random.Random
    zone: ZoneInfo
    today: date
    rules_day: date
    courses: list[CourseInfo]
    organisation: str
    department_ids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BulkDemo:
    accounts: list[DemoAccount]
    counts: dict[str, int]
    seconds: float


def create_bulk_demo(staff: int, seed: int | None = None, years: int = 2, now: datetime | None = None) -> BulkDemo:
    """Create an organisation of `staff` people (plus an HR and an admin account) with `years` of history.

    Refuses, like the small demo, when any user exists or no course is loaded. Commits once at the end.
    """
    started = timer.perf_counter()
    if db.session.scalar(select(func.count()).select_from(User)):
        raise DemoRefused("The database already has users; the demo is only created in an empty database.")
    courses = _courses()
    if not courses:
        raise DemoRefused("No courses are loaded yet: run `flask content sync` first.")
    now = now or utcnow()
    rules_made = now - timedelta(days=365 * years)
    plan = Plan(
        rng=random.Random(seed),
        zone=organisation_zone(),
        today=today(now),
        rules_day=today(rules_made),
        courses=courses,
        organisation=current_app.config["ORGANISATION_NAME"],
    )
    plan.department_ids = _insert_departments()
    people, accounts = _plan_people(plan, staff)
    _insert_people(plan, people, now)
    hr_id = next(p.id for p in people if p.role == "hr")
    specs = _requirement_specs(plan)
    add_requirements(hr_id, specs, rules_made)
    counts = Counter(
        departments=len({p.department for p in people if p.department}),
        people=len(people),
        active=sum(p.active for p in people),
        managers=sum(p.role == "manager" for p in people),
        requirements=len(specs),
    )
    terms = _terms_by_department(plan, specs)
    for start in range(0, len(people), BATCH):
        counts.update(_insert_history(plan, people[start : start + BATCH], terms))
    counts["obligations"] = refresh_obligations(now=now)
    db.session.commit()
    return BulkDemo(accounts=accounts, counts=dict(counts), seconds=timer.perf_counter() - started)


def _courses() -> list[CourseInfo]:
    modules: dict[int, list[int]] = {}
    for course_id, module_id in db.session.execute(
        select(TrainingModule.course_id, TrainingModule.id)
        .where(TrainingModule.retired.is_(False))
        .order_by(TrainingModule.position)
    ):
        modules.setdefault(course_id, []).append(module_id)
    return [
        CourseInfo(c.id, c.title, c.version, c.pass_mark, c.questions_per_attempt, c.certificate_validity_months,
                   tuple(modules.get(c.id, ())))
        for c in db.session.execute(select(Course).where(Course.published.is_(True)).order_by(Course.slug)).scalars()
    ]  # fmt: skip


def _insert_departments() -> dict[str, int]:
    existing = set(db.session.execute(select(Department.name)).scalars())
    new = [{"name": spec.name} for spec in HOSPITAL if spec.name not in existing]
    if new:
        db.session.execute(insert(Department.__table__), new)
    return dict(db.session.execute(select(Department.name, Department.id)).all())


# --- people -------------------------------------------------------------------------------------


def _plan_people(plan: Plan, staff: int) -> tuple[list[Person], list[DemoAccount]]:
    """The role accounts (real passwords), then each department's manager and staff; ids by hire date."""
    rng = plan.rng
    unusable = unusable_password_hash()  # generated staff cannot sign in until given a password
    headcount = _headcounts(staff - 2)  # the staff@ and manager@ accounts are the other two
    people, accounts = [], []
    for role, email, name, department, title in ROLE_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        accounts.append(DemoAccount(role, email, password))
        person = Person(name, email, role, department, title, _hire_date(rng, plan.today, settled=True))
        person.password_hash = hash_password(password)
        people.append(person)
    names = _names(rng)
    for spec in HOSPITAL:
        count = headcount[spec.name]
        if count and spec.name != ROLE_ACCOUNT_DEPARTMENT:  # there, manager@ is the manager
            count -= 1
            people.append(_person(plan, next(names), "manager", spec.name, spec.manager_title, unusable))
        people.extend(
            _person(plan, next(names), "staff", spec.name, rng.choice(spec.titles), unusable) for _ in range(count)
        )
    for number, person in enumerate(sorted(people, key=lambda p: (p.hire_date, p.email)), start=1):
        person.employee_id = EMPLOYEE_ID.format(number)
    return people, accounts


def _headcounts(total: int) -> Counter:
    """Split `total` by department weight (largest remainder), so sizes are stable across seeds."""
    weights = sum(spec.weight for spec in HOSPITAL)
    shares = {spec.name: total * spec.weight / weights for spec in HOSPITAL}
    counts = Counter({name: int(share) for name, share in shares.items()})
    for name in sorted(shares, key=lambda n: shares[n] - counts[n], reverse=True)[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def _names(rng: random.Random) -> Iterator[tuple[str, str]]:
    """Names (repeats allowed, as in any large organisation) with emails made unique by a number."""
    seen: Counter = Counter()
    while True:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower()
        seen[base] += 1
        suffix = "" if seen[base] == 1 else str(seen[base])
        yield f"{first} {last}", f"{base}{suffix}@demo.example"


def _person(plan: Plan, name_email, role, department, title, password_hash) -> Person:
    rng = plan.rng
    name, email = name_email
    settled = role == "manager"
    person = Person(
        name, email, role, department, title, _hire_date(rng, plan.today, settled), password_hash=password_hash
    )
    person.active = settled or rng.random() >= LEAVER_SHARE
    person.conscientious = rng.random() >= CARELESS_SHARE
    return person


def _hire_date(rng: random.Random, on: date, settled: bool) -> date:
    """Spread over ten years; a few joined in the last 60 days and a few start within the next month."""
    draw = 1.0 if settled else rng.random()
    if draw < FUTURE_START_SHARE:
        return on + timedelta(days=rng.randint(1, 30))
    if draw < FUTURE_START_SHARE + NEW_HIRE_SHARE:
        return on - timedelta(days=rng.randint(0, 60))
    return on - timedelta(days=rng.randint(365 if settled else 61, 3650))


def _insert_people(plan: Plan, people: list[Person], now: datetime) -> None:
    """Managers and the role accounts first (their ids are needed), then everyone else with a manager."""
    leaders = [p for p in people if p.role != "staff"]
    db.session.execute(insert(User.__table__), [_user_row(plan, p, None, now) for p in leaders])
    ids = dict(db.session.execute(select(User.email, User.id)).all())
    manager_of = {}
    for person in leaders:
        person.id = ids[person.email]
        if person.role == "manager":
            manager_of[person.department] = person.id
    staff = [p for p in people if p.role == "staff"]
    for start in range(0, len(staff), BATCH):
        batch = staff[start : start + BATCH]
        db.session.execute(
            insert(User.__table__), [_user_row(plan, p, manager_of.get(p.department), now) for p in batch]
        )
    ids = dict(db.session.execute(select(User.email, User.id).where(User.role == "staff")).all())
    for person in staff:
        person.id = ids[person.email]


def _added_day(plan: Plan, person: Person) -> date:
    """When HR recorded the person: two weeks before they start (or before the rules, for earlier staff),
    and for future starters at least a week ago, so that reading ahead comes after it."""
    return min(max(person.hire_date, plan.rules_day) - timedelta(days=14), plan.today - timedelta(days=7))


def _user_row(plan: Plan, person: Person, manager_id: int | None, now: datetime) -> dict:
    added = _moment(plan, _added_day(plan, person), time(7, 0))  # before any working-hours activity
    return {
        "email": person.email,
        "name": person.name,
        "password_hash": person.password_hash,
        "role": person.role,
        "job_title": person.job_title,
        "department_id": plan.department_ids.get(person.department),
        "active": person.active,
        "employee_id": person.employee_id,
        "hire_date": person.hire_date,
        "manager_id": manager_id,
        "created_at": min(added, now),
        "updated_at": min(added, now),
    }


# --- rules --------------------------------------------------------------------------------------


def _requirement_specs(plan: Plan) -> list[RequirementSpec]:
    specs = [RequirementSpec(course.id) for course in plan.courses]
    first = plan.courses[0]
    for department, changes in STRICTER_RULES.items():
        specs.append(RequirementSpec(first.id, plan.department_ids[department], **changes))
    return specs


@dataclass(frozen=True)
class Terms:
    """What the rules ask of one department for one course: due within N days, valid for M months."""

    due_within_days: int
    months: int


def _terms_by_department(plan: Plan, specs: list[RequirementSpec]) -> dict[tuple[int | None, int], Terms]:
    """The strictest terms per (department id, course id), as `rules.obligation_dates` combines them."""
    terms = {}
    for department_id in [None, *plan.department_ids.values()]:
        for course in plan.courses:
            applicable = [s for s in specs if s.course_id == course.id and s.department_id in (None, department_id)]
            months = min([course.validity_months] + [s.recertify_months for s in applicable if s.recertify_months])
            terms[(department_id, course.id)] = Terms(min(s.due_within_days for s in applicable), months)
    return terms


# --- history ------------------------------------------------------------------------------------


@dataclass
class History:
    """One person's record for one course: completion days, failed attempts, and the open cycle."""

    completions: list[date] = field(default_factory=list)
    open_attempt: date | None = None
    open_modules: int = 0
    open_day: date | None = None  # when the open-cycle modules were marked


def _history(plan: Plan, person: Person, course: CourseInfo, terms: Terms) -> History:
    rng = plan.rng
    start = max(person.hire_date, plan.rules_day)
    last_day = plan.today - timedelta(days=1)  # nothing happens later than yesterday: every moment is in the past
    history = History()
    if start > last_day:
        if rng.random() < 0.35 and len(course.module_ids) > 1:  # keen starters read ahead of their first day
            history.open_modules = rng.randint(1, len(course.module_ids) - 1)
            history.open_day = _between(rng, _added_day(plan, person), last_day)
        return history
    weights = CONSCIENTIOUS_WEIGHTS if person.conscientious else CARELESS_WEIGHTS
    profile = rng.choices(PROFILES, weights=weights)[0]
    renew_from = add_months_to_date(plan.today, -terms.months)  # completed before this: no longer current
    window = {
        "current": (renew_from + timedelta(days=31), last_day),
        "due_soon": (renew_from, renew_from + timedelta(days=30)),
        "expired": (add_months_to_date(renew_from, -terms.months), renew_from - timedelta(days=1)),
    }.get(profile)
    if window is not None:
        low, high = max(window[0], start), min(window[1], last_day)
        if low <= high:
            history.completions = _completion_days(rng, _between(rng, low, high), start, terms)
    latest = history.completions[-1] + timedelta(days=1) if history.completions else start
    if profile != "current" and latest <= last_day and rng.random() < 0.3:
        history.open_attempt = _between(rng, max(latest, last_day - timedelta(days=20)), last_day)
    elif profile != "current" and latest <= last_day and rng.random() < 0.2 and len(course.module_ids) > 1:
        history.open_modules = rng.randint(1, len(course.module_ids) - 1)
        history.open_day = _between(rng, max(latest, last_day - timedelta(days=20)), last_day)
    return history


def _completion_days(rng: random.Random, last: date, start: date, terms: Terms) -> list[date]:
    """Work back from the latest completion: each renewal a few weeks early or late; the first soon after
    the person became due, as happens when a rule is introduced."""
    days = [last]
    while True:
        previous = add_months_to_date(days[-1], -terms.months) + timedelta(days=rng.randint(-20, 40))
        if previous < start:
            break
        days.append(previous)
    first = start + timedelta(days=rng.randint(0, terms.due_within_days + 30))
    if (days[-1] - first).days > 90:
        days.append(first)
    return days[::-1]


def _between(rng: random.Random, low: date, high: date) -> date:
    return low + timedelta(days=rng.randint(0, (high - low).days))


def _moment(plan: Plan, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=plan.zone).astimezone(UTC)


def _working_time(rng: random.Random) -> time:
    return time(rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59))


def _insert_history(plan: Plan, people: list[Person], terms: dict) -> Counter:
    """Attempts, completions, certificates and open-cycle module progress for a batch of people."""
    rng = plan.rng
    attempts: list[dict] = []
    completions: list[dict] = []
    modules: list[dict] = []
    for person in people:
        department_id = plan.department_ids.get(person.department)
        for course in plan.courses:
            history = _history(plan, person, course, terms[(department_id, course.id)])
            for cycle, day in enumerate(history.completions):
                if rng.random() < 0.25:
                    attempts.append(
                        _attempt(plan, person, course, cycle, day - timedelta(days=rng.randint(1, 3)), False)
                    )
                attempts.append(_attempt(plan, person, course, cycle, day, True))
                completions.append(_completion(person, course, cycle, attempts[-1]))
            cycle = len(history.completions)
            if history.open_attempt is not None:
                attempts.append(_attempt(plan, person, course, cycle, history.open_attempt, False))
            for module_id in course.module_ids[: history.open_modules]:
                moment = _moment(plan, history.open_day, _working_time(rng))
                modules.append({"user_id": person.id, "module_id": module_id, "cycle": cycle, "completed_at": moment})
    user_ids = [person.id for person in people]
    _insert(QuizAttempt, attempts)
    passing = _ids_by_cycle(QuizAttempt, user_ids, QuizAttempt.passed.is_(True))
    for row in completions:
        row["attempt_id"] = passing[(row["user_id"], row["course_id"], row["cycle"])]
    _insert(Completion, completions)
    completion_ids = _ids_by_cycle(Completion, user_ids)
    names = {person.id: person.name for person in people}
    certificates = [
        _certificate(plan, names[row["user_id"]], row, completion_ids[(row["user_id"], row["course_id"], row["cycle"])])
        for row in completions
    ]
    _insert(Certificate, certificates)
    _insert(ModuleProgress, modules)
    return Counter(
        attempts=len(attempts),
        completions=len(completions),
        certificates=len(certificates),
        module_progress=len(modules),
    )


def _insert(model, rows: list[dict]) -> None:
    """One Core executemany (the fastest bulk path SQLAlchemy offers on both SQLite and PostgreSQL)."""
    if rows:
        db.session.execute(insert(model.__table__), rows)


def _ids_by_cycle(model, user_ids: list[int], *conditions) -> dict[tuple[int, int, int], int]:
    """New rows' ids by (user, course, cycle): selected back, as RETURNING makes SQLite insert row by row."""
    return {
        (user_id, course_id, cycle): row_id
        for row_id, user_id, course_id, cycle in db.session.execute(
            select(model.id, model.user_id, model.course_id, model.cycle).where(
                model.user_id.in_(user_ids), *conditions
            )
        )
    }


def _attempt(plan: Plan, person: Person, course: CourseInfo, cycle: int, day: date, passed: bool) -> dict:
    rng = plan.rng
    needed = -(-course.pass_mark * course.questions // 100)  # fewest right answers that pass
    right = rng.randint(needed, course.questions) if passed else rng.randint(max(0, needed - 4), needed - 1)
    started = _moment(plan, day, _working_time(rng))
    return {
        "user_id": person.id,
        "course_id": course.id,
        "course_version": course.version,
        "cycle": cycle,
        "pass_mark": course.pass_mark,
        "started_at": started,
        "submitted_at": started + timedelta(minutes=rng.randint(8, 30)),
        "score": (200 * right + course.questions) // (2 * course.questions),
        "passed": passed,
    }


def _completion(person: Person, course: CourseInfo, cycle: int, attempt: dict) -> dict:
    completed_at = attempt["submitted_at"]
    return {
        "user_id": person.id,
        "course_id": course.id,
        "cycle": cycle,
        "course_version": course.version,
        "score": attempt["score"],
        "completed_at": completed_at,
        "expires_at": add_months(completed_at, course.validity_months),
    }


def _certificate(plan: Plan, recipient: str, completion: dict, completion_id: int) -> dict:
    """The snapshot `certificates.issuing.issue_certificate` takes, issued at the moment of completion."""
    course = next(c for c in plan.courses if c.id == completion["course_id"])
    return {
        "serial": new_serial(),
        "completion_id": completion_id,
        "user_id": completion["user_id"],
        "course_id": course.id,
        "recipient_name": recipient,
        "course_title": course.title,
        "course_version": completion["course_version"],
        "score": completion["score"],
        "completed_at": completion["completed_at"],
        "expires_at": completion["expires_at"],
        "issued_at": completion["completed_at"],
        "organisation_name": plan.organisation,
    }
