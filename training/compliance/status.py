"""Each obligation's status: the conditions in SQL that counts and filters use, and the cells pages show.

Reads never compute a status in Python per row for aggregates: `status_conditions` evaluates `rules.status_on` in SQL.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, literal, or_, select

from training.clock import format_day, today
from training.compliance import rules
from training.compliance.models import Obligation
from training.compliance.requirements import Item, required_items
from training.extensions import db


def due_soon_days() -> int:
    return int(current_app.config.get("COMPLIANCE_DUE_SOON_DAYS", rules.DEFAULT_DUE_SOON_DAYS))


def status_conditions(on: date, window_days: int) -> dict[str, object]:
    """`rules.status_on` in SQL: one condition per status, mutually exclusive and together exhaustive,
    so each can be counted or filtered on its own (a test checks them against the pure rule)."""
    return status_conditions_until(on, on + timedelta(days=window_days))


def status_conditions_until(on, horizon) -> dict[str, object]:
    """`status_conditions` with the due-soon window's last day given: dates, or bound parameters for a statement
    built once and run with each day's values."""
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


def non_compliant_condition(on):
    """Overdue or expired on `on` (a date or a bound parameter)."""
    conditions = status_conditions_until(on, on)
    return or_(conditions[rules.OVERDUE], conditions[rules.EXPIRED])


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


OBLIGATION_COLUMNS = (
    Obligation.course_id,
    Obligation.policy_id,
    Obligation.due_on,
    Obligation.completed_on,
    Obligation.valid_until,
    Obligation.started,
)


def cells_for(user_ids: list[int], items: list[Item], on: date) -> dict[int, dict[str, Cell]]:
    """Each person's cells keyed by item key, in one query."""
    if not user_ids:
        return defaultdict(dict)
    columns = select(Obligation.user_id, *OBLIGATION_COLUMNS).where(Obligation.user_id.in_(user_ids))
    return cells_of(db.session.execute(columns), items, on)


def cells_of(rows, items: list[Item], on: date) -> dict[int, dict[str, Cell]]:
    """Cells keyed by person and item key from rows of (user_id, *OBLIGATION_COLUMNS); a row whose
    obligation columns are all None (an outer join that found none) makes no cell."""
    by_key = {item.key: item for item in items}
    result: dict[int, dict[str, Cell]] = defaultdict(dict)
    window = due_soon_days()
    for user_id, course_id, policy_id, *dates in rows:
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
