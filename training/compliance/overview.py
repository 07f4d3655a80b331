"""The compliance overview: counts per status and each department's compliant share, from the kept counts."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Date, Integer, and_, bindparam, case, func, select

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
    values = {"on": on, "horizon": on + timedelta(days=window_days)}
    if department_id is not None:
        values["department_id"] = department_id
    counts = dict.fromkeys(rules.STATUSES, 0)
    row = db.session.execute(_counts_statement(department_id is not None), values).one()
    for status, value in zip(_STATUS_OF_COLUMN, row, strict=True):
        counts[status] += int(value)
    return counts


_STATUS_OF_COLUMN = [status for statuses in BUCKET_STATUSES.values() for status in statuses]


@lru_cache(maxsize=2)
def _counts_statement(scoped: bool):
    """The sums of `_counts_per_status`, built once per process for everyone and for one department (building a
    statement and its cache key on every visit cost more than running it); the days are parameters."""
    c = ObligationCount
    on, horizon = bindparam("on", type_=Date), bindparam("horizon", type_=Date)
    scope = [c.department_key == bindparam("department_id", type_=Integer)] if scoped else []
    ranges = (c.day < on, and_(c.day >= on, c.day <= horizon), c.day > horizon)
    totals = []
    for completed, started in BUCKET_STATUSES:
        bucket = [*scope, c.completed == completed, c.started == started]
        for days in ranges:
            totals.append(select(func.coalesce(func.sum(c.obligations), 0)).where(*bucket, days).scalar_subquery())
    return select(*totals)


def _people_per_department(on: date, department_id: int | None) -> list:
    """(department key, name, people, people behind on `on`) by department name, departments with people only.

    A person is behind once their first breach day is past: the rows before `on` are the people behind. The rows
    are grouped in the primary key's order; the names are joined to the few grouped rows afterwards.
    """
    values = {"on": on} | ({} if department_id is None else {"department_id": department_id})
    return db.session.execute(_people_statement(department_id is not None), values).all()


@lru_cache(maxsize=2)
def _people_statement(scoped: bool):
    """`_people_per_department`'s statement, built once per process for everyone and for one department."""
    b = FirstBreachCount
    scope = [b.department_key == bindparam("department_id", type_=Integer)] if scoped else []
    grouped = (
        select(
            b.department_key,
            func.sum(b.people).label("people"),
            func.sum(case((b.day < bindparam("on", type_=Date), b.people), else_=0)).label("behind"),
        )
        .where(*scope)
        .group_by(b.department_key)
        .subquery()
    )
    return (
        select(grouped.c.department_key, Department.name, grouped.c.people, grouped.c.behind)
        .outerjoin(Department, Department.id == grouped.c.department_key)
        .where(grouped.c.people > 0)
        .order_by(Department.name.is_(None), Department.name)
    )
