"""True or false: the two options True and False, one of them right; the learner chooses one."""

from collections.abc import Callable, Sequence, Set

from training.question_types.base import (
    GIFT_TRUE_FALSE,
    OptionProblem,
    QuestionType,
    WritableOption,
    exactly_one_correct,
    only_the_correct_one,
)

TRUE, FALSE = "True", "False"


class TrueFalse(QuestionType):
    name = "true_false"
    label = "True or false"
    choice_label = "True or false"
    gift_kind = GIFT_TRUE_FALSE

    def validate_options(
        self, texts: Sequence[str] | None, correct_flags: Sequence[bool] | None
    ) -> list[OptionProblem]:
        problems = exactly_one_correct(self, correct_flags)
        if texts is not None and sorted(text.strip() for text in texts) != [FALSE, TRUE]:
            problems.append(
                OptionProblem(
                    in_file=f"a {self.name} question has exactly two options, '{TRUE}' and '{FALSE}'",
                    in_form=f"A true or false question has exactly two options, with the texts {TRUE} and {FALSE}.",
                )
            )
        return problems

    def is_correct(self, selected: Set[int], correct: Set[int]) -> bool:
        return only_the_correct_one(selected, correct)

    def gift_answer_lines(self, options: Sequence[WritableOption], escape: Callable[[str], str]) -> list[str]:
        """GIFT states the right answer and two feedbacks: first for a learner who answers wrong, then right."""
        right = next(option for option in options if option.correct)
        wrong = next(option for option in options if not option.correct)
        return ["TRUE" if right.text == TRUE else "FALSE", f"#{escape(wrong.feedback)}", f"#{escape(right.feedback)}"]


TRUE_FALSE = TrueFalse()
