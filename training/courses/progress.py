"""A learner's records for some courses, read in one statement: modules done, quiz attempts and HR's extra
attempts per cycle, completions with their certificate, the material policy changes that end a completion and,
for one course, the newest attempts.

The rows of the parts differ, so each is a row of the same shape (a kind, the course, the cycle, four numbers,
three times and a text) in a UNION ALL; `read_progress` sorts them into plain values. The courses and their
modules come from the catalog cache (training/content/catalog.py), so nothing here joins them.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, String, bindparam, case, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import aliased

from training.certificates.models import Certificate, CertificateRevocation
from training.completions.models import Completion, ModuleProgress
from training.db import UTCDateTime
from training.extensions import db
from training.policies.lookups import material_changes
from training.quizzes.models import AttemptAllowance, QuizAttempt

_DONE, _ATTEMPTS, _ALLOWANCE, _COMPLETION, _CHANGE, _RECENT = range(6)


@dataclass(frozen=True)
class CompletionRecord:
    """A completion as the learner's pages show it, with its certificate's serial and revocation."""

    cycle: int
    score: int
    course_version: int
    completed_at: datetime
    expires_at: datetime
    certificate_serial: str | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AttemptSummary:
    id: int
    cycle: int
    score: int | None
    passed: bool | None
    started_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True)
class CycleAttempts:
    """A learner's attempts at a course in one cycle: started, submitted, whether any passed, the last one,
    and when the attempt still open (not submitted) was started."""

    started: int = 0
    submitted: int = 0
    passed: bool = False
    last_passed: bool | None = None
    last_submitted_at: datetime | None = None
    open_since: datetime | None = None


@dataclass
class Records:
    """One course's rows of the statement."""

    done: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # cycle -> module ids
    attempts: dict[int, CycleAttempts] = field(default_factory=dict)
    extra: dict[int, int] = field(default_factory=dict)
    completions: list[CompletionRecord] = field(default_factory=list)
    changes: list[datetime] = field(default_factory=list)
    recent: list[AttemptSummary] = field(default_factory=list)


def _typed(value, type_):
    return cast(null(), type_) if value is None else value


def _row(kind: int, course_id=None, cycle=None, numbers=(), times=(), text=None):
    """One part's columns in the common shape, with typed NULLs where the part has nothing. Only the NULLs
    are cast: SQLite would turn a stored time cast to DATETIME into a number."""
    numbers = [*numbers, *[None] * (4 - len(numbers))]
    times = [*times, *[None] * (3 - len(times))]
    return (
        literal_column(str(kind), Integer),
        _typed(course_id, Integer()),
        _typed(cycle, Integer()),
        *[_typed(n, Integer()) for n in numbers],
        *[_typed(t, UTCDateTime()) for t in times],
        _typed(text, String()),
    )


def _flag(condition):
    return case((condition, 1), else_=0)


def _modules_done(user_id, module_ids):
    return select(*_row(_DONE, cycle=ModuleProgress.cycle, numbers=[ModuleProgress.module_id])).where(
        ModuleProgress.user_id == user_id, ModuleProgress.module_id.in_(module_ids)
    )


def _attempts_per_cycle(user_id, course_ids):
    """Per course and cycle: attempts started, submitted, any passed, whether the last submitted passed, when,
    and when the open attempt started."""
    last = aliased(QuizAttempt)
    last_passed = (
        select(_flag(last.passed.is_(True)))
        .where(
            last.user_id == user_id,
            last.course_id == QuizAttempt.course_id,
            last.cycle == QuizAttempt.cycle,
            last.submitted_at.is_not(None),
        )
        .order_by(last.submitted_at.desc())
        .limit(1)
        .correlate(QuizAttempt)
        .scalar_subquery()
    )
    numbers = [
        func.count(),
        func.count(QuizAttempt.submitted_at),
        func.max(_flag(QuizAttempt.passed.is_(True))),
        last_passed,
    ]
    open_since = func.max(case((QuizAttempt.submitted_at.is_(None), QuizAttempt.started_at)))
    times = [func.max(QuizAttempt.submitted_at), open_since]
    return (
        select(*_row(_ATTEMPTS, QuizAttempt.course_id, QuizAttempt.cycle, numbers, times))
        .where(QuizAttempt.user_id == user_id, QuizAttempt.course_id.in_(course_ids))
        .group_by(QuizAttempt.course_id, QuizAttempt.cycle)
    )


def _allowances(user_id, course_ids):
    extra = [func.sum(AttemptAllowance.extra_attempts)]
    return (
        select(*_row(_ALLOWANCE, AttemptAllowance.course_id, AttemptAllowance.cycle, extra))
        .where(AttemptAllowance.user_id == user_id, AttemptAllowance.course_id.in_(course_ids))
        .group_by(AttemptAllowance.course_id, AttemptAllowance.cycle)
    )


def _completions(user_id, course_ids):
    numbers = [Completion.score, Completion.course_version]
    times = [Completion.completed_at, Completion.expires_at, CertificateRevocation.revoked_at]
    return (
        select(*_row(_COMPLETION, Completion.course_id, Completion.cycle, numbers, times, Certificate.serial))
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(Completion.user_id == user_id, Completion.course_id.in_(course_ids))
    )


def _material_changes(course_ids):
    changes = material_changes(course_ids).subquery()
    return select(*_row(_CHANGE, changes.c.course_id, times=[changes.c.published_at]))


def _newest_attempts(user_id, course_ids, limit):
    newest = (
        select(QuizAttempt)
        .where(QuizAttempt.user_id == user_id, QuizAttempt.course_id.in_(course_ids))
        .order_by(QuizAttempt.started_at.desc(), QuizAttempt.id.desc())
        .limit(limit)
        .subquery()
    )
    passed = case((newest.c.passed.is_(None), None), else_=_flag(newest.c.passed.is_(True)))
    numbers = [newest.c.id, newest.c.score, passed]
    return select(
        *_row(_RECENT, newest.c.course_id, newest.c.cycle, numbers, [newest.c.started_at, newest.c.submitted_at])
    )


@cache
def _statement(with_recent: bool):
    """The statement, built once per process (building it and its cache key costs more than running it)."""
    user_id, limit = bindparam("user_id"), bindparam("recent")
    course_ids, module_ids = bindparam("course_ids", expanding=True), bindparam("module_ids", expanding=True)
    parts = [
        _modules_done(user_id, module_ids),
        _attempts_per_cycle(user_id, course_ids),
        _allowances(user_id, course_ids),
        _completions(user_id, course_ids),
        _material_changes(course_ids),
    ]
    if with_recent:
        parts.append(_newest_attempts(user_id, course_ids, limit))
    return union_all(*parts)


def _as_bool(value) -> bool | None:
    return None if value is None else bool(value)


def read_progress(
    user_id: int, course_ids: list[int], module_course: dict[int, int], recent: int = 0
) -> dict[int, Records]:
    """The learner's records per course, in one statement. `module_course` maps each live module to its course;
    with `recent`, the newest attempts (at most that many, of one course) come too."""
    records: dict[int, Records] = {course_id: Records() for course_id in course_ids}
    if not course_ids:
        return records
    parameters = {"user_id": user_id, "course_ids": course_ids, "module_ids": list(module_course)}
    if recent:
        parameters["recent"] = recent
    rows = db.session.execute(_statement(bool(recent)), parameters)
    for kind, course_id, cycle, n1, n2, n3, n4, t1, t2, t3, text in rows:
        if kind == _DONE:
            records[module_course[n1]].done[cycle].add(n1)
            continue
        record = records[course_id]
        if kind == _ATTEMPTS:
            record.attempts[cycle] = CycleAttempts(n1, n2, bool(n3), _as_bool(n4), t1, t2)
        elif kind == _ALLOWANCE:
            record.extra[cycle] = int(n1 or 0)
        elif kind == _COMPLETION:
            record.completions.append(CompletionRecord(cycle, n1, n2, t1, t2, text, t3))
        elif kind == _CHANGE:
            record.changes.append(t1)
        else:
            record.recent.append(AttemptSummary(n1, cycle, n2, _as_bool(n3), t1, t2))
    for record in records.values():
        record.completions.sort(key=lambda c: c.cycle)
        record.changes.sort()
        record.recent.sort(key=lambda a: (a.started_at, a.id), reverse=True)
    return records
