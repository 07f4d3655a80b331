"""The question types' own rules (training/question_types), without an app or a database."""

import ast
from pathlib import Path

import pytest

from training import question_types
from training.content.schema import OptionSpec
from training.question_types.base import GIFT_CHOICE, GIFT_TRUE_FALSE, GIFT_WEIGHTED_CHOICE

SINGLE, MULTIPLE, TRUE_FALSE = (question_types.get(name) for name in ("single", "multiple", "true_false"))
PACKAGE = Path(question_types.__file__).parent


def bracketed(text: str) -> str:
    return f"[{text}]"


def test_the_registry_lists_the_types_in_a_fixed_order_under_their_names():
    assert question_types.names() == ("single", "multiple", "true_false")
    assert all(name == kind.name for name, kind in question_types.QUESTION_TYPES.items())
    with pytest.raises(KeyError):
        question_types.get("essay")


def test_what_learners_and_authors_see_of_each_type():
    assert [(k.input_type, k.hint, k.allows_several) for k in (SINGLE, MULTIPLE, TRUE_FALSE)] == [
        ("radio", None, False),
        ("checkbox", "Select all that apply.", True),
        ("radio", None, False),
    ]
    assert [(k.label, k.choice_label) for k in (SINGLE, MULTIPLE, TRUE_FALSE)] == [
        ("Single choice", "Single choice (one right answer)"),
        ("Multiple choice", "Multiple choice (select all that apply)"),
        ("True or false", "True or false"),
    ]


def test_each_gift_kind_reads_as_one_type():
    assert [k.gift_kind for k in question_types.QUESTION_TYPES.values()] == [
        GIFT_CHOICE,
        GIFT_WEIGHTED_CHOICE,
        GIFT_TRUE_FALSE,
    ]


@pytest.mark.parametrize("flags", [[True, False, False], [False, True]])
def test_single_takes_exactly_one_correct_option(flags):
    assert SINGLE.validate_options(["a", "b", "c"][: len(flags)], flags) == []


@pytest.mark.parametrize("flags, found", [([False, False], 0), ([True, True, False], 2)])
def test_single_refuses_none_or_several_correct_options_in_each_wording(flags, found):
    [problem] = SINGLE.validate_options(["a", "b", "c"][: len(flags)], flags)
    assert problem.in_file == f"a single question needs exactly one correct option (found {found})"
    assert problem.in_form == "Mark exactly one option as correct for a single choice question."


def test_rules_whose_facts_are_unknown_are_not_checked():
    assert SINGLE.validate_options(None, None) == []
    assert MULTIPLE.validate_options(None, None) == []
    assert TRUE_FALSE.validate_options(None, None) == []
    assert [p.in_file for p in TRUE_FALSE.validate_options(["Yes", "No"], None)] == [
        "a true_false question has exactly two options, 'True' and 'False'"
    ]


def test_multiple_needs_at_least_one_correct_option():
    assert MULTIPLE.validate_options(["a", "b"], [True, True]) == []
    assert MULTIPLE.validate_options(["a", "b"], [False, True]) == []
    [problem] = MULTIPLE.validate_options(["a", "b"], [False, False])
    assert problem.in_file == "a multiple question needs at least one correct option"
    assert problem.in_form == "Mark at least one option as correct."


@pytest.mark.parametrize("texts", [["True", "False"], ["False", "True"], [" True ", "False\n"]])
def test_true_false_options_are_true_and_false_in_either_order(texts):
    assert TRUE_FALSE.validate_options(texts, [True, False]) == []


@pytest.mark.parametrize("texts", [["true", "false"], ["True", "False", "Maybe"], ["True"], ["Yes", "No"]])
def test_true_false_refuses_other_texts(texts):
    flags = [True] + [False] * (len(texts) - 1)
    [problem] = TRUE_FALSE.validate_options(texts, flags)
    assert problem.in_file == "a true_false question has exactly two options, 'True' and 'False'"
    assert problem.in_form == "A true or false question has exactly two options, with the texts True and False."


def test_true_false_reports_the_count_before_the_texts():
    problems = TRUE_FALSE.validate_options(["Yes", "No"], [True, True])
    assert [p.in_file for p in problems] == [
        "a true_false question needs exactly one correct option (found 2)",
        "a true_false question has exactly two options, 'True' and 'False'",
    ]
    assert [p.in_form for p in problems] == [
        "Mark exactly one option as correct for a true or false question.",
        "A true or false question has exactly two options, with the texts True and False.",
    ]


@pytest.mark.parametrize("kind", [SINGLE, TRUE_FALSE])
@pytest.mark.parametrize(
    "selected, expected",
    [({1}, True), ({2}, False), ({1, 2}, False), (set(), False)],
)
def test_one_answer_types_are_right_only_for_the_correct_option_alone(kind, selected, expected):
    assert kind.is_correct(frozenset(selected), frozenset({1})) is expected


@pytest.mark.parametrize(
    "selected, expected",
    [({1, 3}, True), ({3, 1}, True), ({1}, False), ({1, 2, 3}, False), ({2, 4}, False), (set(), False)],
)
def test_multiple_is_right_only_for_exactly_the_correct_set(selected, expected):
    assert MULTIPLE.is_correct(frozenset(selected), frozenset({1, 3})) is expected


def test_single_writes_one_equals_answer_and_tildes():
    options = (OptionSpec("Yes", False, "No: why."), OptionSpec("Refer", True, "Right."))
    assert SINGLE.gift_answer_lines(options, bracketed) == ["~[Yes]#[No: why.]", "=[Refer]#[Right.]"]


@pytest.mark.parametrize("right, share", [(1, "100"), (2, "50"), (3, "33.33333"), (4, "25")])
def test_multiple_shares_100_percent_among_the_right_options_and_weighs_wrong_ones_minus_100(right, share):
    options = [OptionSpec(f"right {n}", True, "Yes.") for n in range(right)] + [OptionSpec("wrong", False, "No.")]
    lines = MULTIPLE.gift_answer_lines(options, bracketed)
    assert lines == [f"~%{share}%[right {n}]#[Yes.]" for n in range(right)] + ["~%-100%[wrong]#[No.]"]


@pytest.mark.parametrize("answer, word", [("True", "TRUE"), ("False", "FALSE")])
def test_true_false_writes_the_answer_then_the_wrong_and_the_right_feedback(answer, word):
    options = [OptionSpec(text, text == answer, f"Feedback for {text}.") for text in ("True", "False")]
    wrong = "False" if answer == "True" else "True"
    assert TRUE_FALSE.gift_answer_lines(options, bracketed) == [
        word,
        f"#[Feedback for {wrong}.]",
        f"#[Feedback for {answer}.]",
    ]


def test_the_package_imports_no_other_training_package():
    """It sits below content, quizzes and authoring, which import it; training.errors is the one helper allowed."""
    allowed = ("training.question_types", "training.errors")
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                assert name.split(".")[0] != "training" or name.startswith(allowed), f"{path.name} imports {name}"
                assert name.split(".")[0] not in ("flask", "sqlalchemy", "flask_sqlalchemy"), f"{path.name}: {name}"
