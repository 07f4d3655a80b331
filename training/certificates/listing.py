"""HR's certificate list: the filter and its choices, the pages, and the audit record of an export."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from training.audit.services import record_event
from training.auth.models import Department, User
from training.certificates.models import Certificate
from training.clock import organisation_zone
from training.content.models import Course
from training.extensions import db
from training.paging import Page, paginate


@dataclass(frozen=True)
class CertificateFilter:
    department_id: int | None = None
    course_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None

    def as_dict(self) -> dict:
        return {
            "department_id": self.department_id,
            "course_id": self.course_id,
            "issued_from": self.issued_from.isoformat() if self.issued_from else None,
            "issued_to": self.issued_to.isoformat() if self.issued_to else None,
        }


def filtered_query(criteria: CertificateFilter) -> Select:
    """Certificates matching the filter, newest first; issue dates are days in the organisation's zone."""
    zone = organisation_zone()
    query = select(Certificate).join(User, User.id == Certificate.user_id)
    if criteria.department_id is not None:
        query = query.where(User.department_id == criteria.department_id)
    if criteria.course_id is not None:
        query = query.where(Certificate.course_id == criteria.course_id)
    if criteria.issued_from is not None:
        query = query.where(Certificate.issued_at >= datetime.combine(criteria.issued_from, time(), zone))
    if criteria.issued_to is not None:
        end = datetime.combine(criteria.issued_to + timedelta(days=1), time(), zone)
        query = query.where(Certificate.issued_at < end)
    return query.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def find_certificates(criteria: CertificateFilter, page: int = 1, per_page: int = 50) -> Page[Certificate]:
    return paginate(filtered_query(criteria).options(joinedload(Certificate.user)), page, per_page)


def export_event(
    actor_id: int | None, criteria: CertificateFilter, count: int, channel: str, ip_address: str = ""
) -> None:
    """The audit record of a finished export, in the caller's transaction (a job's: committed with its "done")."""
    record_event(
        "certificate.exported",
        actor_id=actor_id,
        subject_type="certificate",
        details={"filter": criteria.as_dict(), "count": count, "channel": channel},
        ip_address=ip_address,
    )


def departments_for_filter() -> list[Department]:
    return list(db.session.execute(select(Department).order_by(Department.name)).scalars())


def courses_for_filter() -> list[Course]:
    return list(db.session.execute(select(Course).order_by(Course.title)).scalars())
