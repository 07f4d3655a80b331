"""The HR feed's decisions on a full-file plan: what each row does, the counts, and the safety limit.

Pure: no Flask and no database. `flask staff sync` plans the file with `import_planner.plan_import(...,
full_file=True)`, then asks `refusal()` whether the run may go ahead. A feed that would deactivate
more than the limit's share of the people it manages is refused unless forced (an HR export cut
short, or a file of another site, looks like that); one that would deactivate every one of them is
refused even when forced.
"""

from dataclasses import asdict, dataclass

from training.staff.import_plan import ImportPlan, PlannedRow

KINDS = ("created", "updated", "moved", "reactivated", "unchanged")


@dataclass(frozen=True)
class FeedCounts:
    created: int = 0
    updated: int = 0
    moved: int = 0  # the department changed (other fields may have changed too)
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def summary(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in self.as_dict().items())


def row_kind(row: PlannedRow) -> str:
    """One of KINDS: a deactivated person listed again is reactivated, whatever else changes."""
    if row.person_id is None:
        return "created"
    if not row.active:
        return "reactivated"
    if any(change.field == "department" for change in row.changes):
        return "moved"
    return "updated" if row.changes else "unchanged"


def counts(plan: ImportPlan) -> FeedCounts:
    tally = dict.fromkeys(KINDS, 0)
    for row in plan.rows:
        tally[row_kind(row)] += 1
    return FeedCounts(**tally, deactivated=len(plan.leavers), errors=len(plan.errors))


def refusal(plan: ImportPlan, max_percent: int, force: bool) -> str:
    """Why this run must not change anything ("" when it may): errors, everyone leaving, or the limit."""
    if plan.errors:
        return f"the file has {len(plan.errors)} error(s); the feed is applied whole or not at all"
    leaving, managed = len(plan.leavers), plan.managed
    if managed and leaving == managed:
        return (
            f"it would deactivate every one of the {managed} people the HR feed manages; this is refused even "
            "with --force (deactivate people under Staff if that is really meant)"
        )
    if leaving * 100 > max_percent * managed and not force:
        return (
            f"it would deactivate {leaving} of the {managed} people the HR feed manages "
            f"({100 * leaving / managed:.1f}%), more than the limit of {max_percent}%; check the file, "
            "and run again with --force if it is right"
        )
    return ""
