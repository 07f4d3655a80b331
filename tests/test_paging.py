"""One page of a list from the database (training/paging.py): the ends of the list, whole rows, two queries."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, false, func, select

from training.auth.models import User
from training.extensions import db
from training.paging import paginate, paginate_rows

PEOPLE = [f"Person {letter}" for letter in "ABCDE"]


@pytest.fixture
def five_people(app, make_user):
    for name in PEOPLE:
        make_user(name=name)


@contextmanager
def counting_statements():
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def by_name():
    return select(User).order_by(User.name)


def test_a_page_holds_its_share_of_the_list(app, five_people):
    with app.app_context(), counting_statements() as statements:
        page = paginate(by_name(), 2, 2)
    assert [user.name for user in page.items] == PEOPLE[2:4]
    assert (page.page, page.per_page, page.total, page.pages) == (2, 2, 5, 3)
    assert len(statements) == 2, "the count, then the page"


@pytest.mark.parametrize("asked", [4, 99, 10**20])
def test_a_page_past_the_last_is_the_last_page_in_two_queries(app, five_people, asked):
    with app.app_context(), counting_statements() as statements:
        page = paginate(by_name(), asked, 2)
    assert page.page == 3 and [user.name for user in page.items] == PEOPLE[4:]
    assert len(statements) == 2


@pytest.mark.parametrize("asked", [0, -3])
def test_a_page_before_the_first_is_the_first(app, five_people, asked):
    with app.app_context():
        page = paginate(by_name(), asked, 2)
    assert page.page == 1 and [user.name for user in page.items] == PEOPLE[:2]


def test_an_empty_list_is_page_1_of_1(app):
    with app.app_context():
        page = paginate(select(User).where(false()), 3, 50)
    assert (page.items, page.page, page.total, page.pages) == ([], 1, 0, 1)


def test_rows_of_several_columns_stay_whole(app, five_people):
    with app.app_context():
        page = paginate_rows(select(User, User.name).order_by(User.name), 9, 2)
        assert [(user.name, name) for user, name in page.items] == [(PEOPLE[4], PEOPLE[4])]
    assert (page.page, page.total) == (3, 5)


def test_rows_are_counted_with_the_count_given(app, five_people):
    everyone = select(func.count()).select_from(User)
    named_a = select(User.name).where(User.name == PEOPLE[0])
    with app.app_context(), counting_statements() as statements:
        page = paginate_rows(named_a, 1, 2, count=everyone)
    assert page.total == 5 and page.pages == 3 and [name for (name,) in page.items] == [PEOPLE[0]]
    assert len(statements) == 2
