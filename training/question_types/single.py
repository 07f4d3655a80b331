"""Single choice: several options, exactly one of them right; the learner chooses one."""

from collections.abc import Callable, Sequence, Set

from training.question_types.base import (
    GIFT_CHOICE,
    OptionProblem,
    QuestionType,
    WritableOption,
    exactly_one_correct,
    only_the_correct_one,
)


class SingleChoice(QuestionType):
    name = "single"
    label = "Single choice"
    choice_label = "Single choice (one right answer)"
    gift_kind = GIFT_CHOICE

    def validate_options(
        self, texts: Sequence[str] | None, correct_flags: Sequence[bool] | None
    ) -> list[OptionProblem]:
        return exactly_one_correct(self, correct_flags)

    def is_correct(self, selected: Set[int], correct: Set[int]) -> bool:
        return only_the_correct_one(selected, correct)

    def gift_answer_lines(self, options: Sequence[WritableOption], escape: Callable[[str], str]) -> list[str]:
        return [
            f"{'=' if option.correct else '~'}{escape(option.text)}#{escape(option.feedback)}" for option in options
        ]


SINGLE = SingleChoice()
