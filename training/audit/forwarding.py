"""The audit record and the security log, forwarded to the hospital's SIEM as RFC 5424 syslog (ASVS 16.4.3).

The database row is the record: an audit event is sent only after its transaction commits, from a
thread of its own (training/syslog.py), so the request never waits for the SIEM and a SIEM outage
never fails or delays a write. While the SIEM is unreachable, events wait in memory and are sent when
it answers again; whatever was not sent (the buffer full, the process stopped) is still in the
database, and `flask audit forward --since ID` sends it again. Each message carries the event's id,
so the SIEM can drop a repeat.

Audit events are MSGID `audit` with an `audit@32473` structured-data element; `training.security`
log lines are MSGID `security`. 32473 is the example enterprise number of RFC 5612: the application
has no IANA number of its own.
"""

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event, select

from training.audit.models import AuditEvent
from training.extensions import db
from training.logs import current_request_id
from training.syslog import (
    FACILITY_AUTH,
    FACILITY_LOG_AUDIT,
    SEVERITY_NOTICE,
    SEVERITY_OF_LEVEL,
    SEVERITY_WARNING,
    SyslogConnection,
    SyslogDestination,
    SyslogForwarder,
    SyslogMessage,
    encode,
    format_timestamp,
)

EXTENSION = "audit_syslog"
AUDIT_SD_ID = "audit@32473"
SECURITY_SD_ID = "security@32473"
SECURITY_LOGGER = "training.security"
_HANDLER_NAME = "training-audit-syslog"
_PENDING = "audit_events_to_forward"


def init_app(app: Flask) -> None:
    """With AUDIT_SYSLOG_URL set, forward each committed audit event and each security log line."""
    destination: SyslogDestination | None = app.config["AUDIT_SYSLOG_DESTINATION"]
    _detach_security_handler()
    if destination is None:
        return
    forwarder = SyslogForwarder(destination)
    app.extensions[EXTENSION] = forwarder
    handler = SecurityLogForwarding(forwarder)
    handler.set_name(_HANDLER_NAME)
    logging.getLogger(SECURITY_LOGGER).addHandler(handler)


def _detach_security_handler() -> None:
    """One app per process in production; tests make many, and only the newest forwards the security log."""
    security_log = logging.getLogger(SECURITY_LOGGER)
    for handler in [handler for handler in security_log.handlers if handler.get_name() == _HANDLER_NAME]:
        security_log.removeHandler(handler)


@dataclass(frozen=True)
class ForwardedEvent:
    """An audit event as plain values, taken when it was flushed (after the commit its row is expired)."""

    id: int
    occurred_at: datetime
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: str
    details: dict
    ip_address: str
    request_id: str = ""

    @classmethod
    def of(cls, audit_event: AuditEvent, request_id: str = "") -> "ForwardedEvent":
        return cls(
            audit_event.id,
            audit_event.occurred_at,
            audit_event.actor_id,
            audit_event.action,
            audit_event.subject_type or "",
            audit_event.subject_id or "",
            dict(audit_event.details or {}),
            audit_event.ip_address or "",
            request_id,
        )


def audit_message(audit_event: ForwardedEvent) -> SyslogMessage:
    """The structured data holds each field (details as JSON); the message text is the whole event as JSON."""
    fields = {
        "id": str(audit_event.id),
        "action": audit_event.action,
        "actor_id": "" if audit_event.actor_id is None else str(audit_event.actor_id),
        "subject_type": audit_event.subject_type,
        "subject_id": audit_event.subject_id,
        "occurred_at": format_timestamp(audit_event.occurred_at),
        "ip": audit_event.ip_address,
        "request_id": audit_event.request_id,
        "details": json.dumps(audit_event.details, sort_keys=True, ensure_ascii=False, default=str),
    }
    text = fields | {"actor_id": audit_event.actor_id, "id": audit_event.id, "details": audit_event.details}
    return SyslogMessage(
        facility=FACILITY_LOG_AUDIT,
        severity=SEVERITY_NOTICE,
        timestamp=audit_event.occurred_at,
        msgid="audit",
        structured_data=((AUDIT_SD_ID, tuple(fields.items())),),
        msg=json.dumps(text, sort_keys=True, default=str),
        label=f"audit event {audit_event.id} (send it again with `flask audit forward --since {audit_event.id}`)",
    )


def _forwarder() -> SyslogForwarder | None:
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


# The session's events: an audit event added in a transaction is remembered when it is flushed (it has
# its id then), forgotten if its transaction or savepoint rolls back, and sent once the outermost
# transaction has committed.


@event.listens_for(Session, "after_flush")
def _remember_flushed_audit_events(session, _flush_context) -> None:
    if _forwarder() is None:
        return
    flushed = [audit_event for audit_event in session.new if isinstance(audit_event, AuditEvent)]
    if flushed:
        transaction = session.get_nested_transaction() or session.get_transaction()
        request_id = current_request_id()
        session.info.setdefault(_PENDING, []).extend(
            (transaction, ForwardedEvent.of(audit_event, request_id)) for audit_event in flushed
        )


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_audit_events(session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [entry for entry in pending if not _inside(entry[0], previous_transaction)]


def _inside(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _forward_committed_audit_events(session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the events are not committed yet
        return
    pending = session.info.pop(_PENDING, [])
    forwarder = _forwarder() if pending else None
    if forwarder is None:
        return
    for _transaction, audit_event in sorted(pending, key=lambda entry: entry[1].id):
        forwarder.submit(audit_message(audit_event))


class SecurityLogForwarding(logging.Handler):
    """Sends each `training.security` line (CSRF refusals, rate limits, ...) as MSGID `security`."""

    def __init__(self, forwarder: SyslogForwarder):
        super().__init__(logging.INFO)
        self.forwarder = forwarder

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            fields = (
                ("event", text.split(" ", 1)[0]),
                ("level", record.levelname.lower()),
                ("request_id", getattr(record, "request_id", "") or current_request_id()),
            )
            self.forwarder.submit(
                SyslogMessage(
                    facility=FACILITY_AUTH,
                    severity=SEVERITY_OF_LEVEL.get(record.levelno, SEVERITY_WARNING),
                    timestamp=_record_time(record),
                    msgid="security",
                    structured_data=((SECURITY_SD_ID, fields),),
                    msg=text,
                    label="a security log line",
                )
            )
        except Exception:
            self.handleError(record)


def _record_time(record: logging.LogRecord) -> datetime:
    return datetime.fromtimestamp(record.created, UTC)


# Sending again from the database: `flask audit forward`.


@dataclass(frozen=True)
class ForwardReport:
    sent: int
    first_id: int | None
    last_id: int | None


class ForwardingFailed(Exception):
    def __init__(self, reason: str, report: ForwardReport):
        super().__init__(reason)
        self.reason, self.report = reason, report


def events_from(since_id: int, until_id: int | None, batch: int = 500) -> Iterator[ForwardedEvent]:
    """Audit events with ids from `since_id` (to `until_id`), in id order, read a batch at a time."""
    next_id = since_id
    while True:
        query = select(AuditEvent).where(AuditEvent.id >= next_id).order_by(AuditEvent.id).limit(batch)
        if until_id is not None:
            query = query.where(AuditEvent.id <= until_id)
        rows = db.session.execute(query).scalars().all()
        if not rows:
            return
        for row in rows:
            yield ForwardedEvent.of(row)
        next_id = rows[-1].id + 1
        db.session.expunge_all()


def forward_again(destination: SyslogDestination, since_id: int, until_id: int | None = None) -> ForwardReport:
    """Send audit events from the database to the SIEM, waiting for each write; ForwardingFailed says how far."""
    connection = SyslogConnection(destination)
    sent, first_id, last_id = 0, None, None
    try:
        for audit_event in events_from(since_id, until_id):
            try:
                connection.send(encode(audit_message(audit_event)))
            except OSError as exc:
                raise ForwardingFailed(str(exc) or type(exc).__name__, ForwardReport(sent, first_id, last_id)) from exc
            sent, first_id, last_id = sent + 1, first_id or audit_event.id, audit_event.id
    finally:
        connection.close()
    return ForwardReport(sent, first_id, last_id)
