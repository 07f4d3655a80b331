"""HR's departments: the list with how many people each has, adding and renaming one, each audited."""

from dataclasses import dataclass

from sqlalchemy import func, select

from training.audit.services import record_event
from training.auth.departments import add_department, department_named, tidy_name
from training.auth.models import Department, User
from training.errors import NotFound
from training.extensions import db
from training.staff.changes import InvalidFields, transaction
from training.staff.rules import MAX_LENGTHS


@dataclass(frozen=True)
class DepartmentRow:
    id: int
    name: str
    active: int
    deactivated: int


def department_rows() -> list[DepartmentRow]:
    """Every department with its number of active and deactivated people, in one query."""
    active = func.count(User.id).filter(User.active.is_(True))
    inactive = func.count(User.id).filter(User.active.is_(False))
    rows = db.session.execute(
        select(Department.id, Department.name, active, inactive)
        .outerjoin(User, User.department_id == Department.id)
        .group_by(Department.id, Department.name)
        .order_by(func.lower(Department.name))
    ).all()
    return [DepartmentRow(*row) for row in rows]


def department(department_id: int) -> Department:
    found = db.session.get(Department, department_id)
    if found is None:
        raise NotFound("There is no such department.")
    return found


def create_department(actor: User, name: str, *, ip_address: str = "") -> Department:
    with transaction():
        return new_department(actor.id, name, ip_address)


def rename_department(actor: User, department_id: int, name: str, *, ip_address: str = "") -> Department:
    """A new name for a department; people and requirements keep pointing at it, so no obligation changes."""
    with transaction():
        renamed = department(department_id)
        name = _department_name(name, department_id)
        old = renamed.name
        renamed.name = name
        record_event(
            "department.renamed",
            actor_id=actor.id,
            subject_type="department",
            subject_id=str(renamed.id),
            details={"name": {"old": old, "new": name}},
            ip_address=ip_address,
        )
        return renamed


def new_department(actor_id: int | None, name: str, ip_address: str) -> Department:
    """Add a department, audited; InvalidFields when the name is too long or taken. The caller commits."""
    department = add_department(_department_name(name))
    record_event(
        "department.created",
        actor_id=actor_id,
        subject_type="department",
        subject_id=str(department.id),
        details={"name": department.name},
        ip_address=ip_address,
    )
    return department


def _department_name(name: str, department_id: int | None = None, field: str = "name") -> str:
    """A name (spaces tidied) that no other department has, ignoring case; InvalidFields otherwise."""
    name = tidy_name(name)
    if not name or len(name) > MAX_LENGTHS["department"]:
        raise InvalidFields({field: "A department name is 1 to 120 characters."})
    clash = department_named(name)
    if clash is not None and clash.id != department_id:
        raise InvalidFields({field: f'There is already a department called "{clash.name}".'})
    return name
