"""The people list and one person's record: the filter, a manager's scope, who may see whom, the page of people."""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Date, Integer, String, bindparam, func, select
from sqlalchemy.orm import joinedload

from training.auth.models import Department, User
from training.auth.search import search_condition, search_values
from training.auth.words import query_words
from training.clock import today
from training.compliance import rules
from training.compliance.models import FirstBreachCount, Obligation, PeopleCount
from training.compliance.requirements import Item
from training.compliance.status import (
    OBLIGATION_COLUMNS,
    Cell,
    cells_of,
    due_soon_days,
    non_compliant_condition,
    status_conditions_until,
)
from training.errors import Forbidden, HiddenRecord, NotFound
from training.extensions import db
from training.paging import Page, page_number
from training.policies.models import Attestation, PolicyVersion
from training.urls import is_number

VIEW_ALL_ROLES = ("hr", "admin")
NON_COMPLIANT_FILTER = "non_compliant"
# A search that finds more people than this gets its page by walking the people in name order and asking each
# (it stops at the page's end), instead of reading and sorting everyone it found.
BROAD_SEARCH = 1000


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
    shape, values = _shape_and_values(criteria, on)
    return _people_statement(shape).params(values)


ANY_OBLIGATION = "any"  # a status that names no status: people with any obligation (of the item, if one is given)


@dataclass(frozen=True)
class FilterShape:
    """Which parts of a filter are set. The statements of each shape are built once and kept (`lru_cache`), then
    run with the filter's values as parameters: building and caching a statement anew cost more than running it."""

    search: bool
    search_words: int  # how many words the search has (none: it matches nobody)
    department: bool
    job_title: bool
    item_kind: str  # "", "course" or "policy"
    status: str  # "", NON_COMPLIANT_FILTER, a status of `rules.LABELS` or ANY_OBLIGATION
    broad_search: bool = False  # the search found more than BROAD_SEARCH people: the page asks person by person

    @property
    def kept_total(self) -> bool:
        """Whether the kept counts hold the number of people: everyone or a department, all or not compliant."""
        plain = not (self.search or self.job_title or self.item_kind)
        return plain and self.status in ("", NON_COMPLIANT_FILTER)


def _shape_and_values(criteria: ComplianceFilter, on: date) -> tuple[FilterShape, dict]:
    column, item_id = criteria.item_column()
    status = criteria.status
    if status not in ("", NON_COMPLIANT_FILTER, *rules.LABELS) or (not status and column is not None):
        status = ANY_OBLIGATION
    words = query_words(criteria.q)
    shape = FilterShape(
        search=bool(criteria.q.strip()),
        search_words=len(words),
        department=criteria.department_id is not None,
        job_title=bool(criteria.job_title.strip()),
        item_kind=criteria.item.partition(":")[0] if column is not None else "",
        status=status,
    )
    values = {}
    if shape.search:
        values |= search_values(words)
    if shape.department:
        values["department_id"] = criteria.department_id
    if shape.job_title:
        values["job_title"] = criteria.job_title.strip().lower()
    if shape.item_kind:
        values["item_id"] = item_id
    if shape.status not in ("", ANY_OBLIGATION):
        values |= {"on": on, "horizon": on + timedelta(days=due_soon_days())}
    return shape, values


@lru_cache(maxsize=256)
def _people_statement(shape: FilterShape):
    query = select(User).where(User.active.is_(True))
    if shape.search:
        query = query.where(search_condition(shape.search_words, per_person=shape.broad_search))
    if shape.department:
        query = query.where(User.department_id == bindparam("department_id", type_=Integer))
    if shape.job_title:
        query = query.where(func.lower(User.job_title) == bindparam("job_title", type_=String))
    if shape.status:
        query = query.where(_matching_obligation(shape).where(Obligation.user_id == User.id).exists())
    return query.order_by(func.lower(User.name), User.id)


def _matching_obligation(shape: FilterShape):
    """The obligations the status (and item) of the filter asks for, by person: correlate it, or read it whole."""
    matching = select(Obligation.user_id)
    if shape.item_kind:
        column = Obligation.course_id if shape.item_kind == "course" else Obligation.policy_id
        matching = matching.where(column == bindparam("item_id", type_=Integer))
    on, horizon = bindparam("on", type_=Date), bindparam("horizon", type_=Date)
    if shape.status == NON_COMPLIANT_FILTER:
        matching = matching.where(non_compliant_condition(on))
    elif shape.status in rules.LABELS:
        matching = matching.where(status_conditions_until(on, horizon)[shape.status])
    return matching


@lru_cache(maxsize=256)
def _total_statement(shape: FilterShape):
    """How many people match: a sum of the kept counts where they answer, else a count of the matching people."""
    department = bindparam("department_id", type_=Integer)
    if shape.kept_total and shape.status == NON_COMPLIANT_FILTER:
        b = FirstBreachCount
        scope = [b.department_key == department] if shape.department else []
        return select(func.coalesce(func.sum(b.people), 0)).where(*scope, b.day < bindparam("on", type_=Date))
    if shape.kept_total:
        scope = [PeopleCount.department_key == department] if shape.department else []
        return select(func.coalesce(func.sum(PeopleCount.people), 0)).where(*scope)
    if shape.status:
        return _counted_from_obligations(shape)
    people = _people_statement(shape).with_only_columns(User.id).order_by(None).subquery()
    return select(func.count()).select_from(people)


def _counted_from_obligations(shape: FilterShape):
    """How many people a status (or item) filter matches, read from the obligations in that status (an index
    range of the open ones by due day, or of the completed ones by expiry) rather than by trying every person:
    the page itself stops at its 50 people, a total would otherwise try them all."""
    unfiltered = replace(shape, status="", item_kind="")
    people = _people_statement(unfiltered).with_only_columns(User.id).order_by(None)
    people = people.where(User.id.in_(_matching_obligation(shape))).subquery()
    return select(func.count()).select_from(people)


@dataclass(frozen=True)
class PersonRow:
    """One line of the people list as plain values: the person, then one cell per column (None: not required)."""

    id: int
    name: str
    email: str
    employee_id: str | None
    department: str | None
    job_title: str
    cells: tuple[Cell | None, ...]
    overall: str | None


PERSON_COLUMNS = (
    User.id,
    User.name,
    User.email,
    User.employee_id,
    Department.name.label("department"),
    User.job_title,
)


def people_page(
    criteria: ComplianceFilter,
    items: list[Item],
    page: int = 1,
    per_page: int = 50,
    now: datetime | None = None,
) -> Page[PersonRow]:
    """One page of the people list with each person's status for each of `items`: two queries at any size,
    the total (a sum of the kept counts for everyone, a department and "not compliant") and then the page's
    people with their obligations.

    `items` are the columns (`required_items()`), loaded by the caller, which shows them too. People are
    read as columns, not `User` entities: a page is drawn on every visit and entities cost more than the query.
    """
    on = today(now)
    shape, values = _shape_and_values(criteria, on)
    connection = db.session.connection()  # Core reads of plain rows: the ORM's execution adds nothing here
    total = connection.execute(_total_statement(shape), values).scalar_one()
    if shape.search and total > BROAD_SEARCH:
        shape = replace(shape, broad_search=True)
    number = page_number(page, total, per_page)
    window = {"limit": per_page, "offset": (number - 1) * per_page}
    rows = connection.execute(_page_statement(shape), values | window).all()
    return Page(_person_rows(rows, items, on), number, per_page, total)


@lru_cache(maxsize=256)
def _page_statement(shape: FilterShape):
    """The page's people (PERSON_COLUMNS) in the list's order, each with their obligations (OBLIGATION_COLUMNS),
    one row per obligation or one row of None for a person with none."""
    window = (
        _people_statement(shape)
        .with_only_columns(*PERSON_COLUMNS, func.lower(User.name).label("sort_name"))
        .outerjoin(Department, User.department_id == Department.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    person = [window.c[column.key] for column in PERSON_COLUMNS]
    return (
        select(*person, *OBLIGATION_COLUMNS)
        .outerjoin(Obligation, Obligation.user_id == window.c.id)
        .order_by(window.c.sort_name, window.c.id)
    )


def _person_rows(rows, items: list[Item], on: date) -> list[PersonRow]:
    people = {row[0]: row[: len(PERSON_COLUMNS)] for row in rows}
    width = len(PERSON_COLUMNS)
    cells = cells_of(((row[0], *row[width:]) for row in rows), items, on)
    return [person_row(person, items, cells.get(user_id, {})) for user_id, person in people.items()]


def person_row(person, items: list[Item], cells: dict[str, Cell]) -> PersonRow:
    """A row of PERSON_COLUMNS and the person's cells, as one line in the columns' order."""
    ordered = tuple(cells.get(item.key) for item in items)
    overall = rules.worst(cell.status for cell in ordered if cell is not None)
    return PersonRow(*person, cells=ordered, overall=overall)


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
