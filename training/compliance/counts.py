"""The overview's counts: obligations per (department, completed, started, deciding day) and people per
(department, first breach day), kept in the transaction that writes obligations and recomputed by reconcile;
reconcile also recounts the people list's total (`PeopleCount`, active people per department, kept by triggers)
and checks the words people are found by (`person_word`, see `auth/search.py`).

There is a row per department and day, not per person, so the dashboard reads a number of rows that stops
growing with the staff. Every change adds a difference
with INSERT ... ON CONFLICT DO UPDATE (`n = n + excluded.n`), so two transactions changing people of one
department at once both count: PostgreSQL makes the second wait for the first's row and adds to what it
committed; SQLite has one writer at a time. A transaction writes its keys once, sorted: they lock in one order.
Rows that fall to zero are kept (the next change in that bucket reuses them) and every reader ignores them.

The rows of days gone by are folded daily (`fold_past_days`, `flask compliance fold`) into one row per bucket at
`FOLDED`, a day before any other: every reader asks about today and later, for which all past days are one sum,
so the rows read stop growing with time as well. A change that still names a folded day (a person's old first
breach day) writes its difference to that day's row again, and the next fold takes it in.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, false, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from training.audit.services import record_event
from training.auth.models import User
from training.auth.search import rewrite_words, words_drift
from training.compliance.models import FirstBreachCount, Obligation, ObligationCount, PeopleCount
from training.extensions import db

NEVER = date.max  # the deciding day of a completion that never expires
FOLDED = date.min  # the day of the row that holds every folded day of a bucket (`fold_past_days`)
NO_DEPARTMENT = 0
OBLIGATION_KEY = ("department_key", "completed", "started", "day")
BREACH_KEY = ("department_key", "day")
PEOPLE_KEY = ("department_key",)


def obligation_key(row: Mapping) -> tuple[int, bool, bool, date]:
    """The bucket of one obligation (a mapping with the `Obligation` columns): `started` only matters while open."""
    completed = row["completed_on"] is not None
    day = (row["valid_until"] or NEVER) if completed else row["due_on"]
    return (row["department_id"] or NO_DEPARTMENT, completed, not completed and bool(row["started"]), day)


def breach_keys(rows: Iterable[Mapping]) -> Counter:
    """(department key, first breach day) per person and department of these obligations, counted."""
    first: dict[tuple[int, int], date] = {}
    for row in rows:
        department_key, _, _, day = obligation_key(row)
        person = (row["user_id"], department_key)
        first[person] = min(day, first.get(person, NEVER))
    return Counter((department_key, day) for (_, department_key), day in first.items())


class Differences:
    """What a transaction's obligation writes change in the counts, written once at its end (`write`): all in
    one key order, however many batches the rebuild had, so two transactions never wait for each other in turn."""

    def __init__(self) -> None:
        self.obligations: Counter = Counter()
        self.people: Counter = Counter()

    def rebuild(self, before: Iterable[Mapping], after: Iterable[Mapping]) -> None:
        """`before` and `after` are all the obligations of the same people."""
        before, after = list(before), list(after)
        self.obligations.update(obligation_key(row) for row in after)
        self.obligations.subtract(obligation_key(row) for row in before)
        self.people.update(breach_keys(after))
        self.people.subtract(breach_keys(before))

    def started(self, rows: Iterable[Mapping]) -> None:
        """These obligations (as they were before) are now started: the open ones move to the started bucket."""
        for row in rows:
            department_key, completed, started, day = obligation_key(row)
            if not completed and not started:
                self.obligations[(department_key, False, False, day)] -= 1
                self.obligations[(department_key, False, True, day)] += 1

    def write(self) -> None:
        _add(ObligationCount, OBLIGATION_KEY, "obligations", self.obligations)
        _add(FirstBreachCount, BREACH_KEY, "people", self.people)


def _add(model, key_names: tuple[str, ...], count_name: str, differences: Counter) -> None:
    """Add each non-zero difference to its row (created when missing), in key order."""
    values = [{**dict(zip(key_names, key, strict=True)), count_name: n} for key, n in sorted(differences.items()) if n]
    if not values:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model)
    column = getattr(model, count_name)
    statement = statement.on_conflict_do_update(
        index_elements=list(key_names), set_={count_name: column + getattr(statement.excluded, count_name)}
    )
    db.session.execute(statement, values)


# --- folding the days gone by -----------------------------------------------------------------------------------


def fold_past_days(today: date) -> int:
    """Move the counts of the days before `today` into their bucket's `FOLDED` row; returns the rows folded.

    Writers of obligations wait until the commit (`lock_obligations`, as reconcile does: a writer's count rows are
    locked in key order, the DELETE's in any order, so the two must not interleave), and each row's count is taken
    from what the DELETE returns.
    """
    lock_obligations()
    folded = 0
    for check in DAY_TABLES:
        table = check.model.__table__
        day, count = table.c.day, table.c[check.count_name]
        keys = [table.c[name] for name in check.key_names]
        rows = db.session.execute(table.delete().where(day < today, day > FOLDED).returning(*keys, count)).all()
        sums: Counter = Counter()
        for *key, n in rows:
            sums[_folded_key(check, tuple(key))] += n
        _add(check.model, check.key_names, check.count_name, sums)
        folded += len(rows)
    return folded


def _folded_key(check: "TableCheck", key: tuple) -> tuple:
    return tuple(FOLDED if name == "day" else part for name, part in zip(check.key_names, key, strict=True))


def folded_counts(check: "TableCheck", counts: dict[tuple, int], today: date) -> dict[tuple, int]:
    """`counts` as `fold_past_days(today)` leaves them: the days before `today` summed into their `FOLDED` row."""
    if "day" not in check.key_names:
        return counts
    position = check.key_names.index("day")
    folded: Counter = Counter()
    for key, n in counts.items():
        folded[_folded_key(check, key) if key[position] < today else key] += n
    return {key: n for key, n in folded.items() if n}


# --- recomputing them from the obligations ------------------------------------------------------------


def _department_key():
    return func.coalesce(Obligation.department_id, literal(NO_DEPARTMENT))


def _deciding_day():
    return case(
        (Obligation.completed_on.is_(None), Obligation.due_on),
        else_=func.coalesce(Obligation.valid_until, literal(NEVER, type_=Obligation.due_on.type)),
    )


def recomputed_obligation_counts() -> dict[tuple, int]:
    completed = Obligation.completed_on.is_not(None)
    started = and_(Obligation.completed_on.is_(None), Obligation.started.is_(True))
    keys = (_department_key(), case((completed, True), else_=False), case((started, True), else_=False))
    day = _deciding_day()
    rows = db.session.execute(select(*keys, day, func.count()).group_by(*keys, day))
    return {(department_key, bool(done), bool(begun), on): n for department_key, done, begun, on, n in rows}


def recomputed_breach_counts() -> dict[tuple, int]:
    department_key = _department_key()
    person = (
        select(department_key.label("department_key"), func.min(_deciding_day()).label("day"))
        .group_by(Obligation.user_id, department_key)
        .subquery()
    )
    rows = db.session.execute(select(person.c.department_key, person.c.day, func.count()).group_by(*person.c))
    return {(department_key, day): n for department_key, day, n in rows}


def recomputed_people_counts() -> dict[tuple, int]:
    department_key = func.coalesce(User.department_id, literal(NO_DEPARTMENT))
    active = select(department_key, func.count()).where(User.active.is_(True))
    rows = db.session.execute(active.group_by(department_key))
    return {(key,): n for key, n in rows}


def stored_counts(model, key_names: tuple[str, ...], count_name: str) -> dict[tuple, int]:
    """The stored rows that count something (rows at zero mean nothing)."""
    columns = [getattr(model, name) for name in key_names]
    count = getattr(model, count_name)
    rows = db.session.execute(select(*columns, count).where(count != 0))
    return {tuple(row[:-1]): row[-1] for row in rows}


@dataclass(frozen=True)
class Drift:
    """One row whose stored count differs from the obligations' (0 where either has no row)."""

    table: str
    key: tuple
    stored: int
    recomputed: int


@dataclass(frozen=True)
class TableCheck:
    model: type
    key_names: tuple[str, ...]
    count_name: str
    recompute: object

    @property
    def table(self) -> str:
        return self.model.__tablename__


TABLES = (
    TableCheck(ObligationCount, OBLIGATION_KEY, "obligations", recomputed_obligation_counts),
    TableCheck(FirstBreachCount, BREACH_KEY, "people", recomputed_breach_counts),
    TableCheck(PeopleCount, PEOPLE_KEY, "people", recomputed_people_counts),
)
DAY_TABLES = tuple(check for check in TABLES if "day" in check.key_names)


def drift_of(check: TableCheck, today: date) -> tuple[list[Drift], dict[tuple, int]]:
    """The drifting rows of one table, and its recomputed counts, both with the days before `today` folded: how
    the rows of past days are split does not change any figure read today or later."""
    stored = folded_counts(check, stored_counts(check.model, check.key_names, check.count_name), today)
    recomputed = folded_counts(check, check.recompute(), today)
    drift = [
        Drift(check.table, key, stored.get(key, 0), recomputed.get(key, 0))
        for key in sorted(set(stored) | set(recomputed))
        if stored.get(key, 0) != recomputed.get(key, 0)
    ]
    return drift, recomputed


def lock_obligations() -> None:
    """Hold writers of people and obligations off until the commit, so the counts, the people and the obligations
    are read at one moment (SHARE locks on PostgreSQL, which readers pass, taken in the writers' order, people
    first; the database write lock on SQLite)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Obligation).where(false()).values(started=Obligation.started))
        return
    db.session.execute(text('LOCK TABLE "user", obligation IN SHARE MODE'))


def replace_counts(check: TableCheck, recomputed: dict[tuple, int]) -> None:
    """Make a table hold exactly the recomputed counts."""
    db.session.execute(check.model.__table__.delete())
    rows = [{**dict(zip(check.key_names, key, strict=True)), check.count_name: n} for key, n in recomputed.items()]
    if rows:
        db.session.execute(check.model.__table__.insert(), rows)


def _words_drift(fix: bool) -> list[Drift]:
    """The people whose search words (`person_word`) differ from their records: stored and recomputed are
    numbers of words. With `fix`, their words are rewritten."""
    drift = words_drift()
    if fix and drift:
        rewrite_words(drift)
    return [
        Drift("person_word", (user_id,), len(stored), len(recomputed))
        for user_id, (stored, recomputed) in sorted(drift.items())
    ]


def reconcile(today: date, fix: bool = False) -> list[Drift]:
    """Recompute the counts from the obligations and the people, and the people's search words, and return the
    rows that drifted, the days before `today` folded; with `fix`, store the recomputed ones (folded) and record it
    in the audit log. Commits."""
    lock_obligations()
    found: list[Drift] = []
    for check in TABLES:
        drift, recomputed = drift_of(check, today)
        found += drift
        if fix and drift:
            replace_counts(check, recomputed)
    found += _words_drift(fix)
    if fix and found:
        tables = sorted({d.table for d in found})
        record_event("compliance.counts_reconciled", actor_id=None, details={"rows": len(found), "tables": tables})
    db.session.commit()
    return found
