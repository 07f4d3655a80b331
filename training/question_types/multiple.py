"""Multiple choice: at least one option right; the learner must choose exactly the right ones.

No partial credit: choosing one right and one wrong option is wrong, and so is missing a right one. In GIFT the
right options share 100% between them and every wrong one weighs -100%, which Moodle grades the same way.
"""

from collections.abc import Callable, Sequence, Set

from training.question_types.base import GIFT_WEIGHTED_CHOICE, OptionProblem, QuestionType, WritableOption


class MultipleChoice(QuestionType):
    name = "multiple"
    label = "Multiple choice"
    choice_label = "Multiple choice (select all that apply)"
    hint = "Select all that apply."
    allows_several = True
    gift_kind = GIFT_WEIGHTED_CHOICE

    def validate_options(
        self, texts: Sequence[str] | None, correct_flags: Sequence[bool] | None
    ) -> list[OptionProblem]:
        if correct_flags is None or sum(correct_flags) >= 1:
            return []
        return [
            OptionProblem(
                in_file=f"a {self.name} question needs at least one correct option",
                in_form="Mark at least one option as correct.",
            )
        ]

    def is_correct(self, selected: Set[int], correct: Set[int]) -> bool:
        return selected == correct

    def gift_answer_lines(self, options: Sequence[WritableOption], escape: Callable[[str], str]) -> list[str]:
        share = _weight_text(sum(option.correct for option in options))
        return [
            f"~%{share if option.correct else '-100'}%{escape(option.text)}#{escape(option.feedback)}"
            for option in options
        ]


def _weight_text(count: int) -> str:
    """Each right option's share of 100%, as few digits as GIFT needs: 3 -> '33.33333'."""
    return f"{100 / count:.5f}".rstrip("0").rstrip(".")


MULTIPLE = MultipleChoice()
