"""Staff records: the people list, creating, editing, deactivating, departments and the CSV import.

Every change is written to the audit record and rebuilds the affected people's obligations in the
same transaction (a new department or job title changes what a person must complete). HR may
manage staff and managers; only admins may give the hr or admin role or change those accounts.
"""

import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import false, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased, joinedload

from training import events
from training.audit.services import record_event
from training.auth.models import ROLES, Department, User
from training.auth.passwords import hash_password
from training.auth.search import person_matches
from training.auth.sessions import end_all_sessions
from training.db import utcnow
from training.errors import Conflict, DomainError, Forbidden, NotFound
from training.extensions import db
from training.mail import MailSettings, build_message, transport_for
from training.staff import feed, importer
from training.staging import StagingMessages, StagingStore, sha256_hex
from training.urls import is_number

STAFF_ROLES = ("hr", "admin")
PER_PAGE = 50
NO_DEPARTMENT = "none"
RACE_MESSAGE = "Someone else changed these records at the same moment. Reload the page and try again."


class InvalidFields(DomainError):
    """Values the service refuses, by form field (field -> message), so the page shows each beside its field."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


# --- The people list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffFilter:
    q: str = ""
    department: str = ""  # "", NO_DEPARTMENT or a department id
    status: str = "active"


@dataclass(frozen=True)
class StaffPage:
    people: list[User]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def staff_page(criteria: StaffFilter, page: int = 1, per_page: int = PER_PAGE) -> StaffPage:
    """One page of people matching the filter, by name, with department and manager: two queries."""
    query = _filtered(criteria)
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    page = max(1, min(page, max(1, -(-total // per_page))))
    people = db.session.execute(
        query.options(joinedload(User.manager)).limit(per_page).offset((page - 1) * per_page)
    ).scalars()
    return StaffPage(list(people), total, page, per_page)


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


# --- Departments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentRow:
    id: int
    name: str
    active: int
    deactivated: int


def departments() -> list[Department]:
    return list(db.session.execute(select(Department).order_by(func.lower(Department.name))).scalars())


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
        return _new_department(actor.id, name, ip_address)


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


def _new_department(actor_id: int | None, name: str, ip_address: str) -> Department:
    department = Department(name=_department_name(name))
    db.session.add(department)
    db.session.flush()
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
    name = " ".join(name.split())
    if not name or len(name) > importer.MAX_LENGTHS["department"]:
        raise InvalidFields({field: "A department name is 1 to 120 characters."})
    clash = _department_named(name)
    if clash is not None and clash.id != department_id:
        raise InvalidFields({field: f'There is already a department called "{clash.name}".'})
    return name


def _department_named(name: str) -> Department | None:
    """The department with this name ignoring case (compared in Python: SQLite's lower() is ASCII only)."""
    wanted = " ".join(name.split()).casefold()
    return next((d for d in departments() if d.name.casefold() == wanted), None)


# --- One person ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemActor:
    """A system that changes staff records with HR's reach (SCIM provisioning), no person behind it.

    `source` goes into every audit event it causes (for SCIM: the channel and which token).
    """

    source: dict
    id: None = None
    role: str = "hr"


def _source(actor: User | SystemActor) -> dict:
    return dict(actor.source) if isinstance(actor, SystemActor) else {}


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


def managed_person(actor: User | SystemActor, user_id: int) -> User:
    """A person this HR user or admin may change: 404 if unknown, 403 for hr/admin accounts unless an admin."""
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound("There is no such person.")
    if person.role in importer.PRIVILEGED_ROLES and actor.role != "admin" and person.id != actor.id:
        raise Forbidden(f"Only an admin can change an account with the {person.role} role.")
    return person


def create_person(actor: User | SystemActor, data: PersonInput, *, ip_address: str = "") -> User:
    """Add a person who cannot sign in until given a password (`flask users set-password`)."""
    with transaction():
        values = _checked(actor, None, data)
        person = User(password_hash=hash_password(secrets.token_urlsafe(32)), active=True)
        _assign(person, values, actor.id, ip_address)
        db.session.add(person)
        db.session.flush()
        record_event(
            "staff.created",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details={"changes": _diff({}, _snapshot(person)), **_source(actor)},
            ip_address=ip_address,
        )
        events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person


def update_person(
    actor: User | SystemActor, user_id: int, data: PersonInput, *, ip_address: str = ""
) -> tuple[User, dict]:
    """Save the form's values; returns the person and the changed fields (old -> new)."""
    with transaction():
        person = managed_person(actor, user_id)
        values = _checked(actor, person, data)
        before = _snapshot(person)
        _assign(person, values, actor.id, ip_address)
        db.session.flush()
        changes = _diff(before, _snapshot(person))
        if changes:
            record_event(
                "staff.updated",
                actor_id=actor.id,
                subject_type="user",
                subject_id=str(person.id),
                details={"changes": changes, **_source(actor)},
                ip_address=ip_address,
            )
            events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person, changes


def deactivate_person(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> User:
    """Stop a person signing in and drop them from compliance figures; their history stays."""
    with transaction():
        person = managed_person(actor, user_id)
        if person.id == actor.id:
            raise Forbidden("You cannot deactivate your own account. Ask another HR user or an admin.")
        if not person.active:
            raise Conflict(f"{person.name} is already deactivated.")
        person.active = False
        _end_access(person.id, actor.id, ip_address, _source(actor))
        events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person


def _end_access(user_id: int, actor_id: int | None, ip_address: str, details: dict | None = None) -> None:
    """The rest of deactivating someone already marked inactive: end their sessions, audit it."""
    ended = end_all_sessions(user_id, reason="deactivated")
    record_event(
        "staff.deactivated",
        actor_id=actor_id,
        subject_type="user",
        subject_id=str(user_id),
        details={"sessions_ended": ended, **(details or {})},
        ip_address=ip_address,
    )


def deprovision_person(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> User:
    """The identity provider deleted this person: deactivated (sessions ended) and marked deprovisioned.

    Nothing is deleted: their record, attempts and certificates stay. Provisioning them again reactivates them.
    """
    with transaction():
        person = managed_person(actor, user_id)
        if person.active:
            deactivate_person(actor, user_id, ip_address=ip_address)
        person.deprovisioned_at = utcnow()
        record_event(
            "staff.deprovisioned",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details=_source(actor),
            ip_address=ip_address,
        )
        return person


def sign_out_everywhere(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> tuple[User, int]:
    """End every open session of a person (reason "revoked"): HR for staff and managers, admins for anyone.

    Returns the person and how many live sessions were ended.
    """
    with transaction():
        person = managed_person(actor, user_id)
        if person.id == actor.id:
            raise Forbidden("To end your own sessions, use Your account, Where you are signed in.")
        ended = end_all_sessions(person.id, reason="revoked")
        record_event(
            "session.revoked_all",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details={"sessions_ended": ended},
            ip_address=ip_address,
        )
        return person, ended


def reactivate_person(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> User:
    with transaction():
        person = managed_person(actor, user_id)
        if person.active:
            raise Conflict(f"{person.name} is already active.")
        person.active = True
        person.deprovisioned_at = None
        record_event(
            "staff.reactivated",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details=_source(actor),
            ip_address=ip_address,
        )
        events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person


def people_managed_by(person: User) -> list[User]:
    return list(
        db.session.execute(
            select(User).where(User.manager_id == person.id, User.active.is_(True)).order_by(func.lower(User.name))
        ).scalars()
    )


@dataclass(frozen=True)
class _Values:
    employee_id: str | None
    name: str
    email: str
    department: Department | None
    new_department: str
    job_title: str
    hire_date: date | None
    manager: User | None
    role: str


def _checked(actor: User, person: User | None, data: PersonInput) -> _Values:
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
        if len(" ".join(data.new_department.split())) > importer.MAX_LENGTHS["department"]:
            errors["new_department"] = "A department name is at most 120 characters."
    elif data.department_id is not None:
        department = db.session.get(Department, data.department_id)
        if department is None:
            errors["department"] = "Choose a department from the list."
    manager = _manager(data.manager_email, email, own_id, errors)
    if errors:
        raise InvalidFields(errors)
    return _Values(
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
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        errors[field] = f"Enter a valid email address ({error})."
        return ""


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


def _assign(person: User, values: _Values, actor_id: int, ip_address: str) -> None:
    department = values.department
    if values.new_department:
        existing = _department_named(values.new_department)
        department = existing or _new_department(actor_id, values.new_department, ip_address)
    person.employee_id = values.employee_id
    person.name = values.name
    person.email = values.email
    person.department = department
    person.job_title = values.job_title
    person.hire_date = values.hire_date
    person.manager = values.manager
    person.role = values.role


def _snapshot(person: User) -> dict[str, str]:
    return {
        "employee_id": importer.display(person.employee_id),
        "name": person.name or "",
        "email": person.email or "",
        "department": person.department.name if person.department else "",
        "job_title": person.job_title or "",
        "hire_date": importer.display(person.hire_date),
        "manager_email": person.manager.email if person.manager else "",
        "role": person.role or "",
    }


def _diff(before: dict[str, str], after: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        key: {"old": before.get(key, ""), "new": value} for key, value in after.items() if before.get(key, "") != value
    }


_in_transaction: ContextVar[bool] = ContextVar("staff_transaction", default=False)


@contextmanager
def transaction():
    """Commit what the block wrote, or roll all of it back. A unique constraint tripped by someone
    else's write at the same moment is a 409 with a message, not a 500.

    Inside another `transaction()` block it commits nothing itself: several staff changes made for one
    request (a SCIM PATCH that edits and deactivates a person) land together or not at all.
    """
    if _in_transaction.get():
        yield
        return
    marker = _in_transaction.set(True)
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(RACE_MESSAGE) from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _in_transaction.reset(marker)


# --- CSV import ----------------------------------------------------------------------------------


class ImportRefused(DomainError):
    """The file has errors (or gained some since the dry run): nothing was imported."""

    status = 422
    code = "import_invalid"

    def __init__(self, preview: "Preview"):
        super().__init__(f"Nothing was imported: {preview.plan.summary()}.")
        self.preview = preview


@dataclass(frozen=True)
class Preview:
    """A dry run as shown: the plan, which file, and the token to apply it (None when it cannot be)."""

    plan: importer.ImportPlan
    filename: str
    sha256: str
    token: str | None = None
    create_departments: bool = False


def directory() -> importer.Directory:
    """The staff records as the importer sees them, in two queries."""
    manager = aliased(User)
    rows = db.session.execute(
        select(
            User.id,
            User.employee_id,
            User.name,
            User.email,
            Department.name,
            User.job_title,
            User.hire_date,
            manager.email,
            User.active,
            User.role,
        )
        .outerjoin(Department, Department.id == User.department_id)
        .outerjoin(manager, manager.id == User.manager_id)
    ).all()
    people = tuple(importer.ExistingPerson(*row) for row in rows)
    names = tuple(db.session.execute(select(Department.name)).scalars())
    return importer.Directory(people, names)


def plan_import(actor: User | None, data: bytes, *, create_departments: bool = False) -> importer.ImportPlan:
    """The dry run. `actor` None is the server's operator (the CLI), who may change any account."""
    return importer.plan_import(
        data,
        directory(),
        create_departments=create_departments,
        may_change_privileged=actor is None or actor.role == "admin",
        importer_id=actor.id if actor else None,
    )


def apply_import(
    actor: User | None,
    data: bytes,
    *,
    create_departments: bool = False,
    filename: str = "",
    ip_address: str = "",
) -> importer.ImportPlan:
    """Validate the file again against the records as they are now and apply it: all of it or nothing."""
    plan = plan_import(actor, data, create_departments=create_departments)
    if not plan.ok:
        raise ImportRefused(Preview(plan, filename, sha256_hex(data)))
    actor_id = actor.id if actor else None
    with transaction():
        created, updated = _write_rows(plan, actor_id, ip_address, source="import")
        _audit_import(plan, created, updated, actor_id, ip_address, filename, sha256_hex(data))
        events.publish(events.person_changed, "staff", user_ids=[user_id for _, user_id in created + updated])
    return plan


def _write_rows(plan: importer.ImportPlan, actor_id: int | None, ip_address: str, *, source: str):
    """The plan's new departments, new people and changed fields, each audited; returns (created, updated) as
    lists of (row, user id). The caller rebuilds their obligations and commits."""
    for name in plan.new_departments:
        _new_department(actor_id, name, ip_address)
    department_ids = dict(db.session.execute(select(Department.name, Department.id)).all())
    created = _create_imported(plan.created, department_ids)
    updated = [(row, row.person_id) for row in plan.updated]
    _update_imported(updated, department_ids)
    _set_managers(created + updated)
    _audit_rows(created, updated, actor_id, ip_address, source)
    return created, updated


def _create_imported(rows: Iterable[importer.PlannedRow], department_ids: dict[str, int]) -> list[tuple]:
    """Insert the new people in bulk (one statement per batch, not one per person); returns (row, id)."""
    rows = list(rows)
    if not rows:
        return []
    unusable = hash_password(secrets.token_urlsafe(32))  # nobody knows it: they sign in once given a password
    values = [
        {"password_hash": unusable, "role": "staff", "active": True, **_record_values(row.record, department_ids)}
        for row in rows
    ]
    ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), values).all()
    return list(zip(rows, ids, strict=True))


def _update_imported(updated: list[tuple], department_ids: dict[str, int]) -> None:
    """Update the changed people in bulk by primary key (managers come after: they may be new people)."""
    if updated:
        db.session.execute(
            update(User), [{"id": user_id, **_record_values(row.record, department_ids)} for row, user_id in updated]
        )


def _record_values(record: importer.Record, department_ids: dict[str, int]) -> dict:
    return {
        "employee_id": record.employee_id,
        "name": record.name,
        "email": record.email,
        "department_id": department_ids[record.department] if record.department else None,
        "job_title": record.job_title,
        "hire_date": record.hire_date,
    }


def _set_managers(pairs: list[tuple]) -> None:
    """Managers by email once every person in the file exists with their new email (any line of the file)."""
    if not pairs:
        return
    ids_by_email = dict(db.session.execute(select(User.email, User.id)).all())
    db.session.execute(
        update(User),
        [
            {"id": user_id, "manager_id": ids_by_email[row.record.manager_email] if row.record.manager_email else None}
            for row, user_id in pairs
        ],
    )


def _audit_rows(created, updated, actor_id, ip_address, source: str) -> None:
    for event, pairs in (("staff.created", created), ("staff.updated", updated)):
        for row, user_id in pairs:
            record_event(
                event,
                actor_id=actor_id,
                subject_type="user",
                subject_id=str(user_id),
                details={
                    "changes": {c.field: {"old": c.old, "new": c.new} for c in row.changes},
                    "source": source,
                    "line": row.line,
                },
                ip_address=ip_address,
            )


def _audit_import(plan, created, updated, actor_id, ip_address, filename, digest) -> None:
    record_event(
        "staff.imported",
        actor_id=actor_id,
        subject_type="import",
        subject_id=digest[:16],
        details={
            "filename": filename,
            "sha256": digest,
            "encoding": plan.encoding,
            "created": len(created),
            "updated": len(updated),
            "unchanged": plan.count("unchanged"),
            "departments_created": list(plan.new_departments),
        },
        ip_address=ip_address,
    )


# --- Staged imports (the web dry run, then apply) ------------------------------------------------


STAGING_MESSAGES = StagingMessages(
    expired="This import preview has expired or was not yours. Upload the file again to see a new dry run.",
    already_imported="This file has already been imported (or is being imported): see the people list.",
)


def import_store() -> StagingStore:
    return StagingStore(Path(current_app.config["STAFF_IMPORT_DIR"]), STAGING_MESSAGES)


def stage_import(actor: User, data: bytes, filename: str, *, create_departments: bool) -> Preview:
    """The dry run of an upload; a file without errors is kept for the apply step (see training/staging.py)."""
    plan = plan_import(actor, data, create_departments=create_departments)
    digest = sha256_hex(data)
    if not plan.ok:
        return Preview(plan, filename, digest, None, create_departments)
    meta = {"filename": filename[:200], "create_departments": create_departments}
    staged = import_store().save(actor.id, data, meta, utcnow())
    return Preview(plan, meta["filename"], staged.sha256, staged.token, create_departments)


def apply_staged_import(actor: User, token: str, sha256: str, *, ip_address: str = "") -> importer.ImportPlan:
    """Apply a staged dry run once: the file is discarded whether it is imported or refused.

    Claiming the file first makes a double submit (or twenty) import it once: every other request
    gets a 409 saying it was already imported (see training/staging.py).
    """
    store = import_store()
    staged = store.claim(token, actor.id, sha256, utcnow())
    try:
        plan = apply_import(
            actor,
            staged.data,
            create_departments=bool(staged.meta["create_departments"]),
            filename=staged.meta["filename"],
            ip_address=ip_address,
        )
    except BaseException:
        store.discard(token)
        raise
    store.mark_imported(token, utcnow())
    return plan


# --- The HR feed (flask staff sync) --------------------------------------------------------------

FEED_LOCK_KEY = 0x7374616666  # "staff": the PostgreSQL advisory lock that one sync holds at a time
BUSY_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED")


class SyncBusy(DomainError):
    """Another sync holds the feed's lock: this one changes nothing."""

    status = 409
    code = "sync_running"


@dataclass(frozen=True)
class SyncRun:
    """One run of the feed: its plan and counts, and why it was refused ("" when it was, or would be, applied)."""

    plan: importer.ImportPlan
    counts: feed.FeedCounts
    filename: str
    sha256: str
    refused: str = ""
    applied: bool = False


def sync_staff(
    data: bytes,
    *,
    filename: str,
    max_percent: int,
    force: bool = False,
    create_departments: bool = False,
    dry_run: bool = False,
) -> SyncRun:
    """Make the staff records match a full HR export (see training/staff/feed.py), all or nothing.

    Run by the server's operator (no actor). The whole run holds the feed's lock, so a second sync
    started meanwhile is refused (SyncBusy) instead of applying a plan made from the same records. A
    refused run changes nothing but writes its `staff.synced` event; a dry run writes nothing.
    """
    digest = sha256_hex(data)
    if dry_run:
        plan = _plan_feed(data, create_departments)
        return SyncRun(plan, feed.counts(plan), filename, digest, feed.refusal(plan, max_percent, force))
    with transaction():
        _take_feed_lock()
        plan = _plan_feed(data, create_departments)
        run = SyncRun(plan, feed.counts(plan), filename, digest, feed.refusal(plan, max_percent, force))
        if not run.refused:
            _apply_feed(plan)
            run = SyncRun(run.plan, run.counts, filename, digest, applied=True)
        _audit_sync(run, max_percent, force)
    return run


def _plan_feed(data: bytes, create_departments: bool) -> importer.ImportPlan:
    return importer.plan_import(
        data, directory(), create_departments=create_departments, may_change_privileged=True, full_file=True
    )


def _take_feed_lock() -> None:
    """Hold the feed's lock until the transaction ends, or raise SyncBusy at once if another sync holds it.

    PostgreSQL: a transaction-level advisory lock. SQLite (development): the database's write lock,
    taken by an UPDATE that matches no row, without waiting for it.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        taken = connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FEED_LOCK_KEY}).scalar()
    else:
        taken = _sqlite_write_lock_now(connection)
    if not taken:
        raise SyncBusy("Another staff sync is running. Nothing was changed; run this one again when it has finished.")


def _sqlite_write_lock_now(connection) -> bool:
    waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        connection.execute(update(User).where(false()).values(active=User.active))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlite_errorname", None) not in BUSY_SQLITE:
            raise
        return False
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(waited)}")
    return True


def _apply_feed(plan: importer.ImportPlan) -> None:
    """Write the plan: rows as the import does, then reactivations and deactivations, each audited."""
    created, updated = _write_rows(plan, None, "", source="sync")
    back = [row for row in plan.rows if feed.row_kind(row) == "reactivated"]
    if back:
        db.session.execute(update(User), [{"id": row.person_id, "active": True} for row in back])
    for row in back:
        record_event(
            "staff.reactivated",
            actor_id=None,
            subject_type="user",
            subject_id=str(row.person_id),
            details={"source": "sync", "line": row.line},
        )
    leaver_ids = [leaver.id for leaver in plan.leavers]
    if leaver_ids:
        db.session.execute(update(User), [{"id": user_id, "active": False} for user_id in leaver_ids])
    for user_id in leaver_ids:
        _end_access(user_id, None, "", {"source": "sync"})
    changed = [user_id for _, user_id in created + updated] + [row.person_id for row in back] + leaver_ids
    events.publish(events.person_changed, "staff", user_ids=changed)


def _audit_sync(run: SyncRun, max_percent: int, force: bool) -> None:
    """The run's own event, applied or refused: the latest one is the feed's last run and its counts."""
    record_event(
        "staff.synced",
        actor_id=None,
        subject_type="staff_feed",
        subject_id=run.sha256[:16],
        details={
            "filename": run.filename,
            "sha256": run.sha256,
            "encoding": run.plan.encoding,
            "outcome": "applied" if run.applied else "refused",
            "reason": run.refused,
            "counts": run.counts.as_dict(),
            "managed": run.plan.managed,
            "max_deactivate_percent": max_percent,
            "forced": force,
            "departments_created": list(run.plan.new_departments) if run.applied else [],
        },
    )


def mail_sync_summary(address: str, subject: str, text: str, write) -> None:
    """Send a run's summary through the mail settings (printed with `write` when MAIL_SERVER is unset).

    Raises MailError when it was not sent.
    """
    settings = mail_settings()
    with transport_for(settings, write) as transport:
        transport.send(build_message(settings.sender, "", address, subject, text))


def mail_settings() -> MailSettings:
    """The MAIL_* settings, checked (MailConfigError names a wrong one) before a run changes anything."""
    return MailSettings.from_config(current_app.config)
