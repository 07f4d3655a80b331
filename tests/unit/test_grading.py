import pytest

from training.quizzes.grading import AnswerError, GradableQuestion, grade, validate_answers

SINGLE = GradableQuestion(id=1, type="single", option_ids=frozenset({10, 11, 12}), correct_option_ids=frozenset({11}))
TRUE_FALSE = GradableQuestion(
    id=2, type="true_false", option_ids=frozenset({20, 21}), correct_option_ids=frozenset({20})
)
MULTIPLE = GradableQuestion(
    id=3, type="multiple", option_ids=frozenset({30, 31, 32, 33}), correct_option_ids=frozenset({30, 32})
)
QUESTIONS = [SINGLE, TRUE_FALSE, MULTIPLE]


def test_all_correct_scores_100_and_passes():
    result = grade(QUESTIONS, {1: [11], 2: [20], 3: [32, 30]}, pass_mark=80)
    assert (result.score, result.passed, result.correct_count) == (100, True, 3)
    assert all(r.correct for r in result.results)


@pytest.mark.parametrize(
    "chosen, expected",
    [([30, 32], True), ([30], False), ([30, 31, 32], False), ([31, 33], False), ([30, 31], False)],
)
def test_multiple_is_right_only_for_exactly_the_correct_set(chosen, expected):
    result = grade([MULTIPLE], {3: chosen}, pass_mark=50)
    assert result.results[0].correct is expected


def test_single_wrong_option_is_wrong():
    result = grade([SINGLE], {1: [10]}, pass_mark=50)
    assert not result.results[0].correct
    assert result.score == 0 and not result.passed


def test_score_rounds_half_up_but_pass_is_exact():
    # 2 of 3 = 66.67% shows as 67, but a pass mark of 67 needs 67% exactly: 2/3 is below it.
    result = grade(QUESTIONS, {1: [11], 2: [20], 3: [31]}, pass_mark=67)
    assert result.score == 67
    assert result.passed is False
    assert grade(QUESTIONS, {1: [11], 2: [20], 3: [31]}, pass_mark=66).passed is True


def test_score_equal_to_pass_mark_passes():
    questions = [GradableQuestion(i, "single", frozenset({i * 10, i * 10 + 1}), frozenset({i * 10})) for i in range(10)]
    answers = {i: [i * 10] if i < 8 else [i * 10 + 1] for i in range(10)}
    result = grade(questions, answers, pass_mark=80)
    assert (result.score, result.passed) == (80, True)


def test_unknown_question_is_rejected():
    with pytest.raises(AnswerError, match="not part of this attempt"):
        validate_answers(QUESTIONS, {1: [11], 2: [20], 3: [30], 99: [1]})


def test_option_from_another_question_is_rejected():
    with pytest.raises(AnswerError, match="option that is not part"):
        validate_answers(QUESTIONS, {1: [20], 2: [20], 3: [30]})


def test_two_options_for_a_single_choice_question_is_rejected():
    with pytest.raises(AnswerError, match="Only one option"):
        validate_answers(QUESTIONS, {1: [10, 11], 2: [20], 3: [30]})


def test_empty_submission_lists_every_question_as_missing():
    with pytest.raises(AnswerError) as error:
        grade(QUESTIONS, {}, pass_mark=80)
    assert error.value.missing == {1, 2, 3}
    assert "No answers" in error.value.message


def test_partial_submission_reports_the_missing_questions():
    with pytest.raises(AnswerError) as error:
        grade(QUESTIONS, {1: [11], 3: []}, pass_mark=80)
    assert error.value.missing == {2, 3}
    assert error.value.message == "2 questions not answered yet."


def test_attempt_without_questions_cannot_be_graded():
    with pytest.raises(AnswerError):
        grade([], {}, pass_mark=80)
