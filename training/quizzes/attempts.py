"""A learner's quiz attempts: starting (drawing the questions), submitting once, the review and the history.

Grading itself is in grading.py; whether another attempt may start is in allowances.py.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from training import events
from training.clock import day_text
from training.content import catalog
from training.db import utcnow
from training.errors import Conflict, DomainError, HiddenRecord, NotFound
from training.extensions import db
from training.quizzes import grading
from training.quizzes.allowances import gate_message
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt
from training.quizzes.rules import AttemptGate

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
    """One question of an attempt, as the quiz and results pages show it."""

    asked: AttemptQuestion
    version: catalog.QuestionVersionView
    options: list[catalog.OptionView]
    selected_ids: frozenset[int]
    correct: bool


def _load_attempt(attempt_id: int) -> QuizAttempt | None:
    """The attempt with its questions and answers, in one statement; the question versions they point to come
    from the catalog cache, and the course from `catalog.course(attempt.course_id)`."""
    return db.session.execute(_attempt_statement(), {"attempt_id": attempt_id}).unique().scalar_one_or_none()


@cache
def _attempt_statement():
    """Built once per process: building a statement and its cache key costs more than running it."""
    return (
        select(QuizAttempt)
        .where(QuizAttempt.id == bindparam("attempt_id"))
        .options(lazyload(QuizAttempt.course), joinedload(QuizAttempt.questions).joinedload(AttemptQuestion.answer))
    )


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
    course: catalog.CourseView,
    *,
    cycle: int,
    completed_until: datetime | None,
    open_attempt_id: int | None,
    gate: AttemptGate,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> QuizAttempt:
    """Resume the learner's open attempt or draw a new one, stored with its questions and option order.

    The learner's records decide `cycle`, whether a current completion (valid until `completed_until`) makes
    the quiz unnecessary, which attempt is open and what the attempt limits allow (`gate`):
    `courses.services.start_quiz` reads them in one statement and passes them.
    """
    if not course.published:
        raise NotFound("This course is not available.")
    now = now or utcnow()
    if completed_until is not None:
        raise Conflict(f"You have completed this course; it is valid until {day_text(completed_until)}.")
    if open_attempt_id is not None:
        return db.session.get(QuizAttempt, open_attempt_id)
    if not gate.allowed:
        raise AttemptRefused(gate_message(gate))
    shuffler = rng or _system_random
    versions = _draw_questions(course, shuffler)
    attempt = QuizAttempt(
        user_id=user_id,
        course_id=course.id,
        course_version=course.version,
        cycle=cycle,
        pass_mark=course.pass_mark,
        started_at=now,
    )
    try:
        db.session.add(attempt)
        db.session.flush()
    except IntegrityError:
        # Another request opened an attempt at the same moment; the partial unique index kept one.
        # Nothing else was written in this transaction, so it is rolled back whole.
        db.session.rollback()
        existing = open_attempt(user_id, course.id)
        if existing is None:
            raise
        return existing
    db.session.execute(insert(AttemptQuestion), _drawn_questions(attempt.id, versions, shuffler))
    events.publish(events.attempt_started, "quizzes", user_ids=[user_id], now=now, course_id=course.id)
    db.session.commit()
    return attempt


def _drawn_questions(attempt_id: int, versions, shuffler: random.Random) -> list[dict]:
    """The attempt's questions, each with its options in a shuffled order, as rows for one INSERT."""
    rows = []
    for position, version in enumerate(versions):
        option_ids = [o.id for o in version.options]
        shuffler.shuffle(option_ids)
        rows.append(
            {
                "attempt_id": attempt_id,
                "question_version_id": version.id,
                "position": position,
                "option_order": option_ids,
            }
        )
    return rows


def _draw_questions(course: catalog.CourseView, rng: random.Random) -> list[catalog.QuestionVersionView]:
    versions = catalog.drawable_versions(course.id)
    if len(versions) < course.questions_per_attempt:
        raise Conflict("This course's quiz is not ready: it has too few published questions.")
    return rng.sample(versions, course.questions_per_attempt)


def _versions_of(attempt: QuizAttempt) -> dict[int, catalog.QuestionVersionView]:
    return catalog.question_versions([asked.question_version_id for asked in attempt.questions])


def gradable(attempt: QuizAttempt) -> list[grading.GradableQuestion]:
    versions = _versions_of(attempt)
    return [
        grading.GradableQuestion(
            id=asked.id,
            type=versions[asked.question_version_id].type,
            option_ids=frozenset(asked.option_order),
            correct_option_ids=frozenset(o.id for o in versions[asked.question_version_id].options if o.correct),
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
    course = catalog.course(attempt.course_id)
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
    db.session.execute(
        insert(AttemptAnswer),
        [
            {
                "attempt_question_id": item.question_id,
                "selected_option_ids": sorted(item.selected),
                "correct": item.correct,
                "answered_at": now,
            }
            for item in result.results
        ],
    )
    # The UPDATE went around the session: give the loaded attempt the values it wrote, as if read back,
    # so that a completion recorded next sees this attempt's score (a refresh would reload all its questions).
    for name, value in (("submitted_at", now), ("score", result.score), ("passed", result.passed)):
        set_committed_value(attempt, name, value)
    events.publish(events.attempt_submitted, "quizzes", user_ids=[user_id], now=now, course_id=course.id)
    return attempt


def review(attempt: QuizAttempt) -> list[ReviewItem]:
    """Each question with the options in the order shown and what the learner chose."""
    versions = _versions_of(attempt)
    items = []
    for asked in attempt.questions:
        version = versions[asked.question_version_id]
        by_id = {o.id: o for o in version.options}
        selected = frozenset(asked.answer.selected_option_ids) if asked.answer else frozenset()
        items.append(
            ReviewItem(
                asked=asked,
                version=version,
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
