"""The audit packet's two CSV files, attestations.csv and attempts.csv, read and written a chunk of people at a time.

`id_chunks` gives the packet's people as lists of ids in name order (`packet_job.people_id_chunks`), so neither
the people nor their records are ever all in memory.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from sqlalchemy import Select, func, select

from training.auth.models import User
from training.clock import organisation_zone
from training.content.models import Course, Question, QuestionOption, QuestionVersion
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt
from training.reports.packet import in_period
from training.reports.period import Period
from training.spreadsheets import safe_cell

OPTION_SEPARATOR = " | "

ATTESTATION_COLUMNS = ("person", "employee_id", "email", "policy", "version", "attested_at", "statement", "ip_address")
ATTEMPT_COLUMNS = (
    "person",
    "employee_id",
    "course",
    "course_version",
    "attempt_id",
    "started_at",
    "submitted_at",
    "score",
    "passed",
    "question_key",
    "question_version",
    "prompt",
    "options_shown",
    "selected_options",
    "correct",
)


def attestations_csv(id_chunks: Iterable[list[int]], period: Period) -> Iterator[bytes]:
    return _csv_file(id_chunks, period, ATTESTATION_COLUMNS, _attestations, _attestation_lines)


def attempts_csv(id_chunks: Iterable[list[int]], period: Period) -> Iterator[bytes]:
    """One row per answered question, with the question version asked (never today's version)."""
    return _csv_file(id_chunks, period, ATTEMPT_COLUMNS, _answers, _attempt_lines)


def _csv_file(
    id_chunks: Iterable[list[int]],
    period: Period,
    columns: tuple[str, ...],
    query: Callable[[list[int], tuple[datetime, datetime]], Select],
    lines: Callable[[list], list[tuple]],
) -> Iterator[bytes]:
    """UTF-8 CSV (with a byte order mark) of `query`'s rows for the packet's people and period, a chunk of
    people at a time; `lines` turns one chunk's rows into the file's lines."""
    bounds = period.bounds(organisation_zone())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    for ids in id_chunks:
        rows = db.session.execute(query(ids, bounds)).all()
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([safe_cell(value) for value in line] for line in lines(rows))
        yield buffer.getvalue().encode("utf-8")


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(organisation_zone()).isoformat(timespec="seconds") if moment else ""


def _attestations(ids: list[int], bounds: tuple[datetime, datetime]) -> Select:
    return (
        select(
            User.name,
            User.employee_id,
            User.email,
            Policy.title,
            PolicyVersion.version,
            Attestation.attested_at,
            Attestation.statement,
            Attestation.ip_address,
        )
        .select_from(Attestation)
        .join(User, User.id == Attestation.user_id)
        .join(PolicyVersion, PolicyVersion.id == Attestation.policy_version_id)
        .join(Policy, Policy.id == PolicyVersion.policy_id)
        .where(*in_period(Attestation.user_id, Attestation.attested_at, ids, bounds))
        .order_by(func.lower(User.name), User.id, Attestation.attested_at, Attestation.id)
    )


def _attestation_lines(rows: list) -> list[tuple]:
    return [
        (name, employee_id or "", email, policy, version, _iso(attested_at), statement, ip)
        for name, employee_id, email, policy, version, attested_at, statement, ip in rows
    ]


def _answers(ids: list[int], bounds: tuple[datetime, datetime]) -> Select:
    return (
        select(
            User.name,
            User.employee_id,
            Course.title,
            QuizAttempt.course_version,
            QuizAttempt.id,
            QuizAttempt.started_at,
            QuizAttempt.submitted_at,
            QuizAttempt.score,
            QuizAttempt.passed,
            Question.key,
            QuestionVersion.version,
            QuestionVersion.prompt,
            QuestionVersion.id,
            AttemptQuestion.option_order,
            AttemptAnswer.selected_option_ids,
            AttemptAnswer.correct,
        )
        .select_from(AttemptAnswer)
        .join(AttemptQuestion, AttemptQuestion.id == AttemptAnswer.attempt_question_id)
        .join(QuizAttempt, QuizAttempt.id == AttemptQuestion.attempt_id)
        .join(User, User.id == QuizAttempt.user_id)
        .join(Course, Course.id == QuizAttempt.course_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(*in_period(QuizAttempt.user_id, QuizAttempt.started_at, ids, bounds))
        .order_by(func.lower(User.name), User.id, QuizAttempt.started_at, QuizAttempt.id, AttemptQuestion.position)
    )


def _attempt_lines(rows: list) -> list[tuple]:
    options = _option_texts({row[12] for row in rows})
    return [_attempt_line(row, options) for row in rows]


def _option_texts(version_ids: set[int]) -> dict[int, str]:
    if not version_ids:
        return {}
    return dict(
        db.session.execute(
            select(QuestionOption.id, QuestionOption.text).where(QuestionOption.question_version_id.in_(version_ids))
        ).all()
    )


def _attempt_line(row, options: dict[int, str]) -> tuple:
    (name, employee_id, course, course_version, attempt_id, started, submitted, score, passed) = row[:9]
    key, version, prompt, _, shown, selected, correct = row[9:]
    chosen = set(selected)
    return (
        name,
        employee_id or "",
        course,
        course_version,
        attempt_id,
        _iso(started),
        _iso(submitted),
        "" if score is None else score,
        "" if passed is None else ("yes" if passed else "no"),
        key,
        version,
        prompt,
        OPTION_SEPARATOR.join(options.get(option_id, "") for option_id in shown),
        OPTION_SEPARATOR.join(options.get(option_id, "") for option_id in shown if option_id in chosen),
        "yes" if correct else "no",
    )
