"""Item statistics for quiz questions: how often asked, how easy, how well they separate learners.

Pure: plain rows in, plain figures out (no Flask, no database). The formulas are explained in
docs/authoring.md, "Item statistics".

- facility = answers marked correct / answers.
- discrimination = the corrected point-biserial correlation: Pearson's r between the item score x
  (1 right, 0 wrong) and the rest score y of the same attempt, y = (right answers - x) / (questions - 1),
  over the answers whose attempt asked at least two questions. None when there are fewer than
  MIN_ANSWERS_FOR_DISCRIMINATION such answers or when x or y takes a single value.
- option share = answers that selected the option / answers to the option's version (an answer to a
  multiple-choice question can select several options, so shares need not add up to 100%).
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

MIN_ANSWERS_FOR_FLAGS = 20  # fewer answers than this and a flag would mostly report chance
MIN_GROUP_ANSWERS = 5  # figures from fewer answers are not shown: a small team's answers stay private
MIN_ANSWERS_FOR_DISCRIMINATION = 5

VERY_EASY_ABOVE = 0.95
HARD_BELOW = 0.30
WEAK_DISCRIMINATION_BELOW = 0.15
UNPICKED_BELOW = 0.02


@dataclass(frozen=True)
class AnswerRow:
    """One answered question of one submitted attempt, with what the attempt and learner were like."""

    attempt_id: int
    version_id: int
    correct: bool
    selected: frozenset[int]
    attempt_right: int  # right answers in the whole attempt, this one included
    attempt_asked: int  # questions in the whole attempt, this one included
    department: str = ""
    job_title: str = ""


@dataclass(frozen=True)
class OptionInfo:
    id: int
    text: str
    correct: bool


@dataclass(frozen=True)
class OptionShare:
    option: OptionInfo
    chosen: int
    share: float  # of the answers to the option's version


@dataclass(frozen=True)
class Flag:
    code: str  # very_easy | hard | weak | answer_key | unpicked
    label: str
    reason: str


@dataclass(frozen=True)
class ItemStats:
    asked: int
    right: int
    facility: float | None
    discrimination: float | None
    option_base: int  # answers to the version whose options are counted
    options: tuple[OptionShare, ...]
    flags: tuple[Flag, ...]

    @property
    def too_few(self) -> bool:
        """True when the figures must not be shown (fewer than MIN_GROUP_ANSWERS answers)."""
        return self.asked < MIN_GROUP_ANSWERS


@dataclass(frozen=True)
class GroupStats:
    name: str
    asked: int
    facility: float | None
    option_base: int
    options: tuple[OptionShare, ...]

    @property
    def too_few(self) -> bool:
        return self.asked < MIN_GROUP_ANSWERS

    @property
    def options_too_few(self) -> bool:
        return self.option_base < MIN_GROUP_ANSWERS


def facility(rows: Sequence[AnswerRow]) -> float | None:
    """Share of answers that were right; None without answers."""
    return sum(r.correct for r in rows) / len(rows) if rows else None


@dataclass(frozen=True)
class Totals:
    """The sums one question's figures need; a database can compute them with GROUP BY.

    `paired` counts the answers with a rest score (their attempt asked at least two questions);
    `sum_x`, `sum_y`, `sum_yy` and `sum_xy` are over those answers only.
    """

    asked: int
    right: int
    paired: int = 0
    sum_x: float = 0.0
    sum_y: float = 0.0
    sum_yy: float = 0.0
    sum_xy: float = 0.0


def totals_of(rows: Iterable[AnswerRow]) -> Totals:
    asked = right = paired = 0
    sum_x = sum_y = sum_yy = sum_xy = 0.0
    for r in rows:
        asked += 1
        right += r.correct
        if r.attempt_asked >= 2:
            x = float(r.correct)
            y = (r.attempt_right - int(r.correct)) / (r.attempt_asked - 1)
            paired += 1
            sum_x, sum_y, sum_yy, sum_xy = sum_x + x, sum_y + y, sum_yy + y * y, sum_xy + x * y
    return Totals(asked, right, paired, sum_x, sum_y, sum_yy, sum_xy)


def discrimination_of(totals: Totals) -> float | None:
    """Pearson's r of item score and rest score from sums (x is 0 or 1, so the sum of x squared is the sum of x)."""
    n = totals.paired
    if n < MIN_ANSWERS_FOR_DISCRIMINATION:
        return None
    sxx = totals.sum_x - totals.sum_x**2 / n
    syy = totals.sum_yy - totals.sum_y**2 / n
    sxy = totals.sum_xy - totals.sum_x * totals.sum_y / n
    if sxx <= 1e-9 or syy <= 1e-9:
        return None  # everyone right (or wrong), or every rest score equal: no correlation exists
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def discrimination(rows: Sequence[AnswerRow]) -> float | None:
    """Corrected point-biserial correlation between the item and the rest of its attempt."""
    return discrimination_of(totals_of(rows))


def shares_of(options: Sequence[OptionInfo], counts: Mapping[int, int], base: int) -> tuple[OptionShare, ...]:
    """Option shares from how many answers chose each option id, out of `base` answers."""
    return tuple(OptionShare(o, counts.get(o.id, 0), counts.get(o.id, 0) / base if base else 0.0) for o in options)


def option_shares(rows: Sequence[AnswerRow], options: Sequence[OptionInfo]) -> tuple[OptionShare, ...]:
    """How often each option was selected, as a share of `rows` (the answers to the options' version)."""
    counts: dict[int, int] = {}
    for row in rows:
        for option_id in row.selected:
            counts[option_id] = counts.get(option_id, 0) + 1
    return shares_of(options, counts, len(rows))


def _of_version(rows: Sequence[AnswerRow], version_id: int | None) -> list[AnswerRow]:
    return list(rows) if version_id is None else [r for r in rows if r.version_id == version_id]


def item_statistics(
    rows: Sequence[AnswerRow], options: Sequence[OptionInfo] = (), *, version_id: int | None = None
) -> ItemStats:
    """Figures and flags for one question.

    Asked, facility and discrimination count every row (all versions); option shares count the rows
    of `version_id` (every row when None), since option ids belong to one version.
    """
    version_rows = _of_version(rows, version_id)
    return statistics_of(totals_of(rows), option_shares(version_rows, options), len(version_rows))


def statistics_of(totals: Totals, shares: tuple[OptionShare, ...], option_base: int) -> ItemStats:
    """Figures and flags from sums (what `item_statistics` computes from rows, or a database from GROUP BY)."""
    fac = totals.right / totals.asked if totals.asked else None
    disc = discrimination_of(totals)
    found = flags(totals.asked, fac, disc, option_base, shares)
    return ItemStats(totals.asked, totals.right, fac, disc, option_base, shares, found)


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def flags(
    asked: int, fac: float | None, disc: float | None, option_base: int, shares: Sequence[OptionShare]
) -> tuple[Flag, ...]:
    """Problems an author can act on; none below MIN_ANSWERS_FOR_FLAGS answers."""
    found: list[Flag] = []
    if asked >= MIN_ANSWERS_FOR_FLAGS and fac is not None:
        if fac > VERY_EASY_ABOVE:
            found.append(
                Flag(
                    "very_easy",
                    "Very easy",
                    f"{_percent(fac)} answer it correctly, so it tells you little about who needs help. "
                    "Make the wrong options more plausible (common mistakes), or retire it.",
                )
            )
        elif fac < HARD_BELOW:
            found.append(
                Flag(
                    "hard",
                    "Hard",
                    f"Only {_percent(fac)} answer it correctly. Check that the scenario gives what is needed "
                    "to decide and that a module teaches it; if it does, the misconception is real.",
                )
            )
    if asked >= MIN_ANSWERS_FOR_FLAGS and disc is not None:
        if disc < 0:
            found.append(
                Flag(
                    "answer_key",
                    "Check the answer key",
                    f"Learners who do well on the rest of the quiz get it wrong more often than others "
                    f"(discrimination {disc:.2f}). The marked answer may be wrong, or the wording misleading.",
                )
            )
        elif disc < WEAK_DISCRIMINATION_BELOW:
            found.append(
                Flag(
                    "weak",
                    "Does not separate strong from weak learners",
                    f"Learners who do well on the rest of the quiz are hardly more likely to get it right "
                    f"(discrimination {disc:.2f}). Look for ambiguous wording or an option that is arguably right.",
                )
            )
    if option_base >= MIN_ANSWERS_FOR_FLAGS:
        found.extend(_option_flags(shares, found))
    return tuple(found)


def _option_flags(shares: Sequence[OptionShare], found: list[Flag]) -> list[Flag]:
    result: list[Flag] = []
    correct = [s for s in shares if s.option.correct]
    wrong = [s for s in shares if not s.option.correct]
    least_right = min((s.share for s in correct), default=None)
    if least_right is not None and not any(f.code == "answer_key" for f in found):
        rivals = [s for s in wrong if s.share > least_right]
        if rivals:
            top = max(rivals, key=lambda s: s.share)
            result.append(
                Flag(
                    "answer_key",
                    "Check the answer key",
                    f"The wrong option “{top.option.text}” is chosen more often ({_percent(top.share)}) than a "
                    f"correct one ({_percent(least_right)}). "
                    "Check that the key is right and that the option is clearly wrong.",
                )
            )
    unpicked = [s for s in wrong if s.share < UNPICKED_BELOW]
    if unpicked:
        names = "; ".join(f"“{s.option.text}”" for s in unpicked)
        result.append(
            Flag(
                "unpicked",
                "An option nobody picks",
                f"Fewer than {_percent(UNPICKED_BELOW)} choose {names}. An option nobody believes only adds "
                "reading: replace it with a mistake people really make.",
            )
        )
    return result


def group_statistics(
    rows: Iterable[AnswerRow],
    options: Sequence[OptionInfo],
    key: Callable[[AnswerRow], str],
    *,
    version_id: int | None = None,
) -> list[GroupStats]:
    """Asked, facility and option shares per group (department, job title), largest group first."""
    groups: dict[str, list[AnswerRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    result = []
    for name, members in groups.items():
        version_rows = _of_version(members, version_id)
        result.append(
            GroupStats(name, len(members), facility(members), len(version_rows), option_shares(version_rows, options))
        )
    return sorted(result, key=lambda g: (-g.asked, g.name.lower()))


def by_department(rows: Iterable[AnswerRow], options: Sequence[OptionInfo], *, version_id=None) -> list[GroupStats]:
    return group_statistics(rows, options, lambda r: r.department or "No department", version_id=version_id)


def by_job_title(rows: Iterable[AnswerRow], options: Sequence[OptionInfo], *, version_id=None) -> list[GroupStats]:
    """Job titles are grouped ignoring letter case and surrounding spaces (as the compliance rules match them)."""
    rows = list(rows)
    spelling: dict[str, str] = {}
    for row in rows:
        spelling.setdefault(row.job_title.strip().lower(), row.job_title.strip())
    return group_statistics(
        rows, options, lambda r: spelling[r.job_title.strip().lower()] or "No job title", version_id=version_id
    )


SORT_COLUMNS = ("question", "asked", "facility", "discrimination", "flags")


def sort_items(items: Sequence, column: str, descending: bool, *, name: Callable, stats: Callable) -> list:
    """Order overview items by a column; items without a figure (too few answers) go last either way.

    Figures hidden for having too few answers are not used for ordering either, so the order does not
    give them away.
    """
    if column not in SORT_COLUMNS:
        column = "question"

    def value(item):
        figures: ItemStats = stats(item)
        if column == "question":
            return name(item).lower()
        if column == "flags":
            return len(figures.flags)
        return None if figures.too_few else getattr(figures, column)

    present = [item for item in items if value(item) is not None]
    missing = [item for item in items if value(item) is None]
    present.sort(key=lambda item: name(item).lower())
    present.sort(key=value, reverse=descending)  # stable: equal values stay in name order
    return present + sorted(missing, key=lambda item: name(item).lower())
