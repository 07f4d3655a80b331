"""The audit packet prepared: the request checked against the viewer's access, and its counts.

A packet is one ZIP answering an auditor's request for one person or one department. `prepare_packet`
checks the request and the viewer's access and counts what will go in: a few COUNT queries, quick enough
for the request that asks for the packet. The packet itself is made by a background job
(`packet_job`), which reads the people and their records in batches; `packet_archive` writes the ZIP,
with the CSV files of `packet_csv`.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from training.audit.services import record_event
from training.auth.models import Department, User
from training.certificates.models import Certificate, CertificateRevocation
from training.clock import organisation_zone
from training.completions.models import Completion
from training.compliance.people import VIEW_ALL_ROLES, can_view_person
from training.db import utcnow
from training.errors import DomainError, Forbidden
from training.extensions import db
from training.policies.models import Attestation
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt
from training.reports.period import Period, period_problem

PACKET_ROLES = (*VIEW_ALL_ROLES, "manager")


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
    people: Select
    period: Period
    counts: PacketCounts
    generated_by: str
    generated_at: datetime

    @property
    def file_name(self) -> str:
        return f"audit-packet-{self.generated_at.astimezone(organisation_zone()).date().isoformat()}.zip"


def prepare_packet(viewer: User, request: PacketRequest, now: datetime | None = None) -> Packet:
    """Check the request against the viewer's access and count its records. `people` selects the packet's
    people in name order."""
    problem = period_problem(request.period.start, request.period.end)
    if problem:
        raise PacketRefused(problem, field="date_to")
    scope, scope_details, people_query = _scope(viewer, request)
    ids = people_query.with_only_columns(User.id).order_by(None)
    people = db.session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    if not people:
        raise PacketRefused(f"There is no one in {scope}, so there is nothing to put in a packet.", field="department")
    bounds = request.period.bounds(organisation_zone())
    counts = _counts(ids, bounds, people)
    if counts.records == 0:
        raise PacketRefused(
            f"There are no completions, quiz attempts or attestations for {scope} from "
            f"{request.period.describe()}. Choose a longer range, or another person or department."
        )
    return Packet(
        scope=scope,
        scope_details=scope_details,
        people=people_query,
        period=request.period,
        counts=counts,
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


def in_period(user_id, moment, ids, bounds: tuple[datetime, datetime]) -> tuple:
    """Conditions for the records of these people (`ids`: a list or a SELECT of ids) whose `moment` is in the
    period: from the first bound up to, not including, the second."""
    first, after = bounds
    return user_id.in_(ids), moment >= first, moment < after


def _counts(ids: Select, bounds: tuple[datetime, datetime], people: int) -> PacketCounts:
    def count(query) -> int:
        return db.session.execute(query).scalar_one()

    certificates = (
        select(func.count())
        .select_from(Certificate)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(*in_period(Certificate.user_id, Certificate.issued_at, ids, bounds))
    )
    attempts = in_period(QuizAttempt.user_id, QuizAttempt.started_at, ids, bounds)
    return PacketCounts(
        people=people,
        completions=count(
            select(func.count())
            .select_from(Completion)
            .where(*in_period(Completion.user_id, Completion.completed_at, ids, bounds))
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
            .where(*in_period(Attestation.user_id, Attestation.attested_at, ids, bounds))
        ),
        certificates=count(certificates.where(CertificateRevocation.id.is_(None))),
        revoked_certificates=count(certificates.where(CertificateRevocation.id.is_not(None))),
    )


def departments_for(viewer: User) -> list[Department]:
    """The departments a viewer may ask a packet for: all for HR and admins, a manager's own."""
    query = select(Department).order_by(Department.name)
    if viewer.role not in VIEW_ALL_ROLES:
        query = query.where(Department.id == viewer.department_id)
    return list(db.session.execute(query).scalars())


def packet_event(actor_id: int, packet: Packet, ip_address: str = "") -> None:
    """The audit record of a finished packet, in the caller's transaction (the job's, committed with its "done")."""
    record_event(
        "audit_packet.exported",
        actor_id=actor_id,
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
