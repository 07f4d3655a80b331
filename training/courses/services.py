"""A learner's way through a course: progress, modules read, the quiz, the completion and its certificate.

This area sits above quizzes, certificates and policies (docs/architecture.md): it reads their records to tell a
learner where they stand, and calls them to start and submit a quiz and to issue a certificate.
"""

import random
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, literal_column, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from training import events
from training.certificates.files import store_file_of_completion
from training.certificates.issuing import issue_certificate
from training.certificates.models import Certificate, CertificateRevocation
from training.completions.models import Completion, ModuleProgress
from training.content.models import Course, TrainingModule
from training.courses import rules
from training.db import utcnow
from training.errors import NotFound
from training.extensions import db
from training.policies.lookups import material_changes_by_course
from training.quizzes import attempts as quizzes
from training.quizzes.models import QuizAttempt


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    cycle: int
    facts: rules.ProgressFacts
    last_completion: Completion | None
    certificate: "Certificate | None" = None
    done_module_ids: frozenset[int] = frozenset()  # modules done in the current cycle (retired ones left out)

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


def published_course(slug: str) -> Course:
    """The course with its modules, in one statement."""
    course = (
        db.session.execute(
            select(Course).where(Course.slug == slug, Course.published.is_(True)).options(joinedload(Course.modules))
        )
        .unique()
        .scalar()
    )
    if course is None:
        raise NotFound("There is no such course, or it is not available.")
    return course


def published_module(course: Course, module_slug: str) -> TrainingModule:
    for module in course.modules:
        if module.slug == module_slug:
            return module
    raise NotFound("There is no such module in this course.")


def learner_courses(user_id: int, now: datetime | None = None) -> list[CourseProgress]:
    """Every published course with this learner's progress, in a fixed number of queries."""
    courses = (
        db.session.execute(select(Course).where(Course.published.is_(True)).order_by(Course.title)).scalars().all()
    )
    progress = progress_for(user_id, courses, now)
    return [progress[c.id] for c in courses]


# The kinds of row in progress_for's one statement of counts.
_MODULE_TOTAL, _MODULE_DONE, _ATTEMPTS = 0, 1, 2


def _progress_counts(user_id: int, ids: list[int]):
    """Per course: its modules, the learner's modules done (one row each, with the cycle), and their quiz
    attempts per cycle (count, any passed), as (kind, course_id, cycle, number, passed) rows of one statement."""
    zero = literal_column("0", Integer)
    module_totals = (
        select(literal_column(str(_MODULE_TOTAL), Integer), TrainingModule.course_id, zero, func.count(), zero)
        .where(TrainingModule.course_id.in_(ids), TrainingModule.retired.is_(False))
        .group_by(TrainingModule.course_id)
    )
    modules_done = (
        select(
            literal_column(str(_MODULE_DONE), Integer),
            TrainingModule.course_id,
            ModuleProgress.cycle,
            ModuleProgress.module_id,
            zero,
        )
        .join(TrainingModule, TrainingModule.id == ModuleProgress.module_id)
        .where(ModuleProgress.user_id == user_id, TrainingModule.course_id.in_(ids))
        .where(TrainingModule.retired.is_(False))
    )
    attempts = (
        select(
            literal_column(str(_ATTEMPTS), Integer),
            QuizAttempt.course_id,
            QuizAttempt.cycle,
            func.count(),
            func.max(case((QuizAttempt.passed.is_(True), 1), else_=0)),
        )
        .where(QuizAttempt.user_id == user_id, QuizAttempt.course_id.in_(ids))
        .group_by(QuizAttempt.course_id, QuizAttempt.cycle)
    )
    return db.session.execute(union_all(module_totals, modules_done, attempts)).all()


def progress_for(user_id: int, courses: list[Course], now: datetime | None = None) -> dict[int, CourseProgress]:
    now = now or utcnow()
    ids = [c.id for c in courses]
    module_totals: dict[int, int] = {}
    modules_done: dict[tuple[int, int], set[int]] = {}
    attempts: dict[tuple[int, int], tuple[int, bool]] = {}
    for kind, course_id, cycle, number, passed in _progress_counts(user_id, ids):
        if kind == _MODULE_TOTAL:
            module_totals[course_id] = number
        elif kind == _MODULE_DONE:
            modules_done.setdefault((course_id, cycle), set()).add(number)
        else:
            attempts[(course_id, cycle)] = (number, bool(passed))
    completions: dict[int, list[tuple[Completion, Certificate | None, datetime | None]]] = {}
    for completion, certificate, revoked_at in db.session.execute(
        select(Completion, Certificate, CertificateRevocation.revoked_at)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(Completion.user_id == user_id, Completion.course_id.in_(ids))
        .order_by(Completion.cycle)
    ).all():
        completions.setdefault(completion.course_id, []).append((completion, certificate, revoked_at))
    changes = material_changes_by_course(ids)
    result = {}
    for course in courses:
        done = completions.get(course.id, [])
        cycle = len(done)
        last, certificate, revoked_at = done[-1] if done else (None, None, None)
        attempt_count, passed = attempts.get((course.id, cycle), (0, False))
        done_ids = frozenset(modules_done.get((course.id, cycle), ()))
        facts = rules.ProgressFacts(
            now=now,
            modules_total=module_totals.get(course.id, 0),
            modules_done=len(done_ids),
            attempts_in_cycle=attempt_count,
            passed_in_cycle=passed,
            last_completed_at=last.completed_at if last else None,
            last_expires_at=effective_expiry(last, revoked_at, changes.get(course.id, [])) if last else None,
        )
        result[course.id] = CourseProgress(
            course=course,
            cycle=cycle,
            facts=facts,
            last_completion=last,
            certificate=certificate,
            done_module_ids=done_ids,
        )
    return result


def effective_expiry(completion: Completion, revoked_at: datetime | None, material_changes: list[datetime]) -> datetime:
    """When a completion stops counting: its expiry, the revocation of its certificate, or a material
    change to a policy the course teaches (45 CFR 164.530(b)(2)(i)(C)), whichever comes first."""
    ends = [completion.expires_at, revoked_at, next((d for d in material_changes if d > completion.completed_at), None)]
    return min(d for d in ends if d is not None)


def course_progress(user_id: int, course: Course, now: datetime | None = None) -> CourseProgress:
    return progress_for(user_id, [course], now)[course.id]


def completed_module_ids(course: Course, progress: CourseProgress) -> set[int]:
    """Modules done in the current cycle; while a completion is current, every module counts as done."""
    if progress.is_completed:
        return {m.id for m in course.modules}
    return set(progress.done_module_ids)


def mark_module_complete(user_id: int, module: TrainingModule, now: datetime | None = None) -> CourseProgress:
    """Record that the learner finished a module (idempotent), then complete the course if due."""
    now = now or utcnow()
    progress = course_progress(user_id, module.course, now)
    if not progress.is_completed:
        # Already marked (a double click, or two tabs): the unique constraint keeps the first record.
        with suppress(IntegrityError), db.session.begin_nested():
            db.session.add(ModuleProgress(user_id=user_id, module_id=module.id, cycle=progress.cycle, completed_at=now))
        completion = complete_course_if_ready(user_id, module.course, now)
        events.publish(events.module_completed, "courses", user_ids=[user_id], now=now, course_id=module.course_id)
        db.session.commit()
        store_file_of_completion(completion)
    db.session.commit()
    return course_progress(user_id, module.course, now)


def complete_course_if_ready(user_id: int, course: Course, now: datetime) -> Completion | None:
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


def start_quiz(user_id: int, course: Course, *, rng: random.Random | None = None, now: datetime | None = None):
    """Resume or start the learner's quiz attempt in their current cycle, unless a completion still counts."""
    now = now or utcnow()
    progress = course_progress(user_id, course, now)
    completed_until = progress.last_completion.expires_at if progress.is_completed else None
    return quizzes.start_attempt(
        user_id, course, cycle=progress.cycle, completed_until=completed_until, rng=rng, now=now
    )


def submit_quiz(
    user_id: int, attempt_id: int, answers: Mapping[int, list[int]], now: datetime | None = None
) -> QuizAttempt:
    """Grade and record an attempt exactly once; complete the course if this was the last step."""
    now = now or utcnow()
    attempt = quizzes.submit_attempt(user_id, attempt_id, answers, now)
    completion = complete_course_if_ready(user_id, attempt.course, now) if attempt.passed else None
    db.session.commit()
    store_file_of_completion(completion)
    return attempt
