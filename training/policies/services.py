"""Policies: HR publishes versions and links courses; staff read a version and attest to it.

Versions are append-only: a new text is a new row, never an edit. A material change asks everyone
required to attest again and to retake the courses linked to the policy (45 CFR 164.530(b)(2)(i)(C));
`compliance.obligations` derives both from the versions when obligations are refreshed, so every write
here that changes what someone must do sends a domain event (training/events.py) before the commit.
"""

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.content.models import Course
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db
from training.policies import rules
from training.policies.models import Attestation, Policy, PolicyCourse, PolicyReading, PolicyVersion

MIN_READING_RANGE = (0, 3600)
MAX_ID = 2**31 - 1  # ids and numbers from a URL or form beyond this are unknown, not a database error


class FieldError(DomainError):
    """Input a form cannot check alone (a slug already taken, an unchanged text): shown next to `field`."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class AttestationRefused(Conflict):
    """An attestation that cannot be recorded yet (stale version, reading time); nothing was written."""


def default_reading_seconds() -> int:
    return int(current_app.config["POLICY_MIN_READING_SECONDS"])


# --- Lookups ------------------------------------------------------------------------------------


def policy_by_slug(slug: str) -> Policy:
    """Any policy, retired or not (HR's pages)."""
    policy = db.session.execute(select(Policy).where(Policy.slug == slug)).scalar()
    if policy is None:
        raise NotFound("There is no such policy.")
    return policy


def live_policy(slug: str) -> Policy:
    """A policy staff can read: it exists and is not retired."""
    policy = policy_by_slug(slug)
    if policy.retired_at is not None:
        raise NotFound("This policy has been retired and is no longer in force.")
    return policy


def current_version(policy_id: int) -> PolicyVersion:
    return db.session.execute(
        select(PolicyVersion)
        .where(PolicyVersion.policy_id == policy_id)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    ).scalar_one()


def _in_range(number: int) -> bool:
    return 1 <= number <= MAX_ID


def policy_version(policy: Policy, number: int) -> PolicyVersion:
    version = None
    if _in_range(number):
        version = db.session.execute(
            select(PolicyVersion).where(PolicyVersion.policy_id == policy.id, PolicyVersion.version == number)
        ).scalar()
    if version is None:
        raise NotFound(f"{policy.title} has no version {number}.")
    return version


def with_current_versions(*conditions):
    """Policies joined to their latest version (one query)."""
    latest = (
        select(PolicyVersion.policy_id, func.max(PolicyVersion.version).label("version"))
        .group_by(PolicyVersion.policy_id)
        .subquery()
    )
    return db.session.execute(
        select(Policy, PolicyVersion)
        .join(latest, latest.c.policy_id == Policy.id)
        .join(PolicyVersion, and_(PolicyVersion.policy_id == Policy.id, PolicyVersion.version == latest.c.version))
        .where(*conditions)
        .order_by(Policy.retired_at.is_not(None), func.lower(Policy.title), Policy.id)
    ).all()


def material_changes_by_course(course_ids: list[int]) -> dict[int, list[datetime]]:
    """Publication times of material policy changes (after the first version), per linked course."""
    changes: dict[int, list[datetime]] = defaultdict(list)
    for course_id, published_at in db.session.execute(
        select(PolicyCourse.course_id, PolicyVersion.published_at)
        .join(PolicyVersion, PolicyVersion.policy_id == PolicyCourse.policy_id)
        .where(
            PolicyCourse.course_id.in_(course_ids),
            PolicyVersion.material_change.is_(True),
            PolicyVersion.version > 1,
        )
        .order_by(PolicyVersion.published_at)
    ):
        changes[course_id].append(published_at)
    return changes


# --- HR: create, publish, link, retire -----------------------------------------------------------


@dataclass(frozen=True)
class VersionInput:
    """The text of a version as HR submits it; an empty statement means the default one."""

    body: str
    change_summary: str = ""
    material_change: bool = False
    min_reading_seconds: int = 60
    statement: str = ""


def create_policy(
    actor: User, title: str, slug: str, data: VersionInput, *, ip_address: str = "", now: datetime | None = None
) -> Policy:
    """A new policy with its first version. No rule can require it yet, so no obligation changes."""
    now = now or utcnow()
    title = title.strip()
    slug = slug.strip().lower() or rules.slugify(title)
    if problem := rules.slug_problem(slug):
        raise FieldError("slug", problem)
    _check_version(data)
    taken = FieldError("slug", f"Another policy already uses the address {slug!r}; choose another.")
    if db.session.execute(select(Policy.id).where(Policy.slug == slug)).scalar() is not None:
        raise taken
    policy = Policy(slug=slug, title=title, created_by_id=actor.id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(policy)
            db.session.flush()
    except IntegrityError:
        raise taken from None
    version = _add_version(policy, 1, data, actor, now)
    record_event(
        "policy.created",
        actor_id=actor.id,
        subject_type="policy",
        subject_id=str(policy.id),
        details={"slug": slug, "title": title, "version_id": version.id, "content_hash": version.content_hash},
        ip_address=ip_address,
    )
    db.session.commit()
    return policy


def publish_version(
    actor: User,
    slug: str,
    data: VersionInput,
    *,
    based_on: int,
    ip_address: str = "",
    now: datetime | None = None,
) -> PolicyVersion:
    """Append a version written from version `based_on`; refused if another was published meanwhile,
    or if the text is unchanged. Everyone's obligations are rebuilt under it."""
    now = now or utcnow()
    policy = policy_by_slug(slug)
    if policy.retired_at is not None:
        raise Conflict(f"{policy.title} is retired; a retired policy gets no new versions.")
    current = current_version(policy.id)
    if based_on != current.version:
        raise Conflict(
            f"Version {current.version} of {policy.title} was published while you were editing. "
            "Open the policy again to see it, then publish your changes on top of it."
        )
    _check_version(data)
    if rules.content_hash(data.body) == current.content_hash:
        raise FieldError(
            "body", f"This text is the same as version {current.version}. Change the text to publish a new version."
        )
    version = _add_version(policy, current.version + 1, data, actor, now)
    record_event(
        "policy.version_published",
        actor_id=actor.id,
        subject_type="policy",
        subject_id=str(policy.id),
        details={
            "slug": policy.slug,
            "version": version.version,
            "version_id": version.id,
            "material_change": version.material_change,
            "change_summary": version.change_summary,
            "content_hash": version.content_hash,
        },
        ip_address=ip_address,
    )
    events.publish(events.policy_changed, "policies", user_ids=None, now=now)
    db.session.commit()
    return version


def _check_version(data: VersionInput) -> None:
    if not rules.normalise_body(data.body):
        raise FieldError("body", "Write the text of the policy.")
    low, high = MIN_READING_RANGE
    if not low <= data.min_reading_seconds <= high:
        raise FieldError("min_reading_seconds", f"Enter a number of seconds from {low} to {high}.")
    if len(data.statement.strip()) > rules.STATEMENT_MAX:
        raise FieldError("statement", f"Use at most {rules.STATEMENT_MAX} characters.")


def _add_version(policy: Policy, number: int, data: VersionInput, actor: User, now: datetime) -> PolicyVersion:
    """Insert version `number`; two HR people publishing at once cannot both get the same number."""
    body = rules.normalise_body(data.body)
    version = PolicyVersion(
        policy_id=policy.id,
        version=number,
        body=body,
        change_summary=data.change_summary.strip(),
        material_change=data.material_change and number > 1,
        min_reading_seconds=data.min_reading_seconds,
        statement=data.statement.strip() or rules.default_statement(policy.title, number),
        content_hash=rules.content_hash(body),
        published_at=now,
        published_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(version)
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            f"Another version of {policy.title} was published at the same moment. "
            "Open the policy again to see it, then publish your changes on top of it."
        ) from None
    return version


def link_course(actor: User, slug: str, course_id: int, *, ip_address: str = "") -> bool:
    """Link a published course that teaches the policy; False when it already was (nothing written)."""
    policy = _changeable(slug)
    course = db.session.get(Course, course_id) if _in_range(course_id) else None
    if course is None or not course.published:
        raise NotFound("There is no such course to link.")
    linked = False
    with suppress(IntegrityError), db.session.begin_nested():
        db.session.add(PolicyCourse(policy_id=policy.id, course_id=course.id))
        db.session.flush()
        linked = True
    if not linked:
        return False
    _record_link("policy.course_linked", actor, policy, course, ip_address)
    events.publish(events.policy_changed, "policies", user_ids=None)
    db.session.commit()
    return True


def unlink_course(actor: User, slug: str, course_id: int, *, ip_address: str = "") -> Course:
    """Unlink a course: completions that only a material change of this policy ended count again."""
    policy = _changeable(slug)
    removed = (
        _in_range(course_id)
        and db.session.execute(
            delete(PolicyCourse).where(PolicyCourse.policy_id == policy.id, PolicyCourse.course_id == course_id)
        ).rowcount
    )
    if not removed:
        raise NotFound("That course is not linked to this policy.")
    course = db.session.get(Course, course_id)
    _record_link("policy.course_unlinked", actor, policy, course, ip_address)
    events.publish(events.policy_changed, "policies", user_ids=None)
    db.session.commit()
    return course


def _changeable(slug: str) -> Policy:
    policy = policy_by_slug(slug)
    if policy.retired_at is not None:
        raise Conflict(f"{policy.title} is retired; its linked courses can no longer change.")
    return policy


def _record_link(action: str, actor: User, policy: Policy, course: Course, ip_address: str) -> None:
    record_event(
        action,
        actor_id=actor.id,
        subject_type="policy",
        subject_id=str(policy.id),
        details={"slug": policy.slug, "course_id": course.id, "course_slug": course.slug},
        ip_address=ip_address,
    )


def retire_policy(actor: User, slug: str, *, ip_address: str = "", now: datetime | None = None) -> Policy:
    """Take a policy out of force: staff no longer see it and no rule requires it. Its records stay."""
    policy = policy_by_slug(slug)
    if policy.retired_at is not None:
        raise Conflict(f"{policy.title} is already retired.")
    policy.retired_at = now or utcnow()
    record_event(
        "policy.retired",
        actor_id=actor.id,
        subject_type="policy",
        subject_id=str(policy.id),
        details={"slug": policy.slug},
        ip_address=ip_address,
    )
    events.publish(events.policy_changed, "policies", user_ids=None, now=now)
    db.session.commit()
    return policy


# --- HR: reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    version: PolicyVersion
    published_by: str


@dataclass(frozen=True)
class PolicyDetail:
    policy: Policy
    versions: list[VersionRow]  # newest first
    courses: list[Course]
    linkable: list[Course]

    @property
    def current(self) -> PolicyVersion:
        return self.versions[0].version


def policy_detail(slug: str) -> PolicyDetail:
    policy = policy_by_slug(slug)
    versions = [
        VersionRow(version, name or "a deleted account")
        for version, name in db.session.execute(
            select(PolicyVersion, User.name)
            .outerjoin(User, User.id == PolicyVersion.published_by_id)
            .where(PolicyVersion.policy_id == policy.id)
            .order_by(PolicyVersion.version.desc())
        )
    ]
    linked_ids = select(PolicyCourse.course_id).where(PolicyCourse.policy_id == policy.id)
    courses = list(db.session.execute(select(Course).where(Course.id.in_(linked_ids)).order_by(Course.title)).scalars())
    linkable = list(
        db.session.execute(
            select(Course).where(Course.published.is_(True), Course.id.not_in(linked_ids)).order_by(Course.title)
        ).scalars()
    )
    return PolicyDetail(policy=policy, versions=versions, courses=courses, linkable=linkable)


# --- Staff: what to read, reading and attesting --------------------------------------------------


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
    version = db.session.get(PolicyVersion, version_id) if _in_range(version_id) else None
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
