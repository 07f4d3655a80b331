"""HR's actions on one person: add, edit, deactivate, deprovision, reactivate, sign out everywhere; each audited."""

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.auth.passwords import unusable_password_hash
from training.auth.sessions import end_all_sessions, revoke_all_sessions
from training.db import utcnow
from training.errors import Conflict, Forbidden, NotFound
from training.extensions import db
from training.staff.changes import SystemActor, source_of, transaction
from training.staff.person_input import PersonInput, assign, check, diff, snapshot
from training.staff.rules import PRIVILEGED_ROLES

STAFF_ROLES = ("hr", "admin")


def may_change(actor: User | SystemActor, person: User) -> bool:
    """Whether the actor may open and change this person's record: accounts with a privileged role are for
    admins (and their owner) only. The staff list links only the records this allows."""
    return person.role not in PRIVILEGED_ROLES or actor.role == "admin" or person.id == actor.id


def managed_person(actor: User | SystemActor, user_id: int) -> User:
    """A person this HR user or admin may change: 404 if unknown, 403 for hr/author/admin accounts unless an admin."""
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound("There is no such person.")
    if not may_change(actor, person):
        raise Forbidden(f"Only an admin can change an account with the {person.role} role.")
    return person


def create_person(actor: User | SystemActor, data: PersonInput, *, ip_address: str = "") -> User:
    """Add a person who cannot sign in until given a password (`flask users set-password`)."""
    with transaction():
        values = check(actor, None, data)
        person = User(password_hash=unusable_password_hash(), active=True)
        assign(person, values, actor.id, ip_address)
        db.session.add(person)
        db.session.flush()
        record_event(
            "staff.created",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details={"changes": diff({}, snapshot(person)), **source_of(actor)},
            ip_address=ip_address,
        )
        events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person


def update_person(
    actor: User | SystemActor, user_id: int, data: PersonInput, *, ip_address: str = ""
) -> tuple[User, dict]:
    """Save the form's values; returns the person and the changed fields (old -> new)."""
    with transaction():
        person = managed_person(actor, user_id)
        values = check(actor, person, data)
        before = snapshot(person)
        assign(person, values, actor.id, ip_address)
        db.session.flush()
        changes = diff(before, snapshot(person))
        if changes:
            record_event(
                "staff.updated",
                actor_id=actor.id,
                subject_type="user",
                subject_id=str(person.id),
                details={"changes": changes, **source_of(actor)},
                ip_address=ip_address,
            )
            events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person, changes


def deactivate_person(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> User:
    """Stop a person signing in and drop them from compliance figures; their history stays."""
    with transaction():
        person = managed_person(actor, user_id)
        if person.id == actor.id:
            raise Forbidden("You cannot deactivate your own account. Ask another HR user or an admin.")
        if not person.active:
            raise Conflict(f"{person.name} is already deactivated.")
        person.active = False
        end_access(person.id, actor.id, ip_address, source_of(actor))
        events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person


def end_access(user_id: int, actor_id: int | None, ip_address: str, details: dict | None = None) -> None:
    """The rest of deactivating someone already marked inactive: end their sessions, audit it."""
    ended = end_all_sessions(user_id, reason="deactivated")
    record_event(
        "staff.deactivated",
        actor_id=actor_id,
        subject_type="user",
        subject_id=str(user_id),
        details={"sessions_ended": ended, **(details or {})},
        ip_address=ip_address,
    )


def deprovision_person(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> User:
    """The identity provider deleted this person: deactivated (sessions ended) and marked deprovisioned.

    Nothing is deleted: their record, attempts and certificates stay. Provisioning them again reactivates them.
    """
    with transaction():
        person = managed_person(actor, user_id)
        if person.active:
            deactivate_person(actor, user_id, ip_address=ip_address)
        person.deprovisioned_at = utcnow()
        record_event(
            "staff.deprovisioned",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details=source_of(actor),
            ip_address=ip_address,
        )
        return person


def sign_out_everywhere(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> tuple[User, int]:
    """End every open session of a person (reason "revoked"): HR for staff and managers, admins for anyone.

    Returns the person and how many live sessions were ended.
    """
    with transaction():
        person = managed_person(actor, user_id)
        if person.id == actor.id:
            raise Forbidden("To end your own sessions, use Your account, Where you are signed in.")
        ended = revoke_all_sessions(person.id, actor_id=actor.id, ip_address=ip_address)
        return person, ended


def reactivate_person(actor: User | SystemActor, user_id: int, *, ip_address: str = "") -> User:
    with transaction():
        person = managed_person(actor, user_id)
        if person.active:
            raise Conflict(f"{person.name} is already active.")
        person.active = True
        person.deprovisioned_at = None
        record_event(
            "staff.reactivated",
            actor_id=actor.id,
            subject_type="user",
            subject_id=str(person.id),
            details=source_of(actor),
            ip_address=ip_address,
        )
        events.publish(events.person_changed, "staff", user_ids=[person.id])
        return person
