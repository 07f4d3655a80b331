"""Starting, submitting and reviewing quiz attempts. Grading itself is in grading.py."""

import random
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.clock import local_time
from training.completions.services import current_cycle
from training.content.models import Course, Question, QuestionVersion
from training.db import utcnow
from training.errors import Conflict, DomainError, HiddenRecord, NotFound
from training.extensions import db
from training.quizzes import grading, rules
from training.quizzes.models import AttemptAllowance, AttemptAnswer, AttemptQuestion, QuizAttempt

_system_random = random.SystemRandom()
NO_SUCH_ATTEMPT = "There is no such quiz attempt."


class AttemptAlreadySubmitted(Conflict):
    code = "already_submitted"

    def __init__(self, attempt_id: int):
        super().__init__("This attempt has already been submitted and graded.")
        self.attempt_id = attempt_id


class AttemptRefused(Conflict):
    """The course's attempt limit is used up, or the wait after a failed attempt has not passed."""

    code = "attempt_refused"


class IncompleteAnswers(DomainError):
    """Some questions are unanswered: the learner sees the quiz again with their choices kept."""

    status = 422
    code = "incomplete_answers"

    def __init__(self, message: str, missing, answers):
        super().__init__(message)
        self.missing = missing
        self.answers = answers


@dataclass(frozen=True)
class ReviewItem:
    """One question of a graded attempt, as the results page shows it."""

    asked: AttemptQuestion
    options: list
    selected_ids: frozenset[int]
    correct: bool


def _load_attempt(attempt_id: int) -> QuizAttempt | None:
    return db.session.execute(
        select(QuizAttempt)
        .where(QuizAttempt.id == attempt_id)
        .options(
            selectinload(QuizAttempt.questions)
            .selectinload(AttemptQuestion.question_version)
            .selectinload(QuestionVersion.options),
            selectinload(QuizAttempt.questions).selectinload(AttemptQuestion.answer),
        )
    ).scalar_one_or_none()


def attempt_for_learner(user_id: int, attempt_id: int) -> QuizAttempt:
    """The attempt if it belongs to this learner; otherwise the same 404 as for a missing one."""
    attempt = _load_attempt(attempt_id)
    if attempt is None:
        raise NotFound(NO_SUCH_ATTEMPT, tampered="unknown attempt id")
    if attempt.user_id != user_id:
        raise HiddenRecord(
            NO_SUCH_ATTEMPT, subject_type="quiz_attempt", subject_id=attempt.id, tampered="attempt of another person"
        )
    return attempt


def open_attempt(user_id: int, course_id: int) -> QuizAttempt | None:
    return db.session.execute(
        select(QuizAttempt).where(
            QuizAttempt.user_id == user_id, QuizAttempt.course_id == course_id, QuizAttempt.submitted_at.is_(None)
        )
    ).scalar_one_or_none()


def start_attempt(
    user_id: int,
    course: Course,
    *,
    cycle: int,
    completed_until: datetime | None,
    rng: random.Random | None = None,
    now: datetime | None = None,
):
    """Resume the learner's open attempt or draw a new one, stored with its questions and option order.

    The learner's course progress decides `cycle` and whether a current completion (valid until
    `completed_until`) makes the quiz unnecessary: `courses.services.start_quiz` passes both.
    """
    if not course.published:
        raise NotFound("This course is not available.")
    now = now or utcnow()
    if completed_until is not None:
        raise Conflict(f"You have completed this course; it is valid until {completed_until.date().isoformat()}.")
    existing = open_attempt(user_id, course.id)
    if existing is not None:
        return existing
    gate = attempt_gate(user_id, course, cycle, now)
    if not gate.allowed:
        raise AttemptRefused(gate_message(gate))
    versions = _draw_questions(course, rng or _system_random)
    attempt = QuizAttempt(
        user_id=user_id,
        course_id=course.id,
        course_version=course.version,
        cycle=cycle,
        pass_mark=course.pass_mark,
        started_at=now,
    )
    shuffler = rng or _system_random
    for position, version in enumerate(versions):
        option_ids = [o.id for o in version.options]
        shuffler.shuffle(option_ids)
        attempt.questions.append(
            AttemptQuestion(question_version_id=version.id, position=position, option_order=option_ids)
        )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # Another request opened an attempt at the same moment; the partial unique index kept one.
        existing = open_attempt(user_id, course.id)
        if existing is None:
            raise
        attempt = existing
    events.publish(events.attempt_started, "quizzes", user_ids=[user_id], now=now, course_id=course.id)
    db.session.commit()
    return attempt


def attempt_gate(user_id: int, course: Course, cycle: int, now: datetime | None = None) -> rules.AttemptGate:
    """May this learner start a new attempt in this cycle? (training/quizzes/rules.attempt_gate)."""
    in_cycle = (QuizAttempt.user_id == user_id) & (QuizAttempt.course_id == course.id) & (QuizAttempt.cycle == cycle)
    submitted = in_cycle & QuizAttempt.submitted_at.is_not(None)
    count = db.session.execute(select(func.count()).select_from(QuizAttempt).where(submitted)).scalar_one()
    last = db.session.execute(
        select(QuizAttempt.submitted_at, QuizAttempt.passed)
        .where(submitted)
        .order_by(QuizAttempt.submitted_at.desc())
        .limit(1)
    ).first()
    extra = db.session.execute(
        select(func.coalesce(func.sum(AttemptAllowance.extra_attempts), 0)).where(
            AttemptAllowance.user_id == user_id,
            AttemptAllowance.course_id == course.id,
            AttemptAllowance.cycle == cycle,
        )
    ).scalar_one()
    facts = rules.AttemptFacts(
        now=now or utcnow(),
        max_attempts=course.max_attempts,
        extra_attempts=int(extra),
        submitted=count,
        wait_minutes=course.attempt_wait_minutes,
        last_submitted_at=last.submitted_at if last else None,
        last_passed=last.passed if last else None,
    )
    return rules.attempt_gate(facts)


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


def _draw_questions(course: Course, rng: random.Random) -> list[QuestionVersion]:
    versions = (
        db.session.execute(
            select(QuestionVersion)
            .join(Question, Question.current_version_id == QuestionVersion.id)
            .where(Question.course_id == course.id, Question.status == "published")
            .order_by(Question.key)
            .options(selectinload(QuestionVersion.options))
        )
        .scalars()
        .all()
    )
    if len(versions) < course.questions_per_attempt:
        raise Conflict("This course's quiz is not ready: it has too few published questions.")
    return rng.sample(versions, course.questions_per_attempt)


def gradable(attempt: QuizAttempt) -> list[grading.GradableQuestion]:
    return [
        grading.GradableQuestion(
            id=asked.id,
            type=asked.question_version.type,
            option_ids=frozenset(asked.option_order),
            correct_option_ids=frozenset(o.id for o in asked.question_version.options if o.correct),
        )
        for asked in attempt.questions
    ]


def submit_attempt(
    user_id: int, attempt_id: int, answers: Mapping[int, list[int]], now: datetime | None = None
) -> QuizAttempt:
    """Grade and record an attempt exactly once, in the caller's transaction (`courses.services.submit_quiz`
    completes the course when this was the last step, then commits)."""
    now = now or utcnow()
    attempt = attempt_for_learner(user_id, attempt_id)
    if attempt.submitted_at is not None:
        raise AttemptAlreadySubmitted(attempt.id)
    course = attempt.course
    if not course.published:
        raise NotFound("This course is no longer available, so the attempt cannot be submitted.")
    try:
        result = grading.grade(gradable(attempt), answers, attempt.pass_mark)
    except grading.AnswerError as exc:
        if exc.missing:
            raise IncompleteAnswers(exc.message, exc.missing, answers) from exc
        # Missing answers are an honest mistake; anything else only a crafted form can send.
        raise DomainError(exc.message, code="invalid_answers", tampered="quiz answer not in the attempt") from exc
    claimed = db.session.execute(
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.submitted_at.is_(None))
        .values(submitted_at=now, score=result.score, passed=result.passed)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise AttemptAlreadySubmitted(attempt.id)
    for item in result.results:
        db.session.add(
            AttemptAnswer(
                attempt_question_id=item.question_id,
                selected_option_ids=sorted(item.selected),
                correct=item.correct,
                answered_at=now,
            )
        )
    db.session.flush()
    # The UPDATE went around the session: give the loaded attempt the values it wrote, as if read back,
    # so that a completion recorded next sees this attempt's score (a refresh would reload all its questions).
    for name, value in (("submitted_at", now), ("score", result.score), ("passed", result.passed)):
        set_committed_value(attempt, name, value)
    events.publish(events.attempt_submitted, "quizzes", user_ids=[user_id], now=now, course_id=course.id)
    return attempt


def review(attempt: QuizAttempt) -> list[ReviewItem]:
    """Each question with the options in the order shown and what the learner chose."""
    items = []
    for asked in attempt.questions:
        by_id = {o.id: o for o in asked.question_version.options}
        selected = frozenset(asked.answer.selected_option_ids) if asked.answer else frozenset()
        items.append(
            ReviewItem(
                asked=asked,
                options=[by_id[i] for i in asked.option_order],
                selected_ids=selected,
                correct=bool(asked.answer and asked.answer.correct),
            )
        )
    return items


def attempt_history(user_id: int, course_id: int, limit: int | None = None) -> list[QuizAttempt]:
    """A learner's attempts at a course, newest first; with `limit`, only that many of the newest."""
    return (
        db.session.execute(
            select(QuizAttempt)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.course_id == course_id)
            .order_by(QuizAttempt.started_at.desc(), QuizAttempt.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def parse_answer_form(form: Mapping[str, list[str]]) -> dict[int, list[int]]:
    """Turn form fields named q-<asked id> into {asked id: [option ids]}; reject anything malformed."""
    answers: dict[int, list[int]] = {}
    for key, values in form.items():
        if key == "csrf_token":
            continue
        if not key.startswith("q-") or not key[2:].isdigit():
            raise DomainError(
                "The form contained a field that is not part of this quiz.",
                code="invalid_answers",
                tampered="quiz field not in the attempt",
            )
        try:
            answers[int(key[2:])] = [int(v) for v in values]
        except ValueError as exc:
            raise DomainError(
                "The form contained an answer that is not an option.",
                code="invalid_answers",
                tampered="quiz answer not an option id",
            ) from exc
    return answers
