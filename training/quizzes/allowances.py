"""HR's extra attempts at a course with an attempt limit, and what the learner is told when the gate is closed."""

import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from training.audit.services import record_event
from training.auth.models import User
from training.clock import local_time
from training.completions.services import current_cycle
from training.content.models import Course
from training.errors import DomainError, NotFound
from training.extensions import db
from training.quizzes import rules
from training.quizzes.models import AttemptAllowance


def gate_message(gate: rules.AttemptGate) -> str:
    if gate.reason == "limit":
        return f"You have used all {gate.allowed_attempts} attempts. Your HR team can allow another attempt."
    if gate.reason == "wait":
        return f"You can start your next attempt after {local_time(gate.wait_until)}."
    return ""


MAX_EXTRA_ATTEMPTS = 5
# The grant form's one-time key: secrets.token_urlsafe(32) makes 43 of these characters.
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
STALE_GRANT_FORM = "This form was changed or is out of date. Reload the page and fill it in again."


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(32)


def grant_allowance(
    actor: User, person: User, course_id: int, extra_attempts: int, reason: str, ip: str = "", *, key: str
) -> AttemptAllowance:
    """HR allows a learner more attempts at a course in their current cycle; recorded and audited.

    `key` is the form's one-time key: the same form sent again, even at the same moment, returns the
    grant it made (a unique index keeps one) instead of granting twice.
    """
    if not IDEMPOTENCY_KEY.match(key or ""):
        raise DomainError(STALE_GRANT_FORM, tampered="idempotency key")
    earlier = _allowance_with_key(key)
    if earlier is not None:
        return _same_grant(earlier, actor, person)
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("There is no such course.")
    if not 1 <= extra_attempts <= MAX_EXTRA_ATTEMPTS:
        raise DomainError(f"Allow from 1 to {MAX_EXTRA_ATTEMPTS} extra attempts.")
    cycle = current_cycle(person.id, course.id)
    allowance = AttemptAllowance(
        user_id=person.id,
        course_id=course.id,
        cycle=cycle,
        extra_attempts=extra_attempts,
        reason=reason[:300],
        granted_by_id=actor.id,
        idempotency_key=key,
    )
    db.session.add(allowance)
    record_event(
        "attempt_allowance.granted",
        actor_id=actor.id,
        subject_type="user",
        subject_id=str(person.id),
        details={"course": course.slug, "cycle": cycle, "extra_attempts": extra_attempts, "reason": reason[:300]},
        ip_address=ip,
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same form, sent at the same moment, granted first: the unique key kept its row only.
        db.session.rollback()
        earlier = _allowance_with_key(key)
        if earlier is None:
            raise
        return _same_grant(earlier, actor, person)
    return allowance


def _allowance_with_key(key: str) -> AttemptAllowance | None:
    return db.session.execute(select(AttemptAllowance).where(AttemptAllowance.idempotency_key == key)).scalar()


def _same_grant(earlier: AttemptAllowance, actor: User, person: User) -> AttemptAllowance:
    """A form sent again is answered with its grant; its key sent for another person or by someone else
    is a crafted form."""
    if (earlier.granted_by_id, earlier.user_id) != (actor.id, person.id):
        raise DomainError(STALE_GRANT_FORM, tampered="idempotency key of another grant")
    return earlier


def allowances_of(user_id: int) -> list:
    """Extra attempts granted to a person, newest first, with the course title and who granted them."""
    return db.session.execute(
        select(AttemptAllowance, Course.title, User.name)
        .join(Course, Course.id == AttemptAllowance.course_id)
        .outerjoin(User, User.id == AttemptAllowance.granted_by_id)
        .where(AttemptAllowance.user_id == user_id)
        .order_by(AttemptAllowance.granted_at.desc(), AttemptAllowance.id.desc())
    ).all()


def limited_courses() -> list[Course]:
    """Published courses with an attempt limit: the ones where an allowance makes a difference."""
    query = select(Course).where(Course.published.is_(True), Course.max_attempts.is_not(None))
    return db.session.execute(query.order_by(Course.title)).scalars().all()
