"""Compliance keeps obligations true to the records: it listens for the domain events that change what someone
must do (training/events.py) and brings those people's obligations up to date once, just before the transaction
that sent them commits.

Acting at the commit rather than at each event means one rebuild per transaction however many events it sent
(a quiz submission that completes a course sends two), and it reads the records as the transaction leaves them.
It runs inside that transaction: it commits or rolls back with the change that caused it.

Not every event needs a rebuild. Drawing a quiz attempt or marking a module only adds activity to the learner's
current cycle, which can only put the course "in progress" (`mark_started`, one UPDATE); submitting an attempt
that completes nothing changes no obligation at all (the completion, when there is one, sends its own event).
`note_change` hears every event and counts them per person; `note_course_started` and `note_no_change` hear
the light ones and count those, so a person is rebuilt exactly when one of their events was not a light one,
whatever order the receivers run in.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

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

    events_by_person: Counter = field(default_factory=Counter)
    light_events_by_person: Counter = field(default_factory=Counter)
    started_courses: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    everyone: bool = False
    now: datetime | None = None

    @property
    def user_ids(self) -> set[int]:
        return set(self.events_by_person)

    def to_rebuild(self) -> set[int]:
        return {p for p, n in self.events_by_person.items() if n > self.light_events_by_person[p]}


def _pending() -> PendingRebuild:
    session = db.session()
    if not session.in_transaction():
        # An event before any write: begin the transaction now, so that its rollback forgets the rebuild.
        session.begin()
    return session.info.setdefault(PENDING, PendingRebuild())


def note_change(sender, *, user_ids, now=None, **_details) -> None:
    pending = _pending()
    if user_ids is None:
        pending.everyone = True
    else:
        pending.events_by_person.update(user_ids)
    pending.now = now or pending.now


def note_course_started(sender, *, user_ids, course_id, **_details) -> None:
    pending = _pending()
    pending.light_events_by_person.update(user_ids)
    pending.started_courses[course_id].update(user_ids)


def note_no_change(sender, *, user_ids, **_details) -> None:
    _pending().light_events_by_person.update(user_ids)


def rebuild_before_commit(session) -> None:
    pending: PendingRebuild | None = session.info.pop(PENDING, None)
    if pending is None or not (pending.everyone or pending.user_ids):
        return
    rebuild = pending.to_rebuild()
    if pending.everyone or rebuild:
        # A rebuild runs anyway: the light events' people join its batch, which costs no extra statement.
        refresh_obligations(None if pending.everyone else pending.user_ids, pending.now)
        return
    for course_id, user_ids in sorted(pending.started_courses.items()):
        mark_started(user_ids, course_id, pending.now)


def forget_after_rollback(session, previous_transaction) -> None:
    """A rolled-back transaction's changes are gone, and so is the rebuild they asked for."""
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


for signal in events.ALL:
    signal.connect(note_change)
for signal in STARTS_COURSE:
    signal.connect(note_course_started)
for signal in CHANGES_NOTHING:
    signal.connect(note_no_change)
event.listen(db.session, "before_commit", rebuild_before_commit)
event.listen(db.session, "after_soft_rollback", forget_after_rollback)
