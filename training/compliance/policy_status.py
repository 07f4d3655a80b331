"""Where people stand with the policies they must attest to: HR's attestation counts, a person's policy list.

These read the obligations compliance derives (training/compliance/obligations.py) together with the policies' own
records, so they live here, above both.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, case, func, or_, select

from training.clock import today
from training.compliance import rules
from training.compliance.models import Obligation
from training.compliance.requirements import Item
from training.compliance.status import Cell, cell_with, due_soon_days, person_cells
from training.content import catalog
from training.extensions import db
from training.policies.lookups import with_current_versions
from training.policies.models import Attestation, Policy, PolicyVersion


@dataclass(frozen=True)
class PolicySummary:
    """A policy on HR's list: its current version and how many of those required have a counting attestation."""

    policy: Policy
    current: PolicyVersion
    required: int
    attested: int


def policy_summaries(now: datetime | None = None) -> list[PolicySummary]:
    """Every policy with its current version and attestation counts, in two queries."""
    on = today(now)
    counting = and_(
        Obligation.completed_on.is_not(None), or_(Obligation.valid_until.is_(None), Obligation.valid_until >= on)
    )
    counts = {
        policy_id: (required, attested)
        for policy_id, required, attested in db.session.execute(
            select(Obligation.policy_id, func.count(), func.count(case((counting, 1))))
            .where(Obligation.policy_id.is_not(None))
            .group_by(Obligation.policy_id)
        )
    }
    return [
        PolicySummary(policy, version, *counts.get(policy.id, (0, 0))) for policy, version in with_current_versions()
    ]


@dataclass(frozen=True)
class PolicyListing:
    """A live policy as one person sees it: its current version, their status when required, and
    when they attested to the current version (if they did)."""

    policy: "Policy | PolicyHead"
    current: "PolicyVersion | VersionHead"
    cell: Cell | None
    attested_at: datetime | None


@dataclass(frozen=True)
class LearnerCompliance:
    """One person's required courses (by course id) and policies with their status; other live policies."""

    courses: dict[int, Cell]
    policies: list[PolicyListing]
    others: list[PolicyListing]


def learner_compliance(user_id: int, now: datetime | None = None) -> LearnerCompliance:
    """What this person must do, for "My training" and the policies page, in a fixed number of queries."""
    cells = person_cells(user_id, now)
    course_cells = {c.item.id: c for c in cells if c.item.kind == "course"}
    policy_cells = {c.item.id: c for c in cells if c.item.kind == "policy"}
    live = with_current_versions(Policy.retired_at.is_(None))
    attested = dict(
        db.session.execute(
            select(Attestation.policy_version_id, Attestation.attested_at).where(
                Attestation.user_id == user_id, Attestation.policy_version_id.in_([v.id for _, v in live])
            )
        ).all()
    )
    listings = [PolicyListing(p, v, policy_cells.get(p.id), attested.get(v.id)) for p, v in live]
    by_id = {listing.policy.id: listing for listing in listings}
    required = [by_id[c.item.id] for c in cells if c.item.kind == "policy" and c.item.id in by_id]
    others = [listing for listing in listings if listing.cell is None]
    return LearnerCompliance(courses=course_cells, policies=required, others=others)


@dataclass(frozen=True)
class PolicyHead:
    """What a listing shows of a policy."""

    id: int
    slug: str
    title: str


@dataclass(frozen=True)
class VersionHead:
    """What a listing shows of a policy's current version."""

    id: int
    version: int
    published_at: datetime


@dataclass(frozen=True)
class LearnerRequirements:
    """What one person is required to do, as "My training" shows it: their courses' cells by course id, and the
    policies to attest to with their current version and the person's attestation to it."""

    courses: dict[int, Cell]
    policies: list[PolicyListing]


@cache
def _requirements_statement():
    """A person's obligations, each policy's current version and their attestation to it; built once per process."""
    user_id = bindparam("user_id")
    latest = (
        select(PolicyVersion.policy_id, func.max(PolicyVersion.version).label("version"))
        .group_by(PolicyVersion.policy_id)
        .subquery()
    )
    current = and_(PolicyVersion.policy_id == Policy.id, PolicyVersion.version == latest.c.version)
    return (
        select(
            Obligation.course_id,
            Obligation.due_on,
            Obligation.completed_on,
            Obligation.valid_until,
            Obligation.started,
            Policy.id,
            Policy.slug,
            Policy.title,
            PolicyVersion.id,
            PolicyVersion.version,
            PolicyVersion.published_at,
            Attestation.attested_at,
        )
        .outerjoin(Policy, and_(Policy.id == Obligation.policy_id, Policy.retired_at.is_(None)))
        .outerjoin(latest, latest.c.policy_id == Policy.id)
        .outerjoin(PolicyVersion, current)
        .outerjoin(Attestation, and_(Attestation.user_id == user_id, Attestation.policy_version_id == PolicyVersion.id))
        .where(Obligation.user_id == user_id)
    )


def learner_requirements(user_id: int, now: datetime | None = None) -> LearnerRequirements:
    """What this person must do, in one statement.

    The obligations are what the active requirements ask of this person (compliance keeps them so); course
    titles come from the catalog cache. A retired policy's obligation is left out, as `required_items` does.
    """
    on, window = today(now), due_soon_days()
    rows = db.session.execute(_requirements_statement(), {"user_id": user_id}).all()
    courses, policies, catalog_courses = {}, [], catalog.courses_by_id()
    for course_id, *dates, policy_id, slug, title, version_id, number, published_at, attested_at in rows:
        obligation = rules.ObligationDates(*dates)
        if course_id in catalog_courses:  # a course created after this request read the content version waits
            item = Item("course", course_id, catalog_courses[course_id].title)
            courses[course_id] = cell_with(obligation, item, on, window)
        elif policy_id is not None and version_id is not None:
            cell = cell_with(obligation, Item("policy", policy_id, title), on, window)
            head, version = PolicyHead(policy_id, slug, title), VersionHead(version_id, number, published_at)
            policies.append(PolicyListing(head, version, cell, attested_at))
    policies.sort(key=lambda listing: (listing.policy.title.casefold(), listing.policy.id))
    return LearnerRequirements(courses=courses, policies=policies)


def policy_cell(user_id: int, policy_id: int, now: datetime | None = None) -> Cell | None:
    """This person's status with one policy, when they are required to attest to it."""
    return next((c for c in person_cells(user_id, now) if c.item.key == f"policy:{policy_id}"), None)
