"""Issuing certificates: the record of a completion's certificate, and those missing for older completions."""

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from training.auth.models import User
from training.certificates.models import Certificate
from training.certificates.serials import new_serial
from training.completions.models import Completion
from training.content.models import Course
from training.db import utcnow
from training.extensions import db


def issue_certificate(completion: Completion, now: datetime | None = None) -> Certificate:
    """Record the certificate for a completion, in the caller's transaction (the file comes after commit)."""
    user = db.session.get(User, completion.user_id)
    course = db.session.get(Course, completion.course_id)
    certificate = Certificate(
        serial=new_serial(),
        completion_id=completion.id,
        user_id=completion.user_id,
        course_id=completion.course_id,
        recipient_name=user.name,
        course_title=course.title,
        course_version=completion.course_version,
        score=completion.score,
        completed_at=completion.completed_at,
        expires_at=completion.expires_at,
        issued_at=now or completion.completed_at,
        organisation_name=current_app.config["ORGANISATION_NAME"],
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def issue_missing() -> list[Certificate]:
    """Certificates for completions recorded without one (data from before certificates existed).

    Each certificate is committed on its own, so a completion that another run issued at the same
    moment (the unique completion id of a certificate lets only one write it) is simply skipped.
    Not a savepoint: on SQLite, a savepoint opens a transaction in which the reads of
    `issue_certificate` would come before its write, and a transaction that has read cannot wait
    for the write lock ("database is locked" at once).
    """
    orphans = db.session.execute(
        select(Completion)
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(Certificate.id.is_(None))
        .order_by(Completion.id)
    ).scalars()
    issued = []
    for completion in list(orphans):
        try:
            certificate = issue_certificate(completion, now=utcnow())
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        issued.append(certificate)
    return issued
