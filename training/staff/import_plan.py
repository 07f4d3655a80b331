"""What a staff import would do: the records it is checked against (`Directory`) and its plan (`ImportPlan`): pure."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ExistingPerson:
    """One person in the staff records as the import sees them (department by name, manager by email)."""

    id: int
    employee_id: str | None
    name: str
    email: str
    department: str | None
    job_title: str
    hire_date: date | None
    manager_email: str | None
    active: bool = True
    role: str = "staff"


@dataclass(frozen=True)
class Directory:
    people: tuple[ExistingPerson, ...] = ()
    departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    """A problem on one line of the file; `line` is None for the file as a whole."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass(frozen=True)
class Record:
    """What one row says a person's record should be (department by its existing spelling)."""

    employee_id: str
    name: str
    email: str
    department: str | None
    job_title: str
    hire_date: date | None
    manager_email: str | None


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class PlannedRow:
    line: int
    record: Record
    person_id: int | None  # None: a new person
    changes: tuple[Change, ...] = ()
    active: bool = True

    @property
    def action(self) -> str:
        if self.person_id is None:
            return "create"
        return "update" if self.changes else "unchanged"


@dataclass(frozen=True)
class ImportPlan:
    encoding: str
    rows: tuple[PlannedRow, ...] = ()
    errors: tuple[RowError, ...] = ()
    new_departments: tuple[str, ...] = ()
    # A full file only: who is absent from it (to deactivate), and how many active people the feed manages.
    leavers: tuple[ExistingPerson, ...] = ()
    managed: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> tuple[PlannedRow, ...]:
        return tuple(row for row in self.rows if row.action == "create")

    @property
    def updated(self) -> tuple[PlannedRow, ...]:
        return tuple(row for row in self.rows if row.action == "update")

    def summary(self) -> str:
        text = f"{self.count('create')} new, {self.count('update')} updated, {self.count('unchanged')} unchanged"
        if self.new_departments:
            text += f"; new departments: {', '.join(self.new_departments)}"
        if self.errors:
            text += f"; {len(self.errors)} error(s)"
        return text


def display(value: object) -> str:
    """A value as a plan shows and compares it: "" for none, a date as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
