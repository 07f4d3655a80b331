"""Item statistics against hand-computed examples (the arithmetic is written out next to each)."""

import math

import pytest

from training.authoring.stats.item_stats import (
    MIN_ANSWERS_FOR_FLAGS,
    AnswerRow,
    OptionInfo,
    Totals,
    by_department,
    by_job_title,
    discrimination,
    facility,
    item_statistics,
    option_shares,
    sort_items,
    statistics_of,
    totals_of,
)

SINGLE = (
    OptionInfo(11, "Refer to the privacy officer", True),
    OptionInfo(12, "Reply", False),
    OptionInfo(13, "Ignore it", False),
)


def row(correct, right, asked=3, selected=None, attempt=0, version=1, department="", job_title=""):
    chosen = selected if selected is not None else ({11} if correct else {12})
    return AnswerRow(attempt, version, bool(correct), frozenset(chosen), right, asked, department, job_title)


# x = item score, y = rest score = (attempt right - x) / (questions - 1), questions = 3:
#   (x=1, right 3) y = 2/2 = 1.0      (x=1, right 2) y = 1/2 = 0.5      (x=0, right 2) y = 2/2 = 1.0
#   (x=0, right 0) y = 0/2 = 0.0      (x=1, right 3) y = 1.0
# mean x = 3/5 = 0.6; mean y = 3.5/5 = 0.7
# dx = .4, .4, -.6, -.6, .4          dy = .3, -.2, .3, -.7, .3
# Sxy = .12 - .08 - .18 + .42 + .12 = 0.40;  Sxx = 3(.16) + 2(.36) = 1.2;  Syy = .09+.04+.09+.49+.09 = 0.80
# r = 0.40 / sqrt(1.2 * 0.8) = 0.40 / sqrt(0.96) = sqrt(1/6) = 0.40825
EXAMPLE = [row(1, 3), row(1, 2), row(0, 2), row(0, 0), row(1, 3)]


def test_facility_and_discrimination_of_the_worked_example():
    assert facility(EXAMPLE) == pytest.approx(0.6)
    assert discrimination(EXAMPLE) == pytest.approx(math.sqrt(1 / 6))
    assert discrimination(EXAMPLE) == pytest.approx(0.40825, abs=1e-5)


def test_the_same_figures_from_sums():
    # Over the example: sum x = 3, sum y = 3.5, sum y^2 = 1 + .25 + 1 + 0 + 1 = 3.25, sum xy = 1 + .5 + 1 = 2.5
    # r = (2.5 - 3(3.5)/5) / sqrt((3 - 9/5)(3.25 - 3.5^2/5)) = 0.4 / sqrt(1.2 * 0.8), as above.
    totals = totals_of(EXAMPLE)
    assert totals == Totals(asked=5, right=3, paired=5, sum_x=3, sum_y=3.5, sum_yy=3.25, sum_xy=2.5)
    from_sums = statistics_of(totals, option_shares(EXAMPLE, SINGLE), 5)
    assert from_sums == item_statistics(EXAMPLE, SINGLE)
    assert from_sums.discrimination == pytest.approx(math.sqrt(1 / 6))


def test_negative_discrimination():
    # (x=1, right 1) y = 0; (1, 1) y = 0; (0, 2) y = 1; (0, 2) y = 1; (1, 2) y = .5
    # mean x = .6, mean y = 2.5/5 = .5; dx = .4 .4 -.6 -.6 .4; dy = -.5 -.5 .5 .5 0
    # Sxy = -.2 -.2 -.3 -.3 + 0 = -1.0; Sxx = 1.2; Syy = 4(.25) = 1.0; r = -1/sqrt(1.2) = -0.91287
    rows = [row(1, 1), row(1, 1), row(0, 2), row(0, 2), row(1, 2)]
    assert discrimination(rows) == pytest.approx(-1 / math.sqrt(1.2))


def test_discrimination_is_undefined_without_variation_or_answers():
    assert discrimination(EXAMPLE[:4]) is None  # 4 answers: fewer than 5
    assert discrimination([row(1, 3)] * 6) is None  # everyone right
    assert discrimination([row(1, 2), row(0, 1)] * 3) is None  # rest score 1/2 for every answer
    assert discrimination([row(1, 1, asked=1), row(0, 0, asked=1)] * 5) is None  # no other questions
    assert facility([]) is None


def test_one_question_attempts_are_left_out_of_discrimination_only():
    rows = [*EXAMPLE, row(0, 0, asked=1)]
    assert discrimination(rows) == pytest.approx(math.sqrt(1 / 6))
    assert facility(rows) == pytest.approx(3 / 6)


def test_option_shares_of_single_and_multiple_choice():
    # Example: 11 chosen 3 times, 12 twice, 13 never, of 5 answers.
    shares = option_shares(EXAMPLE, SINGLE)
    assert [(s.option.id, s.chosen, s.share) for s in shares] == [(11, 3, 0.6), (12, 2, 0.4), (13, 0, 0.0)]
    # Multiple choice, 4 answers: {21, 22} {21} {21, 23} {22}: 21 3/4, 22 2/4, 23 1/4 (sum 150%).
    options = (OptionInfo(21, "a", True), OptionInfo(22, "b", True), OptionInfo(23, "c", False))
    rows = [row(1, 1, selected=s) for s in ({21, 22}, {21}, {21, 23}, {22})]
    assert [s.share for s in option_shares(rows, options)] == [0.75, 0.5, 0.25]


def test_option_shares_count_only_the_chosen_version():
    old = [row(1, 2, selected={1}, version=7)] * 3  # option ids of version 7 are not among SINGLE
    stats = item_statistics(old + EXAMPLE, SINGLE, version_id=1)
    assert stats.asked == 8 and stats.right == 6 and stats.option_base == 5
    assert [s.share for s in stats.options] == [0.6, 0.4, 0.0]


def times(rows, n):
    return [r for r in rows for _ in range(n)]


def codes(stats):
    return [f.code for f in stats.flags]


def test_no_flags_below_the_minimum_of_answers():
    rows = [row(1, 3)] * (MIN_ANSWERS_FOR_FLAGS - 1)
    assert item_statistics(rows, SINGLE).flags == ()


def test_very_easy_and_the_option_nobody_picks():
    # 20 of 20 right: facility 1.0 > 0.95; options 12 and 13 never chosen (0% < 2%).
    stats = item_statistics([row(1, 3)] * 20, SINGLE)
    assert codes(stats) == ["very_easy", "unpicked"]
    assert "100%" in stats.flags[0].reason
    assert "“Reply”; “Ignore it”" in stats.flags[1].reason


def test_boundaries_are_not_flagged():
    # 19 of 20 right is 0.95, not above it; 6 of 20 is 0.30, not below it. Each wrong option is picked.
    nineteen = [row(1, 3)] * 19 + [row(0, 2, selected={13})]
    assert "very_easy" not in codes(item_statistics(nineteen, SINGLE))
    six = [row(1, 3)] * 6 + [row(0, 0, selected={12})] * 7 + [row(0, 0, selected={13})] * 7
    assert "hard" not in codes(item_statistics(six, SINGLE))


def test_hard_and_a_wrong_option_more_popular_than_the_right_one():
    # 5 of 20 right (0.25 < 0.30); option 12 chosen by 12 (60%) > the right option 5 (25%); 13 by 3 (15%).
    rows = [row(1, 3)] * 5 + [row(0, 1, selected={12})] * 12 + [row(0, 1, selected={13})] * 3
    stats = item_statistics(rows, SINGLE)
    assert codes(stats) == ["hard", "answer_key"]
    assert "“Reply” is chosen more often (60%) than a correct one (25%)" in stats.flags[1].reason


def test_weak_discrimination():
    # Rows with r = 0 repeated 4 times (repetition keeps r): (1,3) y=1, (1,2) y=.5, (0,2) y=1, (0,0) y=0, (1,1) y=0
    # mean x .6, mean y .5; dx .4 .4 -.6 -.6 .4; dy .5 0 .5 -.5 -.5; Sxy = .2 + 0 - .3 + .3 - .2 = 0
    base = [row(1, 3), row(1, 2), row(0, 2, selected={13}), row(0, 0), row(1, 1)]
    stats = item_statistics(times(base, 4), SINGLE)
    assert stats.discrimination == pytest.approx(0.0)
    assert codes(stats) == ["weak"]


def test_negative_discrimination_asks_to_check_the_key_once():
    base = [row(1, 1), row(1, 1), row(0, 2), row(0, 2, selected={13}), row(1, 2)]
    stats = item_statistics(times(base, 4), SINGLE)
    assert stats.discrimination == pytest.approx(-1 / math.sqrt(1.2))
    assert codes(stats) == ["answer_key"]
    assert "-0.91" in stats.flags[0].reason


def test_breakdowns_by_department_and_job_title():
    rows = [
        *[row(1, 3, department="Ward 1", job_title="Registered Nurse")] * 4,
        row(0, 1, department="Ward 1", job_title=" registered nurse "),
        *[row(0, 1, department="Ward 2", job_title="Porter")] * 2,
        row(1, 3, department="", job_title=""),
    ]
    departments = by_department(rows, SINGLE)
    assert [(g.name, g.asked, g.facility, g.too_few) for g in departments] == [
        ("Ward 1", 5, 0.8, False),
        ("Ward 2", 2, 0.0, True),
        ("No department", 1, 1.0, True),
    ]
    assert [s.share for s in departments[0].options] == [0.8, 0.2, 0.0]
    titles = by_job_title(rows, SINGLE)
    assert [(g.name, g.asked) for g in titles] == [("Registered Nurse", 5), ("Porter", 2), ("No job title", 1)]


def test_sorting_puts_hidden_figures_last_in_either_direction():
    items = {
        "b": item_statistics([row(1, 3)] * 6, SINGLE),
        "a": item_statistics([row(0, 3)] * 10, SINGLE),
        "c": item_statistics([row(1, 3)] * 2, SINGLE),  # too few: never ordered by its figures
    }

    def order(column, descending=False):
        return sort_items(list(items), column, descending, name=lambda k: k, stats=items.get)

    assert order("facility") == ["a", "b", "c"]
    assert order("facility", descending=True) == ["b", "a", "c"]
    assert order("asked", descending=True) == ["a", "b", "c"]
    assert order("question") == order("nonsense") == ["a", "b", "c"]
