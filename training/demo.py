"""A demo organisation: departments, one account per role and a few dozen staff with real progress.

Progress is made through the same services a learner uses (modules marked, quizzes graded), with
dates in the past, so every record is one the app itself could have written. HR gets something to
look at: every course is required of everyone (one rule made two years ago, so the staff who never
finished that course are overdue; the others recently, so they are due soon), staff have employee ids
and hire dates, and the manager manages their ward.
For a large organisation made in bulk, see `training.demo_bulk`.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from training.audit.services import record_event
from training.auth.models import User
from training.auth.passwords import unusable_password_hash
from training.auth.users import create_user
from training.clock import today
from training.completions.models import ModuleProgress
from training.compliance.models import Requirement
from training.compliance.obligations import refresh_obligations
from training.content.models import Course
from training.courses import services as course_services
from training.courses.services import mark_module_complete
from training.db import utcnow
from training.errors import DomainError
from training.extensions import db
from training.quizzes import attempts as quiz_attempts

DEPARTMENTS = (
    "Emergency Department",
    "Medical-Surgical Ward",
    "Outpatient Clinic",
    "Front Desk and Admissions",
    "Pharmacy",
    "Radiology",
)
JOB_TITLES = {
    "Emergency Department": ("Registered Nurse", "Emergency Physician", "Paramedic"),
    "Medical-Surgical Ward": ("Registered Nurse", "Nursing Assistant", "Ward Clerk"),
    "Outpatient Clinic": ("Medical Assistant", "Physical Therapist", "Nurse Practitioner"),
    "Front Desk and Admissions": ("Receptionist", "Admissions Clerk"),
    "Pharmacy": ("Pharmacist", "Pharmacy Technician"),
    "Radiology": ("Radiographer", "Sonographer"),
}
FIRST_NAMES = (
    "Amara", "Ben", "Chloe", "Dmitri", "Elena", "Farah", "Gabriel", "Hana", "Isaac", "Jada", "Kenji", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Samuel", "Tara", "Uma", "Victor", "Wen", "Yusuf",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Petrov", "Garcia", "Haddad", "Nguyen", "Sato", "Cohen", "Brooks",
    "Tanaka", "Fischer", "Alvarez", "Rahman", "Kowalski", "Patel", "Murphy", "Silva", "Adeyemi", "Larsen",
)  # fmt: skip
ROLE_ACCOUNTS = (
    ("staff", "staff@demo.example", "Sam Rivera", "Medical-Surgical Ward", "Registered Nurse"),
    ("manager", "manager@demo.example", "Morgan Lee", "Medical-Surgical Ward", "Nurse Manager"),
    ("hr", "hr@demo.example", "Harper Quinn", None, "HR Compliance Lead"),
    ("author", "author@demo.example", "Avery Chen", None, "Privacy Officer"),
    ("admin", "admin@demo.example", "Alex Morgan", None, "Clinical Educator"),
)
STAFF_COUNT = 36
REQUIREMENTS_AGE = timedelta(days=2 * 365)  # HR's rules predate the history, so everyone is already due
RECENT_REQUIREMENTS_AGE = timedelta(days=10)
DUE_WITHIN_DAYS = 30
EMPLOYEE_ID = "E{:06d}"


class DemoRefused(DomainError):
    status = 409
    code = "not_empty"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str


def create_demo(seed: int | None = None) -> list[DemoAccount]:
    """Create the demo organisation; refuses when any user exists, so it never mixes with real data."""
    if db.session.scalar(select(func.count()).select_from(User)):
        raise DemoRefused("The database already has users; the demo is only created in an empty database.")
    courses = db.session.execute(select(Course).where(Course.published.is_(True))).scalars().all()
    if not courses:
        raise DemoRefused("No courses are loaded yet: run `flask content sync` first.")
    rng = random.Random(seed)
    accounts = []
    for role, email, name, department, title in ROLE_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        create_user(email, name, password, role=role, department=department, job_title=title, commit=False)
        accounts.append(DemoAccount(role, email, password))
    staff = _create_staff(rng)
    for user in staff:
        _simulate_progress(user, courses, rng)
    _add_staff_records(rng)
    _add_demo_requirements(courses)
    refresh_obligations()
    db.session.commit()
    return accounts


@dataclass(frozen=True)
class RequirementSpec:
    course_id: int
    department_id: int | None = None
    due_within_days: int = DUE_WITHIN_DAYS
    recertify_months: int | None = None


def add_requirements(actor_id: int, specs: list[RequirementSpec], created_at: datetime) -> list[Requirement]:
    """HR's rules as if made at `created_at`, each with its audit record; the caller refreshes and commits."""
    requirements = []
    for spec in specs:
        requirement = Requirement(
            course_id=spec.course_id,
            department_id=spec.department_id,
            job_title="",
            due_within_days=spec.due_within_days,
            recertify_months=spec.recertify_months,
            created_by_id=actor_id,
            created_at=created_at,
        )
        db.session.add(requirement)
        db.session.flush()
        event = record_event(
            "requirement.created",
            actor_id=actor_id,
            subject_type="requirement",
            subject_id=str(requirement.id),
            details={
                "item": f"course:{spec.course_id}",
                "department_id": spec.department_id,
                "job_title": "",
                "due_within_days": spec.due_within_days,
                "recertify_months": spec.recertify_months,
            },
        )
        event.occurred_at = created_at
        requirements.append(requirement)
    return requirements


def _add_demo_requirements(courses: list[Course]) -> None:
    """Every course for everyone: the first by title required two years ago (so some staff are overdue),
    the others only days ago (so the rest are due soon)."""
    hr = db.session.execute(select(User).where(User.role == "hr")).scalar_one()
    first, *others = sorted(courses, key=lambda c: c.title)
    add_requirements(hr.id, [RequirementSpec(first.id)], utcnow() - REQUIREMENTS_AGE)
    add_requirements(hr.id, [RequirementSpec(c.id) for c in others], utcnow() - RECENT_REQUIREMENTS_AGE)


def _add_staff_records(rng: random.Random) -> None:
    """Employee ids, hire dates (each before the person's first activity) and the ward manager."""
    first_activity = dict(
        db.session.execute(
            select(ModuleProgress.user_id, func.min(ModuleProgress.completed_at)).group_by(ModuleProgress.user_id)
        ).all()
    )
    on = today()
    users = db.session.execute(select(User).order_by(User.id)).scalars().all()
    for number, user in enumerate(users, start=1):
        user.employee_id = EMPLOYEE_ID.format(number)
        latest = first_activity[user.id].date() - timedelta(days=1) if user.id in first_activity else on
        user.hire_date = _hire_date(rng, on, latest)
    manager = next(u for u in users if u.role == "manager")
    db.session.execute(
        update(User)
        .where(User.department_id == manager.department_id, User.id != manager.id)
        .values(manager_id=manager.id)
    )


def _hire_date(rng: random.Random, on: date, latest: date) -> date:
    """Mostly years ago; some people without any activity yet joined in the last 60 days."""
    recent = on - timedelta(days=60)
    if latest >= recent and rng.random() < 0.25:
        return latest - timedelta(days=rng.randint(0, (latest - recent).days))
    return min(latest, on - timedelta(days=rng.randint(61, 3650)))


def _create_staff(rng: random.Random) -> list[User]:
    unusable = unusable_password_hash()  # demo staff cannot sign in until given a password
    people, used = [], set()
    while len(people) < STAFF_COUNT:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if (first, last) in used:
            continue
        used.add((first, last))
        department = rng.choice(DEPARTMENTS)
        people.append(
            create_user(
                f"{first}.{last}@demo.example".lower(),
                f"{first} {last}",
                "",
                department=department,
                job_title=rng.choice(JOB_TITLES[department]),
                password_hash=unusable,
                commit=False,
            )
        )
    db.session.flush()
    return people


def _simulate_progress(user: User, courses: list[Course], rng: random.Random) -> None:
    for course in courses:
        profile = rng.choices(("none", "some", "failed", "done", "expired"), weights=(3, 3, 2, 6, 1))[0]
        if profile == "none":
            continue
        days_ago = rng.randint(400, 430) if profile == "expired" else rng.randint(1, 120)
        start = utcnow() - timedelta(days=days_ago)
        modules = course.modules if profile in ("done", "expired") else course.modules[: rng.randint(1, 3)]
        for offset, module in enumerate(modules):
            mark_module_complete(user.id, module, now=start + timedelta(minutes=10 * offset))
        if profile in ("failed", "done", "expired"):
            if profile == "failed" or rng.random() < 0.3:
                _take_quiz(user, course, rng, start + timedelta(hours=1), wrong=4)
            if profile != "failed":
                _take_quiz(user, course, rng, start + timedelta(hours=2), wrong=rng.choice((0, 1, 2)))


def _take_quiz(user: User, course: Course, rng: random.Random, when, wrong: int) -> None:
    attempt = course_services.start_quiz(user.id, course, rng=rng, now=when)
    answers = {}
    for index, question in enumerate(quiz_attempts.gradable(attempt)):
        correct = sorted(question.correct_option_ids)
        if index < wrong:
            wrong_options = sorted(question.option_ids - question.correct_option_ids)
            answers[question.id] = [rng.choice(wrong_options)]
        else:
            answers[question.id] = correct
    course_services.submit_quiz(user.id, attempt.id, answers, now=when + timedelta(minutes=12))
