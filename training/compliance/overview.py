"""The compliance overview: counts per status and each department's compliant share, from aggregate queries."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select

from training.auth.models import Department
from training.clock import today
from training.compliance.models import Obligation
from training.compliance.status import due_soon_days, non_compliant_condition, status_conditions
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
    """Compliance figures from three aggregate queries over obligations, whatever the number of staff.

    A person counts once, as compliant when none of their obligations is overdue or expired.
    """
    on = today(now)
    conditions = status_conditions(on, due_soon_days())
    scope = [] if department_id is None else [Obligation.department_id == department_id]
    sums = [func.coalesce(func.sum(case((condition, 1), else_=0)), 0) for condition in conditions.values()]
    row = db.session.execute(select(*sums).where(*scope)).one()
    counts = dict(zip(conditions, (int(n) for n in row), strict=True))
    everyone = _people_per_department(scope)
    behind = {dep_id: people for dep_id, _, people in _people_per_department([*scope, non_compliant_condition(on)])}
    departments = [
        DepartmentFigure(id=dep_id, name=name or "No department", people=people, non_compliant=behind.get(dep_id, 0))
        for dep_id, name, people in everyone
    ]
    return Dashboard(on=on, counts=counts, departments=departments)


def _people_per_department(conditions: list) -> list[tuple[int | None, str | None, int]]:
    """(department id, name, people) for obligations matching `conditions`, by department name.

    COUNT(DISTINCT user_id) grouped by department reads the (department_id, user_id) index in
    order, so no obligation is sorted; the names are joined to the few grouped rows afterwards.
    """
    grouped = (
        select(Obligation.department_id, func.count(func.distinct(Obligation.user_id)).label("people"))
        .where(*conditions)
        .group_by(Obligation.department_id)
        .subquery()
    )
    rows = db.session.execute(
        select(grouped.c.department_id, Department.name, grouped.c.people)
        .outerjoin(Department, Department.id == grouped.c.department_id)
        .order_by(Department.name.is_(None), Department.name)
    ).all()
    return [(dep_id, name, people) for dep_id, name, people in rows]
