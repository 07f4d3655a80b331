"""A learner's way through a course: progress, modules read, the quiz, the completion and its certificate.

This area sits above quizzes, certificates and policies (docs/architecture.md): it reads their records to tell a
learner where they stand, and calls them to start and submit a quiz and to issue a certificate.
"""

import random
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from training import events
from training.certificates.files import store_file_of_completion
from training.certificates.issuing import issue_certificate
from training.completions.models import Completion, ModuleProgress
from training.content import catalog
from training.content.catalog import CourseView, ModuleView
from training.courses import rules
from training.courses.progress import AttemptSummary, CompletionRecord, CycleAttempts, Records, read_progress
from training.db import utcnow
from training.errors import NotFound
from training.extensions import db
from training.quizzes import attempts as quizzes
from training.quizzes import rules as quiz_rules
from training.quizzes.models import QuizAttempt


@dataclass(frozen=True)
class CourseProgress:
    course: CourseView
    cycle: int
    facts: rules.ProgressFacts
    last_completion: CompletionRecord | None
    done_module_ids: frozenset[int] = frozenset()  # modules done in the current cycle (retired ones left out)
    attempts: CycleAttempts = field(default_factory=CycleAttempts)  # the quiz attempts of the current cycle
    extra_attempts: int = 0  # allowed by HR on top of the course's limit, in the current cycle
    recent: tuple[AttemptSummary, ...] = ()  # the newest attempts, when asked for

    @property
    def status(self) -> str:
        return rules.course_status(self.facts)

    @property
    def status_label(self) -> str:
        return rules.STATUS_LABELS[self.status]

    @property
    def percent(self) -> int:
        return rules.progress_percent(self.facts)

    @property
    def is_completed(self) -> bool:
        return rules.completion_is_current(self.facts)

    @property
    def open_attempt(self) -> AttemptSummary | None:
        """The attempt in progress: at most one, and the newest (a new one cannot start while it is open)."""
        return self.recent[0] if self.recent and self.recent[0].submitted_at is None else None

    def gate(self) -> quiz_rules.AttemptGate:
        """May a new attempt start in this cycle (quizzes/rules.py)?"""
        return quiz_rules.attempt_gate(
            quiz_rules.AttemptFacts(
                now=self.facts.now,
                max_attempts=self.course.max_attempts,
                extra_attempts=self.extra_attempts,
                submitted=self.attempts.submitted,
                wait_minutes=self.course.attempt_wait_minutes,
                last_submitted_at=self.attempts.last_submitted_at,
                last_passed=self.attempts.last_passed,
            )
        )


def published_course(slug: str) -> CourseView:
    """The course with its modules, from the catalog cache."""
    course = catalog.published_course(slug)
    if course is None:
        raise NotFound("There is no such course, or it is not available.")
    return course


def published_module(course: CourseView, module_slug: str) -> ModuleView:
    for module in course.modules:
        if module.slug == module_slug:
            return module
    raise NotFound("There is no such module in this course.")


def learner_courses(user_id: int, now: datetime | None = None) -> list[CourseProgress]:
    """Every published course with this learner's progress, in one statement."""
    courses = catalog.published_courses()
    progress = progress_for(user_id, courses, now)
    return [progress[c.id] for c in courses]


def progress_for(user_id: int, courses, now: datetime | None = None, recent: int = 0) -> dict[int, CourseProgress]:
    """Each course's progress for this learner, in one statement; with `recent`, the newest attempts too."""
    now = now or utcnow()
    module_course = {m.id: c.id for c in courses for m in c.modules}
    records = read_progress(user_id, [c.id for c in courses], module_course, recent)
    return {c.id: _progress(c, records[c.id], now) for c in courses}


def _progress(course: CourseView, record: Records, now: datetime) -> CourseProgress:
    cycle = len(record.completions)
    last = record.completions[-1] if record.completions else None
    attempts = record.attempts.get(cycle, CycleAttempts())
    done_ids = frozenset(record.done.get(cycle, ()))
    facts = rules.ProgressFacts(
        now=now,
        modules_total=len(course.modules),
        modules_done=len(done_ids),
        attempts_in_cycle=attempts.started,
        passed_in_cycle=attempts.passed,
        last_completed_at=last.completed_at if last else None,
        last_expires_at=effective_expiry(last, last.revoked_at, record.changes) if last else None,
    )
    return CourseProgress(
        course=course,
        cycle=cycle,
        facts=facts,
        last_completion=last,
        done_module_ids=done_ids,
        attempts=attempts,
        extra_attempts=record.extra.get(cycle, 0),
        recent=tuple(record.recent),
    )


def effective_expiry(completion, revoked_at: datetime | None, material_changes: list[datetime]) -> datetime:
    """When a completion stops counting: its expiry, the revocation of its certificate, or a material
    change to a policy the course teaches (45 CFR 164.530(b)(2)(i)(C)), whichever comes first."""
    ends = [completion.expires_at, revoked_at, next((d for d in material_changes if d > completion.completed_at), None)]
    return min(d for d in ends if d is not None)


def course_progress(user_id: int, course, now: datetime | None = None, recent: int = 0) -> CourseProgress:
    return progress_for(user_id, [course], now, recent)[course.id]


def completed_module_ids(course, progress: CourseProgress) -> set[int]:
    """Modules done in the current cycle; while a completion is current, every module counts as done."""
    if progress.is_completed:
        return {m.id for m in course.modules}
    return set(progress.done_module_ids)


def mark_module_complete(user_id: int, module, now: datetime | None = None) -> CourseProgress:
    """Record that the learner finished a module (idempotent), then complete the course if due."""
    now = now or utcnow()
    course = catalog.course(module.course_id)
    progress = course_progress(user_id, course, now)
    if not progress.is_completed:
        # Already marked (a double click, or two tabs): the unique constraint keeps the first record.
        with suppress(IntegrityError), db.session.begin_nested():
            db.session.add(ModuleProgress(user_id=user_id, module_id=module.id, cycle=progress.cycle, completed_at=now))
        completion = complete_course_if_ready(user_id, course, now)
        events.publish(events.module_completed, "courses", user_ids=[user_id], now=now, course_id=module.course_id)
        db.session.commit()
        store_file_of_completion(completion)
    db.session.commit()
    return course_progress(user_id, course, now)


def complete_course_if_ready(user_id: int, course: CourseView, now: datetime) -> Completion | None:
    """Record the completion for the current cycle once every module is done and a quiz passed.

    The unique (user, course, cycle) constraint makes a second completion of one cycle impossible.
    """
    progress = course_progress(user_id, course, now)
    if not rules.ready_to_complete(progress.facts):
        return None
    best = db.session.execute(
        select(QuizAttempt)
        .where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.course_id == course.id,
            QuizAttempt.cycle == progress.cycle,
            QuizAttempt.passed.is_(True),
        )
        .order_by(QuizAttempt.score.desc(), QuizAttempt.submitted_at)
        .limit(1)
    ).scalar_one()
    completion = Completion(
        user_id=user_id,
        course_id=course.id,
        cycle=progress.cycle,
        course_version=course.version,
        attempt_id=best.id,
        score=best.score,
        completed_at=now,
        expires_at=rules.add_months(now, course.certificate_validity_months),
    )
    try:
        with db.session.begin_nested():
            db.session.add(completion)
            db.session.flush()
            issue_certificate(completion)
    except IntegrityError:
        return None
    events.publish(events.completion_recorded, "courses", user_ids=[user_id], now=now, course_id=course.id)
    return completion


def start_quiz(user_id: int, course: CourseView, *, rng: random.Random | None = None, now: datetime | None = None):
    """Resume or start the learner's quiz attempt in their current cycle, unless a completion still counts.

    The learner's progress, their open attempt and what the attempt limits allow come in one statement."""
    now = now or utcnow()
    progress = course_progress(user_id, course, now, recent=1)
    completed_until = progress.last_completion.expires_at if progress.is_completed else None
    open_attempt = progress.open_attempt
    return quizzes.start_attempt(
        user_id,
        course,
        cycle=progress.cycle,
        completed_until=completed_until,
        open_attempt_id=open_attempt.id if open_attempt else None,
        gate=progress.gate(),
        rng=rng,
        now=now,
    )


def submit_quiz(
    user_id: int, attempt_id: int, answers: Mapping[int, list[int]], now: datetime | None = None
) -> QuizAttempt:
    """Grade and record an attempt exactly once; complete the course if this was the last step."""
    now = now or utcnow()
    attempt = quizzes.submit_attempt(user_id, attempt_id, answers, now)
    course = catalog.course(attempt.course_id)
    completion = complete_course_if_ready(user_id, course, now) if attempt.passed else None
    db.session.commit()
    store_file_of_completion(completion)
    return attempt


@dataclass(frozen=True)
class QuizOutcome:
    """What a submitted attempt meant for the course and the learner's next step, for the result page.

    `kind` is "completed" (a pass of the cycle that the learner's last completion closed, which still counts),
    "ended" (the same, but that completion no longer counts), "modules_left" (a pass, with modules still
    unread), "failed" (a fail in the current cycle: try again when the gate allows) or "earlier" (an attempt
    of an earlier cycle, or a fail since followed by a completion).
    """

    kind: str
    progress: CourseProgress
    completion: CompletionRecord | None = None
    valid_until: datetime | None = None
    unread_modules: tuple[ModuleView, ...] = ()
    gate: quiz_rules.AttemptGate | None = None

    @property
    def open_attempt_id(self) -> int | None:
        attempt = self.progress.open_attempt
        return attempt.id if attempt else None


def quiz_outcome(user_id: int, attempt: QuizAttempt, now: datetime | None = None) -> QuizOutcome:
    """Where the learner stands after this submitted attempt, read in one statement."""
    course = catalog.course(attempt.course_id)
    progress = course_progress(user_id, course, now, recent=1)
    completion = progress.last_completion
    if attempt.passed and completion is not None and completion.cycle == attempt.cycle:
        if progress.is_completed:
            return QuizOutcome("completed", progress, completion, progress.facts.last_expires_at)
        return QuizOutcome("ended", progress, completion, progress.facts.last_expires_at)
    if attempt.cycle != progress.cycle:
        return QuizOutcome("earlier", progress)
    if attempt.passed:
        unread = tuple(m for m in course.modules if m.id not in progress.done_module_ids)
        return QuizOutcome("modules_left", progress, unread_modules=unread)
    return QuizOutcome("failed", progress, gate=progress.gate())


def modules_behind(course: CourseView, versions) -> tuple[ModuleView, ...]:
    """The modules that teach these questions, each once, in the course's order."""
    found = {m.id for m in (catalog.module_of_question(course.id, v) for v in versions) if m is not None}
    return tuple(m for m in course.modules if m.id in found)
