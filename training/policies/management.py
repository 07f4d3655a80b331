"""HR's side of policies: creating them, publishing versions, linking courses, retiring, the detail page.

Versions are append-only: a new text is a new row, never an edit. A material change asks everyone
required to attest again and to retake the courses linked to the policy (45 CFR 164.530(b)(2)(i)(C));
`compliance.obligations` derives both from the versions when obligations are refreshed, so every write
here that changes what someone must do sends a domain event (training/events.py) before the commit.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from training import events
from training.audit.services import record_event
from training.auth.models import User
from training.content.models import Course
from training.db import utcnow
from training.errors import Conflict, FieldRefused, NotFound
from training.extensions import db
from training.policies import rules
from training.policies.lookups import current_version, in_range, policy_by_slug
from training.policies.models import Policy, PolicyCourse, PolicyVersion

MIN_READING_RANGE = (0, 3600)


def default_reading_seconds() -> int:
    return int(current_app.config["POLICY_MIN_READING_SECONDS"])


# --- Create, publish, link, retire --------------------------------------------------------------


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
        raise FieldRefused("slug", problem)
    _check_version(data)
    taken = FieldRefused("slug", f"Another policy already uses the address {slug!r}; choose another.")
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
        raise FieldRefused(
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
        raise FieldRefused("body", "Write the text of the policy.")
    low, high = MIN_READING_RANGE
    if not low <= data.min_reading_seconds <= high:
        raise FieldRefused("min_reading_seconds", f"Enter a number of seconds from {low} to {high}.")
    if len(data.statement.strip()) > rules.STATEMENT_MAX:
        raise FieldRefused("statement", f"Use at most {rules.STATEMENT_MAX} characters.")


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
    course = db.session.get(Course, course_id) if in_range(course_id) else None
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
        in_range(course_id)
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


# --- The detail page ---------------------------------------------------------------------------


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
