"""Departments by name: found ignoring case and spacing, or added. Callers audit what they add."""

from sqlalchemy import func, select

from training.auth.models import Department
from training.extensions import db


def tidy_name(name: str) -> str:
    """The name with its runs of spaces (line breaks included) made one space, and no space around it."""
    return " ".join(name.split())


def all_departments() -> list[Department]:
    """Every department, by name."""
    return list(db.session.execute(select(Department).order_by(func.lower(Department.name))).scalars())


def department_named(name: str) -> Department | None:
    """The department with this name ignoring case (compared in Python: SQLite's lower() is ASCII only)."""
    wanted = tidy_name(name).casefold()
    return next((d for d in all_departments() if d.name.casefold() == wanted), None)


def add_department(name: str) -> Department:
    """A new department with this name, tidied, flushed so that it has its id."""
    department = Department(name=tidy_name(name))
    db.session.add(department)
    db.session.flush()
    return department
