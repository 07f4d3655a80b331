"""Compliance keeps obligations true to the records: it listens for the domain events that change what someone
must do (training/events.py) and rebuilds those people's obligations once, just before the transaction that sent
them commits.

Rebuilding at the commit rather than at each event means one rebuild per transaction however many events it sent
(a quiz submission that completes a course sends two), and it reads the records as the transaction leaves them.
The rebuild runs inside that transaction: it commits or rolls back with the change that caused it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event

from training import events
from training.compliance.obligations import refresh_obligations
from training.extensions import db

PENDING = "compliance.pending_obligations"


@dataclass
class PendingRebuild:
    """The people whose obligations this transaction must rebuild; `everyone` when an event named no one."""

    user_ids: set[int] = field(default_factory=set)
    everyone: bool = False
    now: datetime | None = None


def note_change(sender, *, user_ids, now=None, **_details) -> None:
    session = db.session()
    if not session.in_transaction():
        # An event before any write: begin the transaction now, so that its rollback forgets the rebuild.
        session.begin()
    pending = session.info.setdefault(PENDING, PendingRebuild())
    if user_ids is None:
        pending.everyone = True
    else:
        pending.user_ids.update(user_ids)
    pending.now = now or pending.now


def rebuild_before_commit(session) -> None:
    pending: PendingRebuild | None = session.info.pop(PENDING, None)
    if pending is not None and (pending.everyone or pending.user_ids):
        refresh_obligations(None if pending.everyone else pending.user_ids, pending.now)


def forget_after_rollback(session, previous_transaction) -> None:
    """A rolled-back transaction's changes are gone, and so is the rebuild they asked for."""
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


for signal in events.ALL:
    signal.connect(note_change)
event.listen(db.session, "before_commit", rebuild_before_commit)
event.listen(db.session, "after_soft_rollback", forget_after_rollback)
