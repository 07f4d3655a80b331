"""One person's training record: completions with their certificates, and quiz attempts, newest first.

Two readings of it. `transcript` is the whole record, for the documents and exports that must be complete
(the transcript PDF, the API). `transcript_page` is what a page shows: the current completion of each course
(one row per course, so it stays small), then one page of the completions and one of the quiz attempts,
each paged on its own (`training.paging`), so that a person with hundreds of attempts gets a page of the
same size and the same number of statements as anyone else.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, lazyload
from werkzeug.datastructures import MultiDict

from training.certificates import rules as certificate_rules
from training.certificates.models import Certificate
from training.completions.models import Completion
from training.db import utcnow
from training.extensions import db
from training.paging import Page, paginate, paginate_rows
from training.quizzes.models import QuizAttempt

COMPLETIONS_PER_PAGE = 25
ATTEMPTS_PER_PAGE = 50


@dataclass(frozen=True)
class TranscriptEntry:
    completion: Completion
    certificate: Certificate | None
    certificate_status: str | None


@dataclass(frozen=True)
class Transcript:
    completions: list[TranscriptEntry]
    attempts: list[QuizAttempt]


@dataclass(frozen=True)
class TranscriptPage:
    """What a transcript page shows: the newest completion of each course, and a page of each history."""

    current: list[TranscriptEntry]
    completions: Page[TranscriptEntry]
    attempts: Page[QuizAttempt]


def requested_pages(args: MultiDict) -> tuple[int, int]:
    """The two page numbers of a transcript page's query (`completions_page`, `attempts_page`); not a number: 1."""
    return args.get("completions_page", 1, type=int), args.get("attempts_page", 1, type=int)


def transcript(user_id: int, now: datetime | None = None) -> Transcript:
    """Every completion (with its certificate) and every quiz attempt of one person, newest first."""
    now = now or utcnow()
    entries = [_entry(row, now) for row in db.session.execute(_completions(user_id)).all()]
    attempts = db.session.execute(_attempts(user_id)).scalars().all()
    return Transcript(completions=entries, attempts=list(attempts))


def transcript_page(
    user_id: int,
    completions_page: int = 1,
    attempts_page: int = 1,
    *,
    with_current: bool = True,
    now: datetime | None = None,
) -> TranscriptPage:
    """The requested page of completions and of attempts (past the end: the last), and unless `with_current` is
    False (HR's page of a person starts with their required training instead) the current completions."""
    now = now or utcnow()
    completions = paginate_rows(_completions(user_id), completions_page, COMPLETIONS_PER_PAGE)
    return TranscriptPage(
        current=current_completions(user_id, now) if with_current else [],
        completions=completions.map(lambda row: _entry(row, now)),
        attempts=paginate(_attempts(user_id), attempts_page, ATTEMPTS_PER_PAGE),
    )


def current_completions(user_id: int, now: datetime | None = None) -> list[TranscriptEntry]:
    """The newest completion of each course the person completed, with its certificate, by course title."""
    now = now or utcnow()
    newest = (
        select(
            Completion.id,
            func.row_number()
            .over(partition_by=Completion.course_id, order_by=(Completion.completed_at.desc(), Completion.id.desc()))
            .label("rank"),
        )
        .where(Completion.user_id == user_id)
        .subquery()
    )
    ids = select(newest.c.id).where(newest.c.rank == 1)
    rows = db.session.execute(_completions(user_id).where(Completion.id.in_(ids))).all()
    entries = [_entry(row, now) for row in rows]
    return sorted(entries, key=lambda entry: entry.completion.course.title.casefold())


def _completions(user_id: int) -> Select[tuple[Completion, Certificate]]:
    """Newest first; the id breaks ties, so that pages never repeat or skip a row. The revocation (for the
    certificate's status) comes in the same statement; the files, which no transcript shows, are not loaded."""
    return (
        select(Completion, Certificate)
        .options(joinedload(Completion.course), joinedload(Certificate.revocation), lazyload(Certificate.files))
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Completion.user_id == user_id)
        .order_by(Completion.completed_at.desc(), Completion.id.desc())
    )


def _attempts(user_id: int) -> Select[tuple[QuizAttempt]]:
    return (
        select(QuizAttempt)
        .options(joinedload(QuizAttempt.course))
        .where(QuizAttempt.user_id == user_id)
        .order_by(QuizAttempt.started_at.desc(), QuizAttempt.id.desc())
    )


def _entry(row, now: datetime) -> TranscriptEntry:
    completion, certificate = row
    status = (
        certificate_rules.certificate_status(certificate.expires_at, certificate.revoked_at, now)
        if certificate
        else None
    )
    return TranscriptEntry(completion=completion, certificate=certificate, certificate_status=status)
