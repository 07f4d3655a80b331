"""Finding policies and versions: one by slug or number, the current version, the latest of all, material changes."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, and_, func, select

from training.errors import NotFound
from training.extensions import db
from training.policies.models import Policy, PolicyCourse, PolicyVersion
from training.urls import MAX_RECORD_ID


def in_range(number: int) -> bool:
    return 1 <= number <= MAX_RECORD_ID


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


def policy_version(policy: Policy, number: int) -> PolicyVersion:
    version = None
    if in_range(number):
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


def material_changes(course_ids: list[int]) -> Select:
    """The statement of `material_changes_by_course`, (course_id, published_at) rows, for a caller that reads
    it within a larger one (courses' progress)."""
    return (
        select(PolicyCourse.course_id, PolicyVersion.published_at)
        .join(PolicyVersion, PolicyVersion.policy_id == PolicyCourse.policy_id)
        .where(
            PolicyCourse.course_id.in_(course_ids),
            PolicyVersion.material_change.is_(True),
            PolicyVersion.version > 1,
        )
    )


def material_changes_by_course(course_ids: list[int]) -> dict[int, list[datetime]]:
    """Publication times of material policy changes (after the first version), per linked course."""
    changes: dict[int, list[datetime]] = defaultdict(list)
    for course_id, published_at in db.session.execute(
        material_changes(course_ids).order_by(PolicyVersion.published_at)
    ):
        changes[course_id].append(published_at)
    return changes
