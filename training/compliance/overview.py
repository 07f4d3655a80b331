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


# The status of the obligations of a bucket, by whether they are completed and started and where the deciding day
# falls: before `on`, in the due-soon window, after it.
BUCKET_STATUSES = {
    (False, False): (rules.OVERDUE, rules.DUE_SOON, rules.NOT_STARTED),
    (False, True): (rules.OVERDUE, rules.DUE_SOON, rules.IN_PROGRESS),
    (True, False): (rules.EXPIRED, rules.DUE_SOON, rules.COMPLETED),
}


def _counts_per_status(on: date, window_days: int, department_id: int | None) -> dict[str, int]:
    """`status.status_conditions` on the counts: one range of deciding days per bucket and status, each summed
    from an index range (the primary key within a department, ix_obligation_count_status across them)."""
    horizon = on + timedelta(days=window_days)
    c = ObligationCount
    scope = [] if department_id is None else [c.department_key == department_id]
    ranges = (c.day < on, and_(c.day >= on, c.day <= horizon), c.day > horizon)
    statuses, totals = [], []
    for (completed, started), bucket_statuses in BUCKET_STATUSES.items():
        bucket = [*scope, c.completed == completed, c.started == started]
        for status, days in zip(bucket_statuses, ranges, strict=True):
            statuses.append(status)
            totals.append(select(func.coalesce(func.sum(c.obligations), 0)).where(*bucket, days).scalar_subquery())
    counts = dict.fromkeys(rules.STATUSES, 0)
    for status, value in zip(statuses, db.session.execute(select(*totals)).one(), strict=True):
        counts[status] += int(value)
    return counts


def _people_per_department(on: date, department_id: int | None) -> list:
    """(department key, name, people, people behind on `on`) by department name, departments with people only.

    A person is behind once their first breach day is past: the rows before `on` are the people behind. The rows
    are grouped in the primary key's order; the names are joined to the few grouped rows afterwards.
    """
    b = FirstBreachCount
    scope = [] if department_id is None else [b.department_key == department_id]
    grouped = (
        select(
            b.department_key,
            func.sum(b.people).label("people"),
            func.sum(case((b.day < on, b.people), else_=0)).label("behind"),
        )
        .where(*scope)
        .group_by(b.department_key)
        .subquery()
    )
    return db.session.execute(
        select(grouped.c.department_key, Department.name, grouped.c.people, grouped.c.behind)
        .outerjoin(Department, Department.id == grouped.c.department_key)
        .where(grouped.c.people > 0)
        .order_by(Department.name.is_(None), Department.name)
    ).all()
