"""The HR feed's run (`flask staff sync`): under one lock, plan the whole file, apply or refuse it, audit the run."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import false, text, update
from sqlalchemy.exc import OperationalError

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.errors import DomainError
from training.extensions import db
from training.mail import MailSettings, build_message, transport_for
from training.staff import feed, import_planner
from training.staff.changes import transaction
from training.staff.csv_import import directory, write_rows
from training.staff.import_plan import ImportPlan
from training.staff.people import end_access
from training.staging import sha256_hex

FEED_LOCK_KEY = 0x7374616666  # "staff": the PostgreSQL advisory lock that one sync holds at a time
BUSY_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED")


class SyncBusy(DomainError):
    """Another sync holds the feed's lock: this one changes nothing."""

    status = 409
    code = "sync_running"


@dataclass(frozen=True)
class SyncRun:
    """One run of the feed: its plan and counts, and why it was refused ("" when it was, or would be, applied)."""

    plan: ImportPlan
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


def _plan_feed(data: bytes, create_departments: bool) -> ImportPlan:
    return import_planner.plan_import(
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


def _apply_feed(plan: ImportPlan) -> None:
    """Write the plan: rows as the import does, then reactivations and deactivations, each audited."""
    created, updated = write_rows(plan, None, "", source="sync")
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
        end_access(user_id, None, "", {"source": "sync"})
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
