"""Planning a staff import: every row checked, against the others and the records, into an `ImportPlan`: pure."""

from dataclasses import dataclass, field

from training.staff import rules
from training.staff.csv_file import COLUMNS, FileProblem, csv_rows, decode, header_columns
from training.staff.import_plan import (
    Change,
    Directory,
    ExistingPerson,
    ImportPlan,
    PlannedRow,
    Record,
    RowError,
    display,
)
from training.visible_text import tidy

REQUIRED = ("employee_id", "name", "email")
MAX_ROWS = 50_000
ADD_DEPARTMENT_HINT = 'add it under Staff > Departments first, or choose "Create missing departments"'


@dataclass
class _Row:
    """One data row while it is checked. `email`, `employee_id` and `manager` are set when valid, even if
    other values on the row are not, so that every error on a row is found in one pass."""

    line: int
    values: dict[str, str]
    employee_id: str = ""
    email: str = ""
    manager: str | None = None
    record: Record | None = None
    person: ExistingPerson | None = None
    errors: list[str] = field(default_factory=list)


def in_feed_scope(person: ExistingPerson, importer_id: int | None = None) -> bool:
    """Whether the HR feed deactivates this person when the file leaves them out.

    Only active people with an employee id are HR's to manage. Accounts without one (an admin's
    break-glass account, accounts made by hand or by sign-in without an employee id) are never
    deactivated by a feed, and neither is the person running it.
    """
    return person.active and bool(person.employee_id) and person.id != importer_id


def plan_import(
    data: bytes,
    directory: Directory,
    *,
    create_departments: bool = False,
    may_change_privileged: bool = False,
    importer_id: int | None = None,
    full_file: bool = False,
) -> ImportPlan:
    """What importing this file would do to these records: an `ImportPlan`.

    The plan says who would be created, which fields of whom would change (old -> new), how many rows
    change nothing, and every problem with the file line it is on (the header is line 1; a quoted value
    spanning lines counts from the line where its row starts). `csv_import` and `sync` apply a plan only
    when it has no errors, so the dry run and the import agree by construction.

    `create_departments`: unknown departments are listed to be created instead of being errors.
    `may_change_privileged`: whether the importer may change hr and admin accounts (admins may);
    `importer_id`: the person importing, who may update their own record like on the form.
    `full_file`: the file lists everyone (the HR feed, `flask staff sync`): the plan also names the leavers,
    the people the feed manages (`in_feed_scope`) whose employee id is on no row, and a person listed who
    is deactivated is to be reactivated.
    """
    try:
        text, encoding = decode(data)
    except FileProblem as problem:
        return ImportPlan(encoding="unknown", errors=(RowError(None, str(problem)),))
    try:
        rows = _read(text)
    except FileProblem as problem:
        return ImportPlan(encoding=encoding, errors=(RowError(None, str(problem)),))
    planner = _Planner(directory, create_departments, may_change_privileged, importer_id)
    if full_file:
        planner.leavers = _leavers(directory, rows, importer_id)
        planner.leaver_emails = {leaver.email for leaver in planner.leavers}
        planner.managed = sum(1 for person in directory.people if in_feed_scope(person, importer_id))
    return planner.plan(rows, encoding)


def _leavers(directory: Directory, rows: list["_Row"], importer_id: int | None) -> tuple[ExistingPerson, ...]:
    """The people the feed manages whose employee id is on no row (a row with errors still lists its person)."""
    listed = {row.values.get("employee_id") for row in rows}
    return tuple(p for p in directory.people if in_feed_scope(p, importer_id) and p.employee_id not in listed)


def _read(text: str) -> list[_Row]:
    rows: list[_Row] = []
    lines = csv_rows(text)
    _, header = next(lines)
    columns = header_columns(header)
    for line, fields in lines:
        if not any(value.strip() for value in fields):
            continue
        if len(rows) == MAX_ROWS:
            raise FileProblem(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
        row = _Row(line, {})
        if len(fields) != len(header):
            row.errors.append(f"has {len(fields)} values but the header has {len(header)} columns")
        else:
            row.values = {name: tidy(fields[index]) for name, index in columns.items()}
        rows.append(row)
    if not rows:
        raise FileProblem("The file has a header but no rows of people.")
    return rows


class _Planner:
    def __init__(self, directory: Directory, create_departments: bool, may_change_privileged: bool, importer_id):
        self.people = directory.people
        self.by_employee_id = {p.employee_id: p for p in directory.people if p.employee_id}
        self.by_email = {p.email: p for p in directory.people}
        self.departments = {name.casefold(): name for name in directory.departments}
        self.create_departments = create_departments
        self.may_change_privileged = may_change_privileged
        self.importer_id = importer_id
        self.new_departments: dict[str, str] = {}
        self.leavers: tuple[ExistingPerson, ...] | None = None  # None: not a full file
        self.leaver_emails: set[str] = set()
        self.managed = 0

    def plan(self, rows: list[_Row], encoding: str) -> ImportPlan:
        for row in rows:
            if not row.errors:
                self._read_record(row)
        self._check_duplicates(rows)
        for row in rows:
            if row.email and row.employee_id and not row.errors:
                self._match(row)
        final_emails = self._final_emails(rows)
        for row in rows:
            self._check_manager(row, final_emails)
        planned, errors = [], []
        for row in rows:
            errors.extend(RowError(row.line, message) for message in row.errors)
            if not row.errors and row.record is not None:
                planned.append(self._planned(row))
        return ImportPlan(
            encoding=encoding,
            rows=tuple(planned),
            errors=tuple(errors),
            new_departments=tuple(self.new_departments.values()),
            leavers=self.leavers or (),
            managed=self.managed,
        )

    # one row on its own

    def _read_record(self, row: _Row) -> None:
        values = row.values
        for name in REQUIRED:
            if not values[name]:
                row.errors.append(f"{name} is empty; every row needs {', '.join(REQUIRED)}")
        for name, limit in rules.MAX_LENGTHS.items():
            if len(values[name]) > limit:
                row.errors.append(f"{name} is longer than {limit} characters")
        hidden = rules.hidden_characters(values, row.errors)
        row.employee_id = values["employee_id"]
        row.email = (rules.email_address(values["email"], "email", row.errors) or "") if values["email"] else ""
        row.manager = (
            rules.email_address(values["manager_email"], "manager_email", row.errors)
            if values["manager_email"]
            else None
        )
        hire_date = rules.hire_date(values["hire_date"], row.errors)
        department = None if "department" in hidden else self._department(values["department"], row.errors)
        if not row.errors:
            row.record = Record(
                employee_id=row.employee_id,
                name=values["name"],
                email=row.email,
                department=department,
                job_title=values["job_title"],
                hire_date=hire_date,
                manager_email=row.manager,
            )

    def _department(self, value: str, errors: list[str]) -> str | None:
        name = " ".join(value.split())
        if not name:
            return None
        known = self.departments.get(name.casefold()) or self.new_departments.get(name.casefold())
        if known:
            return known
        if self.create_departments and len(name) <= rules.MAX_LENGTHS["department"]:
            self.new_departments[name.casefold()] = name
            return name
        errors.append(f'department "{name}" does not exist; {ADD_DEPARTMENT_HINT}')
        return None

    # rows against each other and against the records

    def _check_duplicates(self, rows: list[_Row]) -> None:
        first_email: dict[str, int] = {}
        first_employee_id: dict[str, int] = {}
        for row in rows:
            email, employee_id = row.email, row.employee_id
            if email and email in first_email:
                row.errors.append(f"email {email} is also on line {first_email[email]}")
            elif email:
                first_email[email] = row.line
            if employee_id and employee_id in first_employee_id:
                row.errors.append(f"employee_id {employee_id} is also on line {first_employee_id[employee_id]}")
            elif employee_id:
                first_employee_id[employee_id] = row.line

    def _match(self, row: _Row) -> None:
        """By employee id, else by email (only someone without an employee id: ids are never changed here)."""
        by_id = self.by_employee_id.get(row.employee_id)
        holder = self.by_email.get(row.email)
        if by_id is not None:
            if holder is not None and holder.id != by_id.id:
                row.errors.append(
                    f"email {row.email} belongs to another person ({_who(holder)}), "
                    f"not to employee_id {row.employee_id} ({by_id.name})"
                )
                return
            row.person = by_id
        elif holder is not None:
            if holder.employee_id:
                row.errors.append(
                    f"email {row.email} belongs to another person ({_who(holder)}); "
                    f"employee_id {row.employee_id} is not theirs"
                )
                return
            row.person = holder
        if self._out_of_reach(row.person, row.record):
            row.errors.append(f"{_who(row.person)} has the {row.person.role} role; only an admin can change them")

    def _out_of_reach(self, person: ExistingPerson | None, record: Record | None) -> bool:
        """A change to an hr or admin account by someone who is not an admin."""
        if person is None or record is None or person.role not in rules.PRIVILEGED_ROLES or self.may_change_privileged:
            return False
        if person.id == self.importer_id:
            return False
        return bool(_changes(person, record))

    def _final_emails(self, rows: list[_Row]) -> dict[str, bool]:
        """Email -> active, for everyone after the import: managers may be anywhere in the file.

        A full file reactivates everyone on it and deactivates the leavers.
        """
        emails = {p.email: p.active for p in self.people}
        for row in rows:
            if row.person is not None:
                emails.pop(row.person.email, None)
        for row in rows:
            if row.email:
                stays = row.person is None or row.person.active or self.leavers is not None
                emails[row.email] = stays
        for email in self.leaver_emails:
            emails[email] = False
        return emails

    def _check_manager(self, row: _Row, final_emails: dict[str, bool]) -> None:
        manager = row.manager
        if manager is None:
            return
        if manager == row.email:
            row.errors.append("manager_email is the person's own email; a person cannot be their own manager")
        elif manager not in final_emails:
            row.errors.append(f"manager_email {manager} is not in this file or in the staff records")
        elif not final_emails[manager] and manager in self.leaver_emails:
            row.errors.append(f"manager_email {manager} is not in this file, so that person would be deactivated")
        elif not final_emails[manager]:
            row.errors.append(f"manager_email {manager} belongs to a deactivated person")

    def _planned(self, row: _Row) -> PlannedRow:
        if row.person is None:
            return PlannedRow(row.line, row.record, None, tuple(_changes(None, row.record)))
        changes = tuple(_changes(row.person, row.record))
        return PlannedRow(row.line, row.record, row.person.id, changes, row.person.active)


def _who(person: ExistingPerson) -> str:
    return f"{person.name}, employee_id {person.employee_id}" if person.employee_id else person.name


def _changes(person: ExistingPerson | None, record: Record) -> list[Change]:
    """The fields this record changes (for a new person: every field it fills)."""
    pairs = [(name, getattr(person, name, None), getattr(record, name)) for name in COLUMNS]
    return [Change(name, display(old), display(new)) for name, old, new in pairs if display(old) != display(new)]
