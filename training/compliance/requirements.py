"""What HR can require (published courses and live policies, as `Item`s) and HR's rules: create, retire, list."""

from dataclasses import dataclass
from functools import cache, cached_property

from sqlalchemy import literal, select, union_all

from training.audit.services import record_event
from training.auth.models import User
from training.compliance.models import Requirement
from training.compliance.obligations import refresh_obligations
from training.content.models import Course
from training.db import utcnow
from training.errors import NotFound
from training.extensions import db
from training.policies.models import Policy


@dataclass(frozen=True)
class Item:
    """A requirable thing: a course or a policy. `key` is "course:3" or "policy:1"."""

    kind: str
    id: int
    title: str

    @cached_property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def required_items() -> list[Item]:
    """Every course and policy that an active rule requires, courses first, by title (the matrix columns)."""
    rows = db.session.execute(_required_items_statement()).all()
    items = [Item(kind, item_id, title) for kind, item_id, title in rows]
    return sorted(items, key=lambda item: (item.kind != "course", item.title.casefold(), item.id))


@cache
def _required_items_statement():
    """Built once: the people list asks on every visit, and building a statement costs more than running it."""
    live = Requirement.retired_at.is_(None)
    courses = select(literal("course").label("kind"), Course.id, Course.title).where(
        Course.id.in_(select(Requirement.course_id).where(live))
    )
    policies = select(literal("policy").label("kind"), Policy.id, Policy.title).where(
        Policy.id.in_(select(Requirement.policy_id).where(live)), Policy.retired_at.is_(None)
    )
    return union_all(courses, policies)


@dataclass(frozen=True)
class RequirementInput:
    item: str  # an Item.key
    department_id: int | None
    job_title: str
    due_within_days: int
    recertify_months: int | None


def active_requirements() -> list[Requirement]:
    return list(
        db.session.execute(
            select(Requirement)
            .where(Requirement.retired_at.is_(None))
            .order_by(Requirement.created_at.desc(), Requirement.id.desc())
        ).scalars()
    )


def requirable_items() -> list[Item]:
    """Every published course and every live policy: what HR can choose from."""
    courses = db.session.execute(
        select(Course.id, Course.title).where(Course.published.is_(True)).order_by(Course.title)
    ).all()
    policies = db.session.execute(
        select(Policy.id, Policy.title).where(Policy.retired_at.is_(None)).order_by(Policy.title)
    ).all()
    return [Item("course", i, t) for i, t in courses] + [Item("policy", i, t) for i, t in policies]


def create_requirement(actor: User, data: RequirementInput, *, ip_address: str = "") -> Requirement:
    """Add a rule and rebuild everyone's obligations under it, with an audit record, in one transaction."""
    kind, _, raw = data.item.partition(":")
    known = {item.key for item in requirable_items()}
    if data.item not in known:
        raise NotFound("There is no such course or policy to require.")
    requirement = Requirement(
        course_id=int(raw) if kind == "course" else None,
        policy_id=int(raw) if kind == "policy" else None,
        department_id=data.department_id,
        job_title=data.job_title.strip(),
        due_within_days=data.due_within_days,
        recertify_months=data.recertify_months if kind == "course" else None,
        created_by_id=actor.id,
    )
    db.session.add(requirement)
    db.session.flush()
    record_event(
        "requirement.created",
        actor_id=actor.id,
        subject_type="requirement",
        subject_id=str(requirement.id),
        details={
            "item": data.item,
            "department_id": data.department_id,
            "job_title": requirement.job_title,
            "due_within_days": data.due_within_days,
            "recertify_months": requirement.recertify_months,
        },
        ip_address=ip_address,
    )
    refresh_obligations()
    db.session.commit()
    return requirement


def retire_requirement(actor: User, requirement_id: int, *, ip_address: str = "") -> Requirement:
    """Stop a rule (kept for the record); obligations that only it created disappear."""
    requirement = db.session.get(Requirement, requirement_id)
    if requirement is None or requirement.retired_at is not None:
        raise NotFound("There is no such active requirement.")
    requirement.retired_at = utcnow()
    requirement.retired_by_id = actor.id
    record_event(
        "requirement.retired",
        actor_id=actor.id,
        subject_type="requirement",
        subject_id=str(requirement.id),
        details={},
        ip_address=ip_address,
    )
    refresh_obligations()
    db.session.commit()
    return requirement
