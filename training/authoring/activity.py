"""The authoring activity page: every authoring event of the audit record, newest first, with who made it."""

from sqlalchemy import Row, func, select

from training.audit import labels as audit_labels
from training.audit.models import AuditEvent
from training.auth.models import User
from training.paging import Page, paginate_rows

AUTHORING_SUBJECTS = ("question", "course", "module", "question_bank")
# The authoring activity page's labels: the authoring part of the audit record's one label map.
ACTION_LABELS = {
    action: label
    for action, label in audit_labels.ACTION_LABELS.items()
    if action.partition(".")[0] in AUTHORING_SUBJECTS
}


def activity_page(page: int = 1, per_page: int = 50) -> Page[Row[tuple[AuditEvent, str | None]]]:
    """Authoring events, newest first, with who made them (one query for the page, one for the count)."""
    condition = AuditEvent.subject_type.in_(AUTHORING_SUBJECTS)
    events = (
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(condition)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    return paginate_rows(events, page, per_page, count=select(func.count()).select_from(AuditEvent).where(condition))
