"""The staff list: one page of people found by name, department and status; the people a manager manages."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from training.auth.models import User
from training.auth.search import person_matches
from training.extensions import db
from training.paging import Page, paginate
from training.urls import is_number

PER_PAGE = 50
NO_DEPARTMENT = "none"


@dataclass(frozen=True)
class StaffFilter:
    q: str = ""
    department: str = ""  # "", NO_DEPARTMENT or a department id
    status: str = "active"


def staff_page(criteria: StaffFilter, page: int = 1, per_page: int = PER_PAGE) -> Page[User]:
    """One page of people matching the filter, by name, with department and manager: two queries."""
    return paginate(_filtered(criteria).options(joinedload(User.manager)), page, per_page)


def _filtered(criteria: StaffFilter):
    query = select(User)
    if criteria.q.strip():
        query = query.where(person_matches(criteria.q))
    if criteria.department == NO_DEPARTMENT:
        query = query.where(User.department_id.is_(None))
    elif is_number(criteria.department):
        query = query.where(User.department_id == int(criteria.department))
    if criteria.status == "active":
        query = query.where(User.active.is_(True))
    elif criteria.status == "deactivated":
        query = query.where(User.active.is_(False))
    return query.order_by(func.lower(User.name), User.id)


def people_managed_by(person: User) -> list[User]:
    return list(
        db.session.execute(
            select(User).where(User.manager_id == person.id, User.active.is_(True)).order_by(func.lower(User.name))
        ).scalars()
    )
