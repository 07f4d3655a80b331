"""The CSV import against the records: the dry run, applying a plan all or nothing, the web's staged upload."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import aliased

from training import events
from training.audit.services import record_event
from training.auth.models import Department, User
from training.auth.passwords import unusable_password_hash
from training.db import utcnow
from training.errors import DomainError
from training.extensions import db
from training.staff import import_planner
from training.staff.changes import transaction
from training.staff.departments import new_department
from training.staff.import_plan import Directory, ExistingPerson, ImportPlan, PlannedRow, Record
from training.staging import StagingMessages, StagingStore, sha256_hex


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

    plan: ImportPlan
    filename: str
    sha256: str
    token: str | None = None
    create_departments: bool = False


def directory() -> Directory:
    """The staff records as the planner sees them, in two queries."""
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
    people = tuple(ExistingPerson(*row) for row in rows)
    names = tuple(db.session.execute(select(Department.name)).scalars())
    return Directory(people, names)


def plan_import(actor: User | None, data: bytes, *, create_departments: bool = False) -> ImportPlan:
    """The dry run. `actor` None is the server's operator (the CLI), who may change any account."""
    return import_planner.plan_import(
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
) -> ImportPlan:
    """Validate the file again against the records as they are now and apply it: all of it or nothing."""
    plan = plan_import(actor, data, create_departments=create_departments)
    if not plan.ok:
        raise ImportRefused(Preview(plan, filename, sha256_hex(data)))
    actor_id = actor.id if actor else None
    with transaction():
        created, updated = write_rows(plan, actor_id, ip_address, source="import")
        _audit_import(plan, created, updated, actor_id, ip_address, filename, sha256_hex(data))
        events.publish(events.person_changed, "staff", user_ids=[user_id for _, user_id in created + updated])
    return plan


def write_rows(plan: ImportPlan, actor_id: int | None, ip_address: str, *, source: str):
    """The plan's new departments, new people and changed fields, each audited; returns (created, updated) as
    lists of (row, user id). The caller rebuilds their obligations and commits."""
    for name in plan.new_departments:
        new_department(actor_id, name, ip_address)
    department_ids = dict(db.session.execute(select(Department.name, Department.id)).all())
    created = _create_imported(plan.created, department_ids)
    updated = [(row, row.person_id) for row in plan.updated]
    _update_imported(updated, department_ids)
    _set_managers(created + updated)
    _audit_rows(created, updated, actor_id, ip_address, source)
    return created, updated


def _create_imported(rows: Iterable[PlannedRow], department_ids: dict[str, int]) -> list[tuple]:
    """Insert the new people in bulk (one statement per batch, not one per person); returns (row, id)."""
    rows = list(rows)
    if not rows:
        return []
    unusable = unusable_password_hash()  # nobody knows it: they sign in once given a password
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


def _record_values(record: Record, department_ids: dict[str, int]) -> dict:
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


def apply_staged_import(actor: User, token: str, sha256: str, *, ip_address: str = "") -> ImportPlan:
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
