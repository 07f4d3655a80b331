"""What every staff change shares: its one transaction, who makes it (a person or a system), refusals by field."""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from training.auth.models import User
from training.errors import Conflict, DomainError
from training.extensions import db

RACE_MESSAGE = "Someone else changed these records at the same moment. Reload the page and try again."


class InvalidFields(DomainError):
    """Values the service refuses, by form field (field -> message), so the page shows each beside its field."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class SystemActor:
    """A system that changes staff records with HR's reach (SCIM provisioning), no person behind it.

    `source` goes into every audit event it causes (for SCIM: the channel and which token).
    """

    source: dict
    id: None = None
    role: str = "hr"


def source_of(actor: User | SystemActor) -> dict:
    """What the audit events of this actor's changes say about their source: {} for a person."""
    return dict(actor.source) if isinstance(actor, SystemActor) else {}


_in_transaction: ContextVar[bool] = ContextVar("staff_transaction", default=False)


@contextmanager
def transaction():
    """Commit what the block wrote, or roll all of it back. A unique constraint tripped by someone
    else's write at the same moment is a 409 with a message, not a 500.

    Inside another `transaction()` block it commits nothing itself: several staff changes made for one
    request (a SCIM PATCH that edits and deactivates a person) land together or not at all.
    """
    if _in_transaction.get():
        yield
        return
    marker = _in_transaction.set(True)
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(RACE_MESSAGE) from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _in_transaction.reset(marker)
