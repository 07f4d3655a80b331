"""Obligations: rebuilt from HR's rules and people's records, and read back for pages, exports and the API.

`refresh_obligations(user_ids)` is called (before the commit) by every service that changes what
a person must do or has done: a completion, a quiz attempt, a module marked, an attestation, a
revocation, a staff record edit or import, a rule change, a policy publication. Reads never
compute a status in Python per row for aggregates: `status_conditions` evaluates `rules.status_on` in SQL.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from flask import current_app
from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from training.audit.services import record_event
from training.auth.models import Department, User
from training.auth.search import person_matches
from training.certificates.models import Certificate, CertificateRevocation
from training.clock import format_day, organisation_zone, today
from training.completions.models import Completion, ModuleProgress
from training.compliance import rules
from training.compliance.models import Obligation, Requirement
from training.content.models import Course, TrainingModule
from training.db import utcnow
from training.errors import Forbidden, HiddenRecord, NotFound
from training.extensions import db
from training.paging import Page, paginate
from training.policies.lookups import material_changes_by_course
from training.policies.models import Attestation, Policy, PolicyReading, PolicyVersion
from training.quizzes.models import QuizAttempt
from training.urls import is_number

REFRESH_BATCH = 2000


def due_soon_days() -> int:
    return int(current_app.config.get("COMPLIANCE_DUE_SOON_DAYS", rules.DEFAULT_DUE_SOON_DAYS))


# --- Items: what can be required --------------------------------------------------------------


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
    live = Requirement.retired_at.is_(None)
    courses = select(literal("course").label("kind"), Course.id, Course.title).where(
        Course.id.in_(select(Requirement.course_id).where(live))
    )
    policies = select(literal("policy").label("kind"), Policy.id, Policy.title).where(
        Policy.id.in_(select(Requirement.policy_id).where(live)), Policy.retired_at.is_(None)
    )
    rows = db.session.execute(union_all(courses, policies)).all()
    items = [Item(kind, item_id, title) for kind, item_id, title in rows]
    return sorted(items, key=lambda item: (item.kind != "course", item.title.casefold(), item.id))


# --- Refresh: rules + records -> obligation rows ----------------------------------------------


def refresh_obligations(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Rebuild the obligations of these people (everyone when None); returns the rows written.

    Runs in the caller's transaction and does not commit. Deactivated people get no rows, which is
    how they drop out of every compliance figure while their history stays untouched.

    Two requests rebuilding one person's rows at once would each delete only the rows they saw and
    then insert theirs twice over (a unique violation), or write rows computed from what the other
    was about to change. So each batch first takes the people's locks (their rows on PostgreSQL,
    the database write lock on SQLite, taken by the delete), then reads: the rebuilds of one person
    run one after another, each seeing what the one before committed.
    """
    now = now or utcnow()
    if user_ids is None:
        ids = list(db.session.execute(select(User.id).order_by(User.id)).scalars())
    else:
        ids = sorted(set(user_ids))
    written = 0
    for start in range(0, len(ids), REFRESH_BATCH):
        batch = ids[start : start + REFRESH_BATCH]
        _lock_people(batch)
        db.session.execute(delete(Obligation).where(Obligation.user_id.in_(batch)))
        rows = _obligation_rows(batch, _active_rules(), now)
        if rows:
            db.session.execute(insert(Obligation), rows)
        written += len(rows)
    return written


def _lock_people(user_ids: list[int]) -> None:
    """Lock these people's rows until the commit, in id order (SELECT ... FOR NO KEY UPDATE on
    PostgreSQL, which still lets other rows reference them; SQLite has no row locks: nothing)."""
    db.session.execute(
        select(User.id).where(User.id.in_(user_ids)).order_by(User.id).with_for_update(key_share=True)
    ).all()


@dataclass(frozen=True)
class _ItemRule:
    kind: str
    item_id: int
    rule: rules.Rule


def _active_rules() -> list[_ItemRule]:
    zone = organisation_zone()
    result = []
    for requirement in db.session.execute(
        select(Requirement)
        .outerjoin(Course, Course.id == Requirement.course_id)
        .outerjoin(Policy, Policy.id == Requirement.policy_id)
        .where(Requirement.retired_at.is_(None))
        .where(or_(Course.published.is_(True), and_(Policy.id.is_not(None), Policy.retired_at.is_(None))))
    ).scalars():
        kind = "course" if requirement.course_id else "policy"
        item_id = requirement.course_id or requirement.policy_id
        rule = rules.Rule(
            due_within_days=requirement.due_within_days,
            created_on=rules.local_day(requirement.created_at, zone),
            department_id=requirement.department_id,
            job_title=requirement.job_title,
            recertify_months=requirement.recertify_months,
        )
        result.append(_ItemRule(kind, item_id, rule))
    return result


def _obligation_rows(user_ids: list[int], active_rules: list[_ItemRule], now: datetime) -> list[dict]:
    if not active_rules:
        return []
    people = {
        row.id: row
        for row in db.session.execute(
            select(User.id, User.department_id, User.job_title, User.hire_date).where(
                User.id.in_(user_ids), User.active.is_(True)
            )
        )
    }
    if not people:
        return []
    ids = list(people)
    course_ids = sorted({r.item_id for r in active_rules if r.kind == "course"})
    policy_ids = sorted({r.item_id for r in active_rules if r.kind == "policy"})
    records = _course_records(ids, course_ids) | _policy_records(ids, policy_ids)
    rows = []
    for user_id, row in people.items():
        person = rules.Person(row.department_id, row.job_title or "", row.hire_date)
        applicable: dict[tuple[str, int], list[rules.Rule]] = defaultdict(list)
        for item_rule in active_rules:
            if rules.applies_to(item_rule.rule, person):
                applicable[(item_rule.kind, item_rule.item_id)].append(item_rule.rule)
        for (kind, item_id), item_rules in applicable.items():
            record = records.get((user_id, kind, item_id), rules.ItemRecord())
            dates = rules.obligation_dates(item_rules, person, record)
            rows.append(
                {
                    "user_id": user_id,
                    "department_id": row.department_id,
                    "course_id": item_id if kind == "course" else None,
                    "policy_id": item_id if kind == "policy" else None,
                    "due_on": dates.due_on,
                    "completed_on": dates.completed_on,
                    "valid_until": dates.valid_until,
                    "started": dates.started,
                    "refreshed_at": now,
                }
            )
    return rows


def _course_records(user_ids: list[int], course_ids: list[int]) -> dict[tuple, rules.ItemRecord]:
    """Latest completion (with certificate revocation), current-cycle activity and material changes."""
    if not course_ids:
        return {}
    zone = organisation_zone()
    latest: dict[tuple[int, int], tuple] = {}
    for user_id, course_id, cycle, completed_at, expires_at, revoked_at in db.session.execute(
        select(
            Completion.user_id,
            Completion.course_id,
            Completion.cycle,
            Completion.completed_at,
            Completion.expires_at,
            CertificateRevocation.revoked_at,
        )
        .outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .outerjoin(CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id)
        .where(Completion.user_id.in_(user_ids), Completion.course_id.in_(course_ids))
        .order_by(Completion.cycle)
    ):
        latest[(user_id, course_id)] = (cycle, completed_at, expires_at, revoked_at)
    activity = _course_activity_cycles(user_ids, course_ids)
    changes = material_changes_by_course(course_ids)
    keys = set(latest) | set(activity)
    records = {}
    for user_id, course_id in keys:
        cycle, completed_at, expires_at, revoked_at = latest.get((user_id, course_id), (-1, None, None, None))
        started = activity.get((user_id, course_id), -1) > cycle
        if completed_at is None:
            records[(user_id, "course", course_id)] = rules.ItemRecord(started=started)
            continue
        until = rules.local_last_valid_day(expires_at, zone)
        if revoked_at is not None:
            until = min(until, rules.local_day(revoked_at, zone) - timedelta(days=1))
        superseded = next((d for d in changes.get(course_id, []) if d > completed_at), None)
        records[(user_id, "course", course_id)] = rules.ItemRecord(
            done_on=rules.local_day(completed_at, zone),
            natural_until=until,
            started=started,
            superseded_on=rules.local_day(superseded, zone),
        )
    return records


def _course_activity_cycles(user_ids: list[int], course_ids: list[int]) -> dict[tuple[int, int], int]:
    """The latest cycle in which each person marked a module or took a quiz, per course."""
    activity: dict[tuple[int, int], int] = {}
    module_cycles = (
        select(ModuleProgress.user_id, TrainingModule.course_id, func.max(ModuleProgress.cycle))
        .join(TrainingModule, TrainingModule.id == ModuleProgress.module_id)
        .where(ModuleProgress.user_id.in_(user_ids), TrainingModule.course_id.in_(course_ids))
        .group_by(ModuleProgress.user_id, TrainingModule.course_id)
    )
    attempt_cycles = (
        select(QuizAttempt.user_id, QuizAttempt.course_id, func.max(QuizAttempt.cycle))
        .where(QuizAttempt.user_id.in_(user_ids), QuizAttempt.course_id.in_(course_ids))
        .group_by(QuizAttempt.user_id, QuizAttempt.course_id)
    )
    for query in (module_cycles, attempt_cycles):
        for user_id, course_id, cycle in db.session.execute(query):
            activity[(user_id, course_id)] = max(activity.get((user_id, course_id), -1), cycle)
    return activity


def material_change_after(course_id: int, moment: datetime) -> datetime | None:
    """The first material change of a policy linked to this course published after `moment`, if any."""
    return next((d for d in material_changes_by_course([course_id]).get(course_id, []) if d > moment), None)


def _policy_records(user_ids: list[int], policy_ids: list[int]) -> dict[tuple, rules.ItemRecord]:
    """Latest attestation per policy, superseded when a later material version exists; current-version reads."""
    if not policy_ids:
        return {}
    zone = organisation_zone()
    baseline = _policy_baselines(policy_ids)
    records = {}
    for user_id, policy_id, version, attested_at in db.session.execute(
        select(Attestation.user_id, PolicyVersion.policy_id, PolicyVersion.version, Attestation.attested_at)
        .join(PolicyVersion, PolicyVersion.id == Attestation.policy_version_id)
        .where(Attestation.user_id.in_(user_ids), PolicyVersion.policy_id.in_(policy_ids))
        .order_by(Attestation.attested_at)
    ):
        needed_version, changed_at = baseline[policy_id]
        superseded = changed_at if version < needed_version else None
        records[(user_id, "policy", policy_id)] = rules.ItemRecord(
            done_on=rules.local_day(attested_at, zone),
            superseded_on=rules.local_day(superseded, zone),
        )
    for user_id, policy_id in db.session.execute(
        select(PolicyReading.user_id, PolicyVersion.policy_id)
        .join(PolicyVersion, PolicyVersion.id == PolicyReading.policy_version_id)
        .where(PolicyReading.user_id.in_(user_ids), PolicyVersion.policy_id.in_(policy_ids))
        .where(PolicyVersion.version >= _baseline_version_subquery())
        .distinct()
    ):
        key = (user_id, "policy", policy_id)
        existing = records.get(key, rules.ItemRecord())
        records[key] = rules.ItemRecord(existing.done_on, existing.natural_until, True, existing.superseded_on)
    return records


def _baseline_version_subquery():
    """Per policy (correlated), the version from which attestations count: the latest material one."""
    inner = PolicyVersion.__table__.alias("baseline")
    return (
        select(func.coalesce(func.max(inner.c.version), 1))
        .where(inner.c.policy_id == PolicyVersion.policy_id)
        .where(or_(inner.c.material_change.is_(True), inner.c.version == 1))
        .scalar_subquery()
    )


def _policy_baselines(policy_ids: list[int]) -> dict[int, tuple[int, datetime | None]]:
    """Per policy: the version attestations must be of (latest material change) and when it was published."""
    result: dict[int, tuple[int, datetime | None]] = {pid: (1, None) for pid in policy_ids}
    for policy_id, version, published_at in db.session.execute(
        select(PolicyVersion.policy_id, PolicyVersion.version, PolicyVersion.published_at)
        .where(PolicyVersion.policy_id.in_(policy_ids))
        .where(or_(PolicyVersion.material_change.is_(True), PolicyVersion.version == 1))
        .order_by(PolicyVersion.version)
    ):
        result[policy_id] = (version, published_at if version > 1 else None)
    return result


# --- Status in SQL ------------------------------------------------------------------------------


def status_conditions(on: date, window_days: int) -> dict[str, object]:
    """`rules.status_on` in SQL: one condition per status, mutually exclusive and together exhaustive,
    so each can be counted or filtered on its own (a test checks them against the pure rule)."""
    horizon = on + timedelta(days=window_days)
    o = Obligation
    done, not_done = o.completed_on.is_not(None), o.completed_on.is_(None)
    later = and_(not_done, o.due_on > horizon)
    return {
        rules.OVERDUE: and_(not_done, o.due_on < on),
        rules.EXPIRED: and_(done, o.valid_until < on),
        rules.DUE_SOON: or_(
            and_(done, o.valid_until >= on, o.valid_until <= horizon),
            and_(not_done, o.due_on >= on, o.due_on <= horizon),
        ),
        rules.IN_PROGRESS: and_(later, o.started.is_(True)),
        rules.NOT_STARTED: and_(later, o.started.is_(False)),
        rules.COMPLETED: and_(done, or_(o.valid_until.is_(None), o.valid_until > horizon)),
    }


def status_case(on: date, window_days: int):
    """The status of each obligation row as a SQL expression (for grouping and display)."""
    conditions = status_conditions(on, window_days)
    return case(*[(condition, status) for status, condition in conditions.items()], else_=literal(None))


def non_compliant_condition(on: date):
    """Overdue or expired."""
    conditions = status_conditions(on, 0)
    return or_(conditions[rules.OVERDUE], conditions[rules.EXPIRED])


# --- Reading: filters, the people list, the dashboard -----------------------------------------

VIEW_ALL_ROLES = ("hr", "admin")
NON_COMPLIANT_FILTER = "non_compliant"


@dataclass(frozen=True)
class ComplianceFilter:
    """The people list, exports and the API share this filter. `item` is an `Item.key`."""

    q: str = ""
    department_id: int | None = None
    job_title: str = ""
    item: str = ""
    status: str = ""

    def item_column(self):
        kind, _, raw = self.item.partition(":")
        if kind not in ("course", "policy") or not is_number(raw):
            return None, None
        return (Obligation.course_id if kind == "course" else Obligation.policy_id), int(raw)


def scoped_filter(viewer: User, criteria: ComplianceFilter) -> ComplianceFilter:
    """Managers see their own department only, whatever the request asked for."""
    if viewer.role in VIEW_ALL_ROLES:
        return criteria
    if viewer.role == "manager" and viewer.department_id is not None:
        return ComplianceFilter(criteria.q, viewer.department_id, criteria.job_title, criteria.item, criteria.status)
    raise Forbidden("Your account does not have access to compliance records.")


def filtered_people(criteria: ComplianceFilter, on: date):
    """Active people matching the filter, by name: a SELECT of `User` the callers page or stream."""
    query = select(User).where(User.active.is_(True))
    if criteria.q.strip():
        query = query.where(person_matches(criteria.q))
    if criteria.department_id is not None:
        query = query.where(User.department_id == criteria.department_id)
    if criteria.job_title.strip():
        query = query.where(func.lower(User.job_title) == criteria.job_title.strip().lower())
    column, item_id = criteria.item_column()
    status = criteria.status
    if column is not None or status:
        matching = select(Obligation.user_id).where(Obligation.user_id == User.id)
        if column is not None:
            matching = matching.where(column == item_id)
        if status == NON_COMPLIANT_FILTER:
            matching = matching.where(non_compliant_condition(on))
        elif status in rules.LABELS:
            matching = matching.where(status_conditions(on, due_soon_days())[status])
        query = query.where(matching.exists())
    return query.order_by(func.lower(User.name), User.id)


@dataclass(frozen=True)
class Cell:
    """One person's status for one required item, ready to show."""

    item: Item
    status: str
    detail: str
    dates: rules.ObligationDates

    @property
    def label(self) -> str:
        return rules.LABELS[self.status]


@dataclass(frozen=True)
class PersonRow:
    user: User
    cells: dict[str, Cell]

    @property
    def overall(self) -> str | None:
        return rules.worst(cell.status for cell in self.cells.values())


def people_page(
    criteria: ComplianceFilter,
    items: list[Item],
    page: int = 1,
    per_page: int = 50,
    now: datetime | None = None,
) -> Page[PersonRow]:
    """One page of the people list with each person's status for each of `items`: three queries at any size.

    `items` are the columns (`required_items()`), loaded by the caller, which shows them too.
    """
    on = today(now)
    users = paginate(filtered_people(criteria, on), page, per_page)
    cells = cells_for([u.id for u in users.items], items, on)
    return users.map(lambda user: PersonRow(user=user, cells=cells.get(user.id, {})))


def cells_for(user_ids: list[int], items: list[Item], on: date) -> dict[int, dict[str, Cell]]:
    """Each person's cells keyed by item key, in one query."""
    by_key = {item.key: item for item in items}
    result: dict[int, dict[str, Cell]] = defaultdict(dict)
    if not user_ids:
        return result
    window = due_soon_days()
    columns = select(
        Obligation.user_id,
        Obligation.course_id,
        Obligation.policy_id,
        Obligation.due_on,
        Obligation.completed_on,
        Obligation.valid_until,
        Obligation.started,
    ).where(Obligation.user_id.in_(user_ids))
    for user_id, course_id, policy_id, *dates in db.session.execute(columns):
        item = by_key.get(f"course:{course_id}" if course_id else f"policy:{policy_id}")
        if item is not None:
            result[user_id][item.key] = cell_with(rules.ObligationDates(*dates), item, on, window)
    return result


def cell_with(dates: rules.ObligationDates, item: Item, on: date, window: int) -> Cell:
    status = rules.status_on(dates, on, window)
    return Cell(item=item, status=status, detail=rules.status_detail(status, dates, format_day), dates=dates)


def person_cells(user_id: int, now: datetime | None = None) -> list[Cell]:
    """Everything one person is required to do, with its status, in the matrix's column order."""
    items = required_items()
    cells = cells_for([user_id], items, today(now)).get(user_id, {})
    return [cells[item.key] for item in items if item.key in cells]


def person_for_viewer(viewer: User, user_id: int) -> User:
    """The person, if the viewer may see their records (themselves, HR, admin, their department's manager)."""
    person = db.session.get(User, user_id)
    message = "There is no such person, or you cannot see their records."
    if person is None:
        raise NotFound(message)
    if not can_view_person(viewer, person):
        raise HiddenRecord(message, subject_type="user", subject_id=person.id)
    return person


def can_view_person(viewer: User, person: User) -> bool:
    if viewer.id == person.id or viewer.role in VIEW_ALL_ROLES:
        return True
    return (
        viewer.role == "manager" and viewer.department_id is not None and viewer.department_id == person.department_id
    )


@dataclass(frozen=True)
class DepartmentFigure:
    id: int | None
    name: str
    people: int
    non_compliant: int

    @property
    def compliant(self) -> int:
        return self.people - self.non_compliant

    @property
    def rate(self) -> int:
        return percent(self.compliant, self.people)


@dataclass(frozen=True)
class Dashboard:
    on: date
    counts: dict[str, int]
    departments: list[DepartmentFigure]

    @property
    def people(self) -> int:
        return sum(d.people for d in self.departments)

    @property
    def compliant(self) -> int:
        return sum(d.compliant for d in self.departments)

    @property
    def rate(self) -> int:
        return percent(self.compliant, self.people)


def percent(part: int, whole: int) -> int:
    """Whole percent, rounded down so that 99.6% compliant never shows as 100%."""
    return 100 * part // whole if whole else 100


def dashboard(department_id: int | None = None, now: datetime | None = None) -> Dashboard:
    """Compliance figures from three aggregate queries over obligations, whatever the number of staff.

    A person counts once, as compliant when none of their obligations is overdue or expired.
    """
    on = today(now)
    conditions = status_conditions(on, due_soon_days())
    scope = [] if department_id is None else [Obligation.department_id == department_id]
    sums = [func.coalesce(func.sum(case((condition, 1), else_=0)), 0) for condition in conditions.values()]
    row = db.session.execute(select(*sums).where(*scope)).one()
    counts = dict(zip(conditions, (int(n) for n in row), strict=True))
    everyone = _people_per_department(scope)
    behind = {dep_id: people for dep_id, _, people in _people_per_department([*scope, non_compliant_condition(on)])}
    departments = [
        DepartmentFigure(id=dep_id, name=name or "No department", people=people, non_compliant=behind.get(dep_id, 0))
        for dep_id, name, people in everyone
    ]
    return Dashboard(on=on, counts=counts, departments=departments)


def _people_per_department(conditions: list) -> list[tuple[int | None, str | None, int]]:
    """(department id, name, people) for obligations matching `conditions`, by department name.

    COUNT(DISTINCT user_id) grouped by department reads the (department_id, user_id) index in
    order, so no obligation is sorted; the names are joined to the few grouped rows afterwards.
    """
    grouped = (
        select(Obligation.department_id, func.count(func.distinct(Obligation.user_id)).label("people"))
        .where(*conditions)
        .group_by(Obligation.department_id)
        .subquery()
    )
    rows = db.session.execute(
        select(grouped.c.department_id, Department.name, grouped.c.people)
        .outerjoin(Department, Department.id == grouped.c.department_id)
        .order_by(Department.name.is_(None), Department.name)
    ).all()
    return [(dep_id, name, people) for dep_id, name, people in rows]


# --- Requirements: HR's rules ---------------------------------------------------------------------


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


def attestations_of(user_id: int) -> list[Attestation]:
    """Every attestation one person made, newest first, with its policy version and policy loaded."""
    return list(
        db.session.execute(
            select(Attestation)
            .options(joinedload(Attestation.policy_version).joinedload(PolicyVersion.policy))
            .where(Attestation.user_id == user_id)
            .order_by(Attestation.attested_at.desc())
        ).scalars()
    )
