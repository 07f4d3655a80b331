"""The audit packet: one ZIP answering an auditor's request for one person or one department.

`prepare_packet` checks the request and the viewer's access, counts what will go in, and makes sure
every certificate file on disk is the recorded one (re-rendering a missing or altered file first);
`packet_zip` streams the archive. Transcript PDFs and the CSVs are produced while the ZIP is read,
a chunk of people at a time, so a large department never sits in memory.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, func, select
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from training.audit.services import record_event
from training.auth.models import Department, User
from training.certificates.files import stored_pdf
from training.certificates.models import Certificate, CertificateRevocation
from training.certificates.serials import display_serial
from training.clock import organisation_zone
from training.completions.models import Completion
from training.compliance.services import VIEW_ALL_ROLES, can_view_person
from training.content.models import Course, Question, QuestionOption, QuestionVersion
from training.db import utcnow
from training.errors import DomainError, Forbidden
from training.extensions import db
from training.policies.models import Attestation, Policy, PolicyVersion
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt
from training.reports.period import Period, period_problem
from training.reports.transcript_pdf import file_stem, transcript_pdf
from training.spreadsheets import safe_cell

PACKET_ROLES = (*VIEW_ALL_ROLES, "manager")
CSV_CHUNK = 500
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


class PacketRefused(DomainError):
    """The request cannot make a packet; `field` names the form field the message belongs beside."""

    status = 422
    code = "packet_refused"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PacketRequest:
    """Either `person` (an employee ID or an email) or `department_id`, and the days of records."""

    person: str
    department_id: int | None
    period: Period


@dataclass(frozen=True)
class PacketPerson:
    id: int
    name: str
    email: str
    employee_id: str
    stem: str


@dataclass(frozen=True)
class PacketCounts:
    people: int
    completions: int
    attempts: int
    answers: int
    attestations: int
    certificates: int
    revoked_certificates: int

    @property
    def records(self) -> int:
        return self.completions + self.attempts + self.attestations


@dataclass(frozen=True)
class Packet:
    scope: str
    scope_details: dict
    people: tuple[PacketPerson, ...]
    period: Period
    counts: PacketCounts
    certificate_files: tuple[tuple[str, str], ...]
    generated_by: str
    generated_at: datetime

    @property
    def file_name(self) -> str:
        return f"audit-packet-{self.generated_at.astimezone(organisation_zone()).date().isoformat()}.zip"


# --- preparing ------------------------------------------------------------------------------------------


def prepare_packet(viewer: User, request: PacketRequest, now: datetime | None = None) -> Packet:
    """Check the request against the viewer's access, count its records and ready the certificate files."""
    problem = period_problem(request.period.start, request.period.end)
    if problem:
        raise PacketRefused(problem, field="date_to")
    scope, scope_details, people_query = _scope(viewer, request)
    people = tuple(_packet_person(user) for user in db.session.execute(people_query).scalars())
    if not people:
        raise PacketRefused(f"There is no one in {scope}, so there is nothing to put in a packet.", field="department")
    ids = people_query.with_only_columns(User.id).order_by(None)
    bounds = request.period.bounds(organisation_zone())
    counts = _counts(ids, bounds, len(people))
    if counts.records == 0:
        raise PacketRefused(
            f"There are no completions, quiz attempts or attestations for {scope} from "
            f"{request.period.describe()}. Choose a longer range, or another person or department."
        )
    return Packet(
        scope=scope,
        scope_details=scope_details,
        people=people,
        period=request.period,
        counts=counts,
        certificate_files=_certificate_files(ids, bounds),
        generated_by=f"{viewer.name} <{viewer.email}> ({viewer.role})",
        generated_at=now or utcnow(),
    )


def _scope(viewer: User, request: PacketRequest) -> tuple[str, dict, Select]:
    if request.department_id is not None:
        return _department_scope(viewer, request.department_id)
    person = _find_person(request.person)
    if person is None or not can_view_person(viewer, person):
        raise PacketRefused("No one you can see has that employee ID or email address.", field="person")
    label = person.name + (f" (employee ID {person.employee_id})" if person.employee_id else "")
    return label, {"person_id": person.id}, select(User).where(User.id == person.id)


def _department_scope(viewer: User, department_id: int) -> tuple[str, dict, Select]:
    """Everyone now in the department, including people since deactivated: their records still count."""
    if viewer.role not in VIEW_ALL_ROLES and viewer.department_id != department_id:
        raise Forbidden("You can make audit packets for your own department only.")
    department = db.session.get(Department, department_id)
    if department is None:
        raise PacketRefused("There is no such department.", field="department")
    query = select(User).where(User.department_id == department_id).order_by(func.lower(User.name), User.id)
    return f"the {department.name} department", {"department_id": department_id}, query


def _find_person(text: str) -> User | None:
    text = text.strip()
    if not text:
        return None
    by_employee_id = db.session.execute(select(User).where(User.employee_id == text)).scalar()
    return by_employee_id or db.session.execute(select(User).where(func.lower(User.email) == text.lower())).scalar()


def _packet_person(user: User) -> PacketPerson:
    return PacketPerson(user.id, user.name, user.email, user.employee_id or "", file_stem(user))


def _counts(ids: Select, bounds: tuple[datetime, datetime], people: int) -> PacketCounts:
    first, after = bounds

    def count(query) -> int:
        return db.session.execute(query).scalar_one()

    certificates = (
        select(func.count())
        .select_from(Certificate)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(Certificate.user_id.in_(ids), Certificate.issued_at >= first, Certificate.issued_at < after)
    )
    attempts = QuizAttempt.user_id.in_(ids), QuizAttempt.started_at >= first, QuizAttempt.started_at < after
    return PacketCounts(
        people=people,
        completions=count(
            select(func.count())
            .select_from(Completion)
            .where(Completion.user_id.in_(ids), Completion.completed_at >= first, Completion.completed_at < after)
        ),
        attempts=count(select(func.count()).select_from(QuizAttempt).where(*attempts)),
        answers=count(
            select(func.count())
            .select_from(AttemptAnswer)
            .join(AttemptQuestion, AttemptQuestion.id == AttemptAnswer.attempt_question_id)
            .join(QuizAttempt, QuizAttempt.id == AttemptQuestion.attempt_id)
            .where(*attempts)
        ),
        attestations=count(
            select(func.count())
            .select_from(Attestation)
            .where(Attestation.user_id.in_(ids), Attestation.attested_at >= first, Attestation.attested_at < after)
        ),
        certificates=count(certificates.where(CertificateRevocation.id.is_(None))),
        revoked_certificates=count(certificates.where(CertificateRevocation.id.is_not(None))),
    )


def _certificate_files(ids: Select, bounds: tuple[datetime, datetime]) -> tuple[tuple[str, str], ...]:
    """(path, name in the ZIP) of each unrevoked certificate issued in the period, each file checked first.

    `stored_pdf` compares the file with its recorded SHA-256 and re-renders a missing or altered
    one, so the packet never carries a stale file. Revoked certificates are left out (the
    transcripts list them as revoked), as in every other download.
    """
    first, after = bounds
    certificates = db.session.execute(
        select(Certificate)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(Certificate.user_id.in_(ids), Certificate.issued_at >= first, Certificate.issued_at < after)
        .where(CertificateRevocation.id.is_(None))
        .order_by(Certificate.issued_at, Certificate.id)
    ).scalars()
    named = [(certificate, f"certificates/{display_serial(certificate.serial)}.pdf") for certificate in certificates]
    return tuple((str(stored_pdf(certificate)), name) for certificate, name in named)


def departments_for(viewer: User) -> list[Department]:
    """The departments a viewer may ask a packet for: all for HR and admins, a manager's own."""
    query = select(Department).order_by(Department.name)
    if viewer.role not in VIEW_ALL_ROLES:
        query = query.where(Department.id == viewer.department_id)
    return list(db.session.execute(query).scalars())


def record_packet(viewer: User, packet: Packet, ip_address: str = "") -> None:
    record_event(
        "audit_packet.exported",
        actor_id=viewer.id,
        subject_type="audit_packet",
        details={
            **packet.scope_details,
            "from": packet.period.start.isoformat(),
            "to": packet.period.end.isoformat(),
            "counts": {
                "people": packet.counts.people,
                "completions": packet.counts.completions,
                "attempts": packet.counts.attempts,
                "answers": packet.counts.answers,
                "attestations": packet.counts.attestations,
                "certificates": packet.counts.certificates,
            },
        },
        ip_address=ip_address,
    )
    db.session.commit()


# --- the archive ------------------------------------------------------------------------------------------


def packet_zip(packet: Packet) -> ZipStream:
    """README, the two CSVs, a transcript per person and the certificate files, produced as it is read."""
    archive = ZipStream(compress_type=ZIP_STORED)
    archive.add(readme_text(packet).encode("utf-8"), "README.txt", compress_type=ZIP_DEFLATED)
    archive.add(attestations_csv(packet), "attestations.csv", compress_type=ZIP_DEFLATED)
    archive.add(attempts_csv(packet), "attempts.csv", compress_type=ZIP_DEFLATED)
    for name, person in _transcript_names(packet.people):
        archive.add(_transcript_bytes(person.id, packet), name)
    for path, name in packet.certificate_files:
        archive.add_path(path, name)
    return archive


def _transcript_names(people: Iterable[PacketPerson]) -> Iterator[tuple[str, PacketPerson]]:
    used: set[str] = set()
    for person in people:
        stem = person.stem if person.stem not in used else f"{person.stem}-{person.id}"
        used.add(stem)
        yield f"transcripts/{stem}.pdf", person


def _transcript_bytes(user_id: int, packet: Packet) -> Iterator[bytes]:
    """Rendered when the ZIP reaches this file, so one transcript at a time is in memory."""
    yield transcript_pdf(db.session.get(User, user_id), packet.period, packet.generated_at)


def readme_text(packet: Packet) -> str:
    config = current_app.config
    zone = organisation_zone()
    generated = packet.generated_at.astimezone(zone)
    counts = packet.counts
    lines = [
        "Training records audit packet",
        "=============================",
        "",
        f"Organisation:  {config['ORGANISATION_NAME']}",
        f"Covers:        {packet.scope}",
        f"Period:        {packet.period.describe()} (both days included, timezone {zone.key})",
        f"Generated:     {generated.isoformat(timespec='seconds')} by {packet.generated_by}",
        "",
        "Contents",
        "--------",
        f"transcripts/       {counts.people} PDF(s), one per person: the training required of them and its status",
        "                   on the day generated, then every completion, quiz attempt and policy attestation",
        "                   in the period.",
        f"certificates/      {counts.certificates} certificate PDF(s) issued in the period. Each can be checked at",
        f"                   {config['PUBLIC_BASE_URL'].rstrip('/')}/verify/<serial>.",
        f"                   Revoked certificates ({counts.revoked_certificates}) are not included; the",
        "                   transcripts list them as revoked.",
        f"attestations.csv   {counts.attestations} policy attestation(s): who, which policy version, when, the",
        "                   statement agreed to and the network address it came from.",
        f"attempts.csv       {counts.answers} answered question(s) from {counts.attempts} quiz attempt(s), each with",
        "                   the question version that was asked, the options in the order they were shown,",
        "                   the options selected and whether the answer was correct.",
        "",
        f"Completions in the period: {counts.completions}.",
        "",
        "About these records",
        "-------------------",
        "Completions, quiz attempts and answers, certificates, attestations and the audit trail are",
        "append-only: they are never edited in place, and a correction is a new record. Questions are",
        "versioned, so an attempt always shows the exact wording that was asked, even after the question",
        "bank changed. The organisation keeps this documentation for at least six years from the date it",
        "was created or last in effect, whichever is later (45 CFR 164.530(j)(2)).",
        "",
        "Times in the CSV files are ISO 8601 in the organisation's timezone. The CSV files are UTF-8;",
        "text that a spreadsheet would run as a formula starts with an apostrophe.",
        "",
    ]
    return "\r\n".join(lines)


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(organisation_zone()).isoformat(timespec="seconds") if moment else ""


def _person_chunks(packet: Packet) -> Iterator[list[int]]:
    ids = [person.id for person in packet.people]
    for start in range(0, len(ids), CSV_CHUNK):
        yield ids[start : start + CSV_CHUNK]


def _csv_stream(columns: tuple[str, ...], chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([safe_cell(value) for value in row] for row in rows)
        yield buffer.getvalue().encode("utf-8")


def attestations_csv(packet: Packet) -> Iterator[bytes]:
    return _csv_stream(ATTESTATION_COLUMNS, _attestation_rows(packet))


def _attestation_rows(packet: Packet) -> Iterator[list[tuple]]:
    first, after = packet.period.bounds(organisation_zone())
    for ids in _person_chunks(packet):
        rows = db.session.execute(
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
            .where(Attestation.user_id.in_(ids), Attestation.attested_at >= first, Attestation.attested_at < after)
            .order_by(func.lower(User.name), User.id, Attestation.attested_at, Attestation.id)
        ).all()
        yield [
            (name, employee_id or "", email, policy, version, _iso(attested_at), statement, ip)
            for name, employee_id, email, policy, version, attested_at, statement, ip in rows
        ]


def attempts_csv(packet: Packet) -> Iterator[bytes]:
    return _csv_stream(ATTEMPT_COLUMNS, _attempt_rows(packet))


def _attempt_rows(packet: Packet) -> Iterator[list[tuple]]:
    """One row per answered question, with the question version asked (never today's version)."""
    first, after = packet.period.bounds(organisation_zone())
    for ids in _person_chunks(packet):
        rows = db.session.execute(
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
            .where(QuizAttempt.user_id.in_(ids), QuizAttempt.started_at >= first, QuizAttempt.started_at < after)
            .order_by(func.lower(User.name), User.id, QuizAttempt.started_at, QuizAttempt.id, AttemptQuestion.position)
        ).all()
        options = _option_texts({row[12] for row in rows})
        yield [_attempt_row(row, options) for row in rows]


def _option_texts(version_ids: set[int]) -> dict[int, str]:
    if not version_ids:
        return {}
    return dict(
        db.session.execute(
            select(QuestionOption.id, QuestionOption.text).where(QuestionOption.question_version_id.in_(version_ids))
        ).all()
    )


def _attempt_row(row, options: dict[int, str]) -> tuple:
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
