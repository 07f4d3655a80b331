"""The links HR sees on a person's record, and removing one (the next sign-in links again by the rules)."""

from sqlalchemy import select

from training.audit.services import record_event
from training.errors import NotFound
from training.extensions import db
from training.sso.models import SsoIdentity


def identities_of(user_id: int) -> list[SsoIdentity]:
    return list(
        db.session.execute(select(SsoIdentity).where(SsoIdentity.user_id == user_id).order_by(SsoIdentity.id)).scalars()
    )


def unlink(actor_id: int, user_id: int, link_id: int, *, ip_address: str = "") -> SsoIdentity:
    """Remove one link of this person (the caller checked the actor may manage them); audited."""
    link = db.session.get(SsoIdentity, link_id)
    if link is None or link.user_id != user_id:
        raise NotFound("This person has no such sign-in link.")
    record_event(
        "sso.unlinked",
        actor_id=actor_id,
        subject_type="user",
        subject_id=str(user_id),
        details={"protocol": link.protocol, "issuer": link.issuer, "subject": link.subject},
        ip_address=ip_address,
    )
    db.session.delete(link)
    db.session.commit()
    return link
