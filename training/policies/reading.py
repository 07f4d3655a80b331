"""Staff's side of policies: opening the current version (its reading time starts), then attesting to it.

Opening and attesting change what the person must still do, so each sends `policy_read` before the commit.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.db import utcnow
from training.errors import Conflict, NotFound
from training.extensions import db
from training.policies import rules
from training.policies.lookups import current_version, in_range, live_policy
from training.policies.models import Attestation, Policy, PolicyReading, PolicyVersion


class AttestationRefused(Conflict):
    """An attestation that cannot be recorded yet (stale version, reading time); nothing was written."""


@dataclass(frozen=True)
class PolicyView:
    """The policy page for one person: the current version and where they stand with it."""

    policy: Policy
    version: PolicyVersion
    reading: PolicyReading | None
    attestation: Attestation | None  # of the current version
    previous: Attestation | None  # their latest attestation of an earlier version
    previous_counts: bool  # no material change since that earlier version
    seconds_left: int


def open_policy(user_id: int, slug: str, *, record_reading: bool = True, now: datetime | None = None) -> PolicyView:
    """The current version of a live policy for this person, recording when they first opened it."""
    now = now or utcnow()
    policy = live_policy(slug)
    version = current_version(policy.id)
    reading = _reading(user_id, version.id)
    if reading is None and record_reading:
        with suppress(IntegrityError), db.session.begin_nested():
            db.session.add(PolicyReading(user_id=user_id, policy_version_id=version.id, opened_at=now))
        # Opening a required policy puts it "in progress".
        events.publish(events.policy_read, "policies", user_ids=[user_id], now=now)
        db.session.commit()
        reading = _reading(user_id, version.id)
    previous = db.session.execute(
        select(Attestation)
        .join(PolicyVersion, PolicyVersion.id == Attestation.policy_version_id)
        .where(Attestation.user_id == user_id, PolicyVersion.policy_id == policy.id, PolicyVersion.id != version.id)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    ).scalar()
    return PolicyView(
        policy=policy,
        version=version,
        reading=reading,
        attestation=_attestation(user_id, version.id),
        previous=previous,
        previous_counts=previous is not None and previous.policy_version.version >= _baseline(policy.id),
        seconds_left=rules.seconds_left(reading.opened_at, version.min_reading_seconds, now) if reading else 0,
    )


def _baseline(policy_id: int) -> int:
    """The version attestations must be of: the latest material change, or the first version."""
    return db.session.execute(
        select(func.coalesce(func.max(PolicyVersion.version), 1)).where(
            PolicyVersion.policy_id == policy_id, PolicyVersion.material_change.is_(True)
        )
    ).scalar_one()


def _reading(user_id: int, version_id: int) -> PolicyReading | None:
    return db.session.execute(
        select(PolicyReading).where(PolicyReading.user_id == user_id, PolicyReading.policy_version_id == version_id)
    ).scalar()


def _attestation(user_id: int, version_id: int) -> Attestation | None:
    return db.session.execute(
        select(Attestation).where(Attestation.user_id == user_id, Attestation.policy_version_id == version_id)
    ).scalar()


def attest(
    user: User, slug: str, version_id: int, *, ip_address: str = "", now: datetime | None = None
) -> tuple[Attestation, bool]:
    """Record that the person read the current version and agrees to follow it; (attestation, created).

    Refused, with nothing written, for a version that is no longer current or before the minimum
    reading time since they opened it has passed. A repeat returns the attestation already made.
    """
    now = now or utcnow()
    policy = live_policy(slug)
    version = db.session.get(PolicyVersion, version_id) if in_range(version_id) else None
    if version is None or version.policy_id != policy.id:
        raise NotFound(f"{policy.title} has no such version.")
    current = current_version(policy.id)
    if version.id != current.id:
        raise AttestationRefused(
            f"Version {current.version} of {policy.title} was published after you opened version "
            f"{version.version}. Please read version {current.version}, then attest to it.",
            code="stale_version",
        )
    if existing := _attestation(user.id, version.id):
        return existing, False
    _check_reading_time(user.id, version, now)
    attestation = Attestation(
        user_id=user.id,
        policy_version_id=version.id,
        statement=version.statement,
        attested_at=now,
        ip_address=ip_address,
    )
    try:
        with db.session.begin_nested():
            db.session.add(attestation)
            db.session.flush()
    except IntegrityError:
        # The same form sent twice at once: the unique constraint kept the first one.
        return _attestation(user.id, version.id), False
    record_event(
        "policy.attested",
        actor_id=user.id,
        subject_type="attestation",
        subject_id=str(attestation.id),
        details={"slug": policy.slug, "version": version.version, "policy_version_id": version.id},
        ip_address=ip_address,
    )
    events.publish(events.policy_read, "policies", user_ids=[user.id], now=now)
    db.session.commit()
    return attestation, True


def _check_reading_time(user_id: int, version: PolicyVersion, now: datetime) -> None:
    reading = _reading(user_id, version.id)
    if reading is None:
        raise AttestationRefused(
            "We have no record of you opening this version. Open the policy, read it, then attest.", code="not_read"
        )
    left = rules.seconds_left(reading.opened_at, version.min_reading_seconds, now)
    if left:
        unit = "second" if left == 1 else "seconds"
        raise AttestationRefused(
            f"Please take the time to read the policy: you can attest in {left} {unit} "
            f"(at least {version.min_reading_seconds} seconds after you first opened it).",
            code="reading_time",
        )
