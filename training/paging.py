"""One page of a list (people, staff, certificates, reminders, the audit record, authoring activity, a transcript's
completions and quiz attempts), one way.

Every list pages alike: numbers from 1, a number past the last shows the last page, an empty list is
"page 1 of 1", and a page costs two queries, the count and then the page's rows.

Flask-SQLAlchemy's `db.paginate` runs the page's query (LIMIT and OFFSET, `.unique().scalars()`), with
`count=False`: the count comes first, here, because the page number is clamped to the last page before
the page is asked for. Counting after the rows, as `count=True` does, would answer a page past the end
with no rows (the last page would need a third query), and a number such as page=99999999999999999999
would reach the database as an OFFSET beyond 64 bits (an error on SQLite and PostgreSQL alike).
Flask-SQLAlchemy documents this use: disable the count and set the total yourself. `paginate_rows`
takes the caller's own count where a cheaper one gives the same number (the audit record counts
without its join to the actor).

`db.paginate` suits a select of one entity (`select(User)`) only: it keeps each row's first column,
because SQLAlchemy has no public way to tell such a select from one of several columns
(pallets-eco/flask-sqlalchemy#1168). For `select(AuditEvent, User.name)`,
`paginate_rows` runs the same LIMIT and OFFSET and keeps whole rows. It does not subclass the library's
`Pagination` instead: creating one directly is not its public API since 3.0, and its hooks are private.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func, select

from training.extensions import db

Item = TypeVar("Item")
Other = TypeVar("Other")
Columns = TypeVar("Columns", bound=tuple[Any, ...])


def last_page(total: int, per_page: int) -> int:
    """The number of the last page of `total` items: 1 when there are none."""
    return max(1, -(-total // per_page))


def page_number(page: int, total: int, per_page: int) -> int:
    """The page shown for a requested number: from 1 to the last page."""
    return min(max(page, 1), last_page(total, per_page))


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a list: its items, its number (1 to `pages`), the page size and the list's length."""

    items: list[Item]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return last_page(self.total, self.per_page)

    def map(self, convert: Callable[[Item], Other]) -> "Page[Other]":
        """The same page with each item converted, e.g. a row into what the template shows."""
        return Page([convert(item) for item in self.items], self.page, self.per_page, self.total)


def paginate(statement: Select[tuple[Item]], page: int, per_page: int) -> Page[Item]:
    """One page of a select of one entity (`select(User)`), in two queries: the count, then `db.paginate`."""
    total = _total(statement)
    number = page_number(page, total, per_page)
    found = db.paginate(statement, page=number, per_page=per_page, error_out=False, count=False)
    return Page(found.items, found.page, found.per_page, total)


def paginate_rows(
    statement: Select[Columns], page: int, per_page: int, count: Select[tuple[int]] | None = None
) -> Page[Row[Columns]]:
    """One page of a select of several columns, each item a row (`for event, name in page.items`).

    `count`: a statement counting the same rows more cheaply, if there is one; else the select is counted.
    """
    total = _total(statement, count)
    number = page_number(page, total, per_page)
    rows = db.session.execute(statement.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(rows), number, per_page, total)


def page_of_list(items: Sequence[Item], page: int, per_page: int) -> Page[Item]:
    """One page of a list already loaded (the question bank, whose tag filter runs after the query)."""
    number = page_number(page, len(items), per_page)
    start = (number - 1) * per_page
    return Page(list(items[start : start + per_page]), number, per_page, len(items))


def _total(statement: Select, count: Select[tuple[int]] | None = None) -> int:
    if count is None:
        count = select(func.count()).select_from(statement.order_by(None).subquery())
    return db.session.execute(count).scalar_one()
