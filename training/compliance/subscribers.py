"""Compliance keeps obligations true to the records: it listens for the domain events that change what someone
must do (training/events.py) and brings those people's obligations up to date once, just before the transaction
that sent them commits.

Acting at the commit rather than at each event means one rebuild per transaction however many events it sent
(a quiz submission that completes a course sends two), and it reads the records as the transaction leaves them.
It runs inside that transaction: it commits or rolls back with the change that caused it.

Not every event needs a rebuild. Drawing a quiz attempt or marking a module only adds activity to the learner's
current cycle, which can only put the course "in progress" (`mark_started`, one UPDATE); submitting an attempt
that completes nothing changes no obligation at all (the completion, when there is one, sends its own event).
Each signal gets its own receiver, which knows which event it hears.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from blinker import Signal
from sqlalchemy import event

from training import events
from training.compliance.obligations import mark_started, refresh_obligations
from training.extensions import db

PENDING = "compliance.pending_obligations"
# Events that only put a course in progress, and those that change no obligation.
STARTS_COURSE = (events.attempt_started, events.module_completed)
CHANGES_NOTHING = (events.attempt_submitted,)


@dataclass
class PendingRebuild:
    """What this transaction's events ask of compliance; `everyone` when an event named no one."""

    rebuild: set[int] = field(default_factory=set)
    started_courses: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    everyone: bool = False
    now: datetime | None = None

    def people(self) -> set[int]:
        """Everyone an event named: the light events' people join a rebuild's batch at no extra statement."""
        return self.rebuild.union(*self.started_courses.values())


def _pending() -> PendingRebuild:
    session = db.session()
    if not session.in_transaction():
        # An event before any write: begin the transaction now, so that its rollback forgets the rebuild.
        session.begin()
    return session.info.setdefault(PENDING, PendingRebuild())


def note_event(signal: Signal, user_ids: list[int] | None, course_id: int | None, now: datetime | None) -> None:
    pending = _pending()
    pending.now = now or pending.now
    if signal in CHANGES_NOTHING:
        return
    if signal in STARTS_COURSE:
        pending.started_courses[course_id].update(user_ids)
    elif user_ids is None:
        pending.everyone = True
    else:
        pending.rebuild.update(user_ids)


def receiver_for(signal: Signal):
    def note(sender, *, user_ids, now=None, course_id=None, **_details) -> None:
        note_event(signal, user_ids, course_id, now)

    return note


def rebuild_before_commit(session) -> None:
    pending: PendingRebuild | None = session.info.pop(PENDING, None)
    if pending is None:
        return
    if pending.everyone or pending.rebuild:
        refresh_obligations(None if pending.everyone else pending.people(), pending.now)
        return
    for course_id, user_ids in sorted(pending.started_courses.items()):
        mark_started(user_ids, course_id, pending.now)


def forget_after_rollback(session, previous_transaction) -> None:
    """A rolled-back transaction's changes are gone, and so is the rebuild they asked for."""
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


for each_signal in events.ALL:
    # Strong references: blinker would otherwise drop these closures as soon as the loop moves on.
    each_signal.connect(receiver_for(each_signal), weak=False)
event.listen(db.session, "before_commit", rebuild_before_commit)
event.listen(db.session, "after_soft_rollback", forget_after_rollback)
