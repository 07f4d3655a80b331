"""Domain events: how a lower area tells the areas above it that something happened, without importing them.

Dependencies point down (docs/architecture.md): quizzes may call content, never compliance. But when a learner
submits an attempt, compliance must rebuild that person's obligations. So the quiz service sends
`attempt_submitted` and compliance, which sits above, subscribes. Calls go down, events go up.

These are blinker signals, as Flask itself uses. Receivers run synchronously, in the sender's request and inside
its database transaction, before the sender commits: a receiver's writes commit or roll back with the sender's.
The order of several receivers of one signal is not defined, so a receiver must not depend on another's.

Every signal is sent with the keyword arguments named in its docstring; `now` is the moment of the change (tests
move it), `user_ids` the people concerned or None for everyone.
"""

from blinker import Namespace

_signals = Namespace()

person_changed = _signals.signal(
    "person-changed",
    doc="A person was created, moved, given another job title or manager, deactivated or reactivated. "
    "Sent with user_ids, now.",
)
module_completed = _signals.signal(
    "module-completed", doc="A learner marked a module complete. Sent with user_ids, course_id, now."
)
attempt_started = _signals.signal(
    "attempt-started", doc="A learner started a quiz attempt. Sent with user_ids, course_id, now."
)
attempt_submitted = _signals.signal(
    "attempt-submitted", doc="A quiz attempt was graded and recorded. Sent with user_ids, course_id, now."
)
completion_recorded = _signals.signal(
    "completion-recorded", doc="A learner completed a course and was issued a certificate. Sent with user_ids, now."
)
certificate_revoked = _signals.signal("certificate-revoked", doc="A certificate was revoked. Sent with user_ids, now.")
policy_changed = _signals.signal(
    "policy-changed",
    doc="A policy was created, published in a new version, linked to other courses or retired. Sent with "
    "user_ids (None: everyone), now.",
)
policy_read = _signals.signal(
    "policy-read", doc="A person opened or attested to a policy version. Sent with user_ids, now."
)
job_finished = _signals.signal(
    "job-finished",
    doc="A background job made its result. Unlike the others, sent after the job's row is committed. Sent with "
    "user_ids (who asked for it), job_id.",
)

# The events of domain records, which compliance follows (job_finished is not one).
ALL = (
    person_changed,
    module_completed,
    attempt_started,
    attempt_submitted,
    completion_recorded,
    certificate_revoked,
    policy_changed,
    policy_read,
)


def publish(signal, sender: str, *, user_ids: list[int] | None, now=None, **details) -> None:
    """Send a domain event from `sender` (the sending area's name) to every subscriber."""
    signal.send(sender, user_ids=user_ids, now=now, **details)
