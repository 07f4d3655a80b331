"""The page arithmetic every paged list shares (training/paging.py), without a database."""

import pytest

from training.paging import Page, last_page, page_number, page_of_list


@pytest.mark.parametrize(
    ("total", "per_page", "last"), [(0, 50, 1), (1, 50, 1), (50, 50, 1), (51, 50, 2), (100, 50, 2), (101, 50, 3)]
)
def test_the_last_page_is_at_least_the_first(total, per_page, last):
    assert last_page(total, per_page) == last
    assert Page([], 1, per_page, total).pages == last


@pytest.mark.parametrize(("asked", "shown"), [(1, 1), (2, 2), (3, 3), (4, 3), (10**30, 3), (0, 1), (-5, 1)])
def test_a_page_number_is_kept_between_the_first_and_the_last(asked, shown):
    assert page_number(asked, total=101, per_page=50) == shown


def test_an_empty_list_is_page_1_of_1_whatever_is_asked():
    assert page_number(7, total=0, per_page=50) == 1
    assert page_of_list([], 7, 50) == Page([], 1, 50, 0)


def test_a_list_is_cut_into_pages():
    letters = list("abcdefg")
    assert page_of_list(letters, 1, 3) == Page(["a", "b", "c"], 1, 3, 7)
    assert page_of_list(letters, 3, 3) == Page(["g"], 3, 3, 7)


def test_a_page_past_the_last_shows_the_last():
    assert page_of_list(list("abcdefg"), 9, 3) == Page(["g"], 3, 3, 7)


def test_map_converts_the_items_and_keeps_the_numbers():
    page = Page([1, 2], 2, 2, 5).map(str)
    assert page == Page(["1", "2"], 2, 2, 5) and page.pages == 3
