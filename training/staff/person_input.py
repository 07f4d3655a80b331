"""A staff record as entered (`PersonInput`): who may give which role, its checks, writing it onto a person."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from training.auth.departments import department_named, tidy_name
from training.auth.models import ROLES, Department, User
from training.extensions import db
from training.staff.changes import InvalidFields, SystemActor
from training.staff.departments import new_department
from training.staff.import_plan import display
from training.staff.rules import MAX_LENGTHS, checked_email


@dataclass(frozen=True)
class PersonInput:
    """A staff record as entered on the form. `new_department`, when given, wins over `department_id`."""

    employee_id: str
    name: str
    email: str
    department_id: int | None
    new_department: str
    job_title: str
    hire_date: date | None
    manager_email: str
    role: str


def assignable_roles(actor: User | SystemActor, person: User | None = None) -> tuple[str, ...]:
    """Admins give any role; HR gives staff or manager. Nobody changes their own role."""
    if person is not None and person.id == actor.id:
        return (person.role,)
    return ROLES if actor.role == "admin" else ("staff", "manager")


@dataclass(frozen=True)
class PersonValues:
    employee_id: str | None
    name: str
    email: str
    department: Department | None
    new_department: str
    job_title: str
    hire_date: date | None
    manager: User | None
    role: str


def check(actor: User | SystemActor, person: User | None, data: PersonInput) -> PersonValues:
    """Every rule for a staff record; all broken ones at once, as field -> message."""
    errors: dict[str, str] = {}
    email = _normal_email(data.email, "email", errors)
    employee_id = data.employee_id.strip() or None
    own_id = person.id if person else None
    if email and _taken(User.email, email, own_id):
        errors["email"] = f"Another person already has the email {email}."
    if employee_id and _taken(User.employee_id, employee_id, own_id):
        errors["employee_id"] = f"Another person already has the employee id {employee_id}."
    if not data.name.strip():
        errors["name"] = "Enter the person's name."
    if data.role not in assignable_roles(actor, person):
        errors["role"] = "Only an admin can give the hr or admin role, and nobody can change their own role."
    department = None
    if data.new_department.strip():
        if len(tidy_name(data.new_department)) > MAX_LENGTHS["department"]:
            errors["new_department"] = "A department name is at most 120 characters."
    elif data.department_id is not None:
        department = db.session.get(Department, data.department_id)
        if department is None:
            errors["department"] = "Choose a department from the list."
    manager = _manager(data.manager_email, email, own_id, errors)
    if errors:
        raise InvalidFields(errors)
    return PersonValues(
        employee_id=employee_id,
        name=data.name.strip(),
        email=email,
        department=department,
        new_department=data.new_department.strip(),
        job_title=data.job_title.strip(),
        hire_date=data.hire_date,
        manager=manager,
        role=data.role,
    )


def _normal_email(value: str, field: str, errors: dict[str, str]) -> str:
    address, problem = checked_email(value.strip())
    if problem:
        errors[field] = f"Enter a valid email address ({problem})."
    return address or ""


def _taken(column, value: str, own_id: int | None) -> bool:
    query = select(User.id).where(column == value)
    if own_id is not None:
        query = query.where(User.id != own_id)
    return db.session.execute(query).first() is not None


def _manager(value: str, own_email: str, own_id: int | None, errors: dict[str, str]) -> User | None:
    if not value.strip():
        return None
    email = _normal_email(value, "manager_email", errors)
    if not email:
        return None
    manager = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if email == own_email or (manager is not None and manager.id == own_id):
        errors["manager_email"] = "A person cannot be their own manager."
    elif manager is None or not manager.active:
        errors["manager_email"] = f"No active person has the email {email}."
    return manager


def assign(person: User, values: PersonValues, actor_id: int, ip_address: str) -> None:
    department = values.department
    if values.new_department:
        existing = department_named(values.new_department)
        department = existing or new_department(actor_id, values.new_department, ip_address)
    person.employee_id = values.employee_id
    person.name = values.name
    person.email = values.email
    person.department = department
    person.job_title = values.job_title
    person.hire_date = values.hire_date
    person.manager = values.manager
    person.role = values.role


def snapshot(person: User) -> dict[str, str]:
    return {
        "employee_id": display(person.employee_id),
        "name": person.name or "",
        "email": person.email or "",
        "department": person.department.name if person.department else "",
        "job_title": person.job_title or "",
        "hire_date": display(person.hire_date),
        "manager_email": person.manager.email if person.manager else "",
        "role": person.role or "",
    }


def diff(before: dict[str, str], after: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        key: {"old": before.get(key, ""), "new": value} for key, value in after.items() if before.get(key, "") != value
    }
