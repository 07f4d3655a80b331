"""The compliance overview: counts per status and each department's compliant share, from the kept counts."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select

from training.auth.models import Department
from training.clock import today
from training.compliance import rules
from training.compliance.counts import NO_DEPARTMENT
from training.compliance.models import FirstBreachCount, ObligationCount
from training.compliance.status import due_soon_days
from training.extensions import db


@dataclass(frozen=True)
class DepartmentFigure:
    id: int | None
    name: str
    people: int
    non_compliant: int

    @property
    def compliant(self) -> int:
        return self.people - self.non_compliant

    @property
    def rate(self) -> int:
        return percent(self.compliant, self.people)


@dataclass(frozen=True)
class Dashboard:
    on: date
    counts: dict[str, int]
    departments: list[DepartmentFigure]

    @property
    def people(self) -> int:
        return sum(d.people for d in self.departments)

    @property
    def compliant(self) -> int:
        return sum(d.compliant for d in self.departments)

    @property
    def rate(self) -> int:
        return percent(self.compliant, self.people)


def percent(part: int, whole: int) -> int:
    """Whole percent, rounded down so that 99.6% compliant never shows as 100%."""
    return 100 * part // whole if whole else 100


def dashboard(department_id: int | None = None, now: datetime | None = None) -> Dashboard:
    """Compliance figures from two sums over the overview's counts (`compliance.counts`), whatever the staff.

    A person counts once per department, as compliant when none of their obligations is overdue or expired.
    """
    on = today(now)
    counts = _counts_per_status(on, due_soon_days(), department_id)
    departments = [
        DepartmentFigure(
            id=None if key == NO_DEPARTMENT else key,
            name=name or "No department",
            people=int(people),
            non_compliant=int(behind),
        )
        for key, name, people, behind in _people_per_department(on, department_id)
    ]
    return Dashboard(on=on, counts=counts, departments=departments)


def count_conditions(on: date, window_days: int) -> dict[str, object]:
    """`status.status_conditions` on the counts' buckets: the deciding day is `due_on` while open and
    `valid_until` once completed (`NEVER` for no expiry, later than any horizon)."""
    horizon = on + timedelta(days=window_days)
    c = ObligationCount
    done, not_done = c.completed.is_(True), c.completed.is_(False)
    later = and_(not_done, c.day > horizon)
    return {
        rules.OVERDUE: and_(not_done, c.day < on),
        rules.EXPIRED: and_(done, c.day < on),
        rules.DUE_SOON: and_(c.day >= on, c.day <= horizon),
        rules.IN_PROGRESS: and_(later, c.started.is_(True)),
        rules.NOT_STARTED: and_(later, c.started.is_(False)),
        rules.COMPLETED: and_(done, c.day > horizon),
    }


def _counts_per_status(on: date, window_days: int, department_id: int | None) -> dict[str, int]:
    conditions = count_conditions(on, window_days)
    n = ObligationCount.obligations
    sums = [func.coalesce(func.sum(case((condition, n), else_=0)), 0) for condition in conditions.values()]
    scope = [] if department_id is None else [ObligationCount.department_key == department_id]
    row = db.session.execute(select(*sums).where(*scope)).one()
    return dict(zip(conditions, (int(value) for value in row), strict=True))


def _people_per_department(on: date, department_id: int | None) -> list:
    """(department key, name, people, people behind on `on`) by department name, departments with people only.

    A person is behind once their first breach day is past: the rows before `on` are the people behind.
    """
    b = FirstBreachCount
    scope = [] if department_id is None else [b.department_key == department_id]
    people = func.sum(b.people)
    return db.session.execute(
        select(b.department_key, Department.name, people, func.sum(case((b.day < on, b.people), else_=0)))
        .outerjoin(Department, Department.id == b.department_key)
        .where(*scope)
        .group_by(b.department_key, Department.name)
        .having(people > 0)
        .order_by(Department.name.is_(None), Department.name)
    ).all()
