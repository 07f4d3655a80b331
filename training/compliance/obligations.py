"""Obligations: derived from HR's rules and people's records, one row per person and required item.

`refresh_obligations(user_ids)` recomputes these people's rows and writes only the differences; compliance
calls it (before the commit) for the domain events that can change what a person must do or has done.
`mark_started` is the one-UPDATE path for the events that can only put an item "in progress".
Both move the overview's counts (`compliance.counts`) in the same transaction.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select, update

from training.auth.models import User
from training.certificates.models import Certificate, CertificateRevocation
from training.clock import organisation_zone
from training.completions.models import Completion, ModuleProgress
from training.compliance import counts, rules
from training.compliance.models import Obligation, Requirement
from training.content.models import Course, TrainingModule
from training.db import utcnow
from training.extensions import db
from training.policies.lookups import material_changes_by_course
from training.policies.models import Attestation, Policy, PolicyReading, PolicyVersion
from training.quizzes.models import QuizAttempt

REFRESH_BATCH = 2000
# What a rebuild compares; `refreshed_at` says when a row last changed, so an unchanged row keeps it.
COMPARED = ("department_id", "due_on", "completed_on", "valid_until", "started")


def refresh_obligations(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Recompute the obligations of these people (everyone when None); returns how many they now have.

    Runs in the caller's transaction and does not commit. Deactivated people get no rows, which is
    how they drop out of every compliance figure while their history stays untouched. Rows that come
    out the same are not written at all (no dead tuples, index-only scans stay index-only); changed
    rows are updated in place, missing ones inserted, obsolete ones deleted.

    Two requests rebuilding one person's rows at once would each insert a new row twice over (a
    unique violation), or write rows computed from what the other was about to change. So each batch
    first takes the people's locks (their rows on PostgreSQL, the database write lock on SQLite), then
    reads: the rebuilds of one person run one after another, each seeing what the one before committed.
    """
    now = now or utcnow()
    if user_ids is None:
        ids = list(db.session.execute(select(User.id).order_by(User.id)).scalars())
    else:
        ids = sorted(set(user_ids))
    count = 0
    differences = counts.Differences()
    for start in range(0, len(ids), REFRESH_BATCH):
        batch = ids[start : start + REFRESH_BATCH]
        _lock_people(batch)
        rows = _obligation_rows(batch, _active_rules(), now)
        _write_differences(batch, rows, now, differences)
        count += len(rows)
    differences.write()
    return count


def mark_started(user_ids: Iterable[int], course_id: int, now: datetime | None = None) -> None:
    """Put these people's obligations for a course "in progress": one UPDATE, of the rows not started yet, whose
    RETURNING tells the overview's counts which open obligations moved to "started".

    For the events that only add activity to the learner's current cycle (a quiz attempt drawn, a module
    marked): the current cycle always comes after the latest completion, so the rebuild would set
    `started` and change nothing else. The people's locks come first, as for a rebuild.
    """
    ids = sorted(set(user_ids))
    _lock_people(ids)
    changed = db.session.execute(
        update(Obligation)
        .where(Obligation.user_id.in_(ids), Obligation.course_id == course_id, Obligation.started.is_(False))
        .values(started=True, refreshed_at=now or utcnow())
        .returning(Obligation.department_id, Obligation.due_on, Obligation.completed_on, Obligation.valid_until)
    )
    differences = counts.Differences()
    differences.started({**row._mapping, "started": False} for row in changed)
    differences.write()


def _lock_people(user_ids: list[int]) -> None:
    """Lock these people's rows until the commit, in id order (SELECT ... FOR NO KEY UPDATE on
    PostgreSQL, which still lets other rows reference them). SQLite has no row locks: a write that
    matches nothing takes the database write lock, so nobody commits between the reads and the writes."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(User).where(False).values(id=User.id))
        return
    db.session.execute(
        select(User.id).where(User.id.in_(user_ids)).order_by(User.id).with_for_update(key_share=True)
    ).all()


def _write_differences(user_ids: list[int], rows: list[dict], now: datetime, differences: counts.Differences) -> None:
    """Make these people's stored obligations equal `rows`, writing only what differs; note what the counts gain."""
    stored = {
        (row.user_id, row.course_id, row.policy_id): row
        for row in db.session.execute(
            select(Obligation.id, Obligation.user_id, Obligation.course_id, Obligation.policy_id)
            .add_columns(*(getattr(Obligation, name) for name in COMPARED))
            .where(Obligation.user_id.in_(user_ids))
        )
    }
    differences.rebuild([old._mapping for old in stored.values()], rows)
    inserts, updates = [], []
    for row in rows:
        old = stored.pop((row["user_id"], row["course_id"], row["policy_id"]), None)
        if old is None:
            inserts.append(row)
        elif any(getattr(old, name) != row[name] for name in COMPARED):
            updates.append({"id": old.id, **{name: row[name] for name in COMPARED}, "refreshed_at": now})
    if stored:
        db.session.execute(delete(Obligation).where(Obligation.id.in_([old.id for old in stored.values()])))
    if updates:
        db.session.execute(update(Obligation), updates)
    if inserts:
        db.session.execute(insert(Obligation), inserts)


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
