"""What every question type says about itself, and the rules two types share.

Pure: no Flask, no database, no other training package. Callers hand in plain values (option texts, correct
flags, chosen and correct option ids) and format the results for their own page or file.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import Protocol

# How a GIFT answer block is written, as training/authoring/transfer/gift/answers.py reads it.
GIFT_CHOICE = "choice"  # {=right ~wrong ~wrong}: one answer marked right
GIFT_WEIGHTED_CHOICE = "weighted_choice"  # {~%50%a ~%50%b ~%-100%c}: weights, no answer marked =
GIFT_TRUE_FALSE = "true_false"  # {TRUE#feedback when wrong#feedback when right}


class WritableOption(Protocol):
    """The parts of an option a GIFT answer block holds (training.content.schema.OptionSpec has them)."""

    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class OptionProblem:
    """One broken option rule, worded for a question bank file (the loader) and for the authoring form."""

    in_file: str
    in_form: str


class QuestionType(ABC):
    """A kind of question: its stored name, how authors and learners see it, and its rules.

    A subclass sets the class attributes and implements the three methods; its module makes the one instance
    that training/question_types/__init__.py registers.
    """

    name: str  # stored in question_version.type and written in question bank files
    label: str  # for authors: the bank, a question's page, the transfer preview
    choice_label: str  # the authoring form's type select
    hint: str | None = None  # for learners, under the question
    allows_several: bool = False  # whether a learner may choose more than one option
    gift_kind: str  # one of the GIFT_* kinds above

    @property
    def input_type(self) -> str:
        """The HTML input of each option on the quiz and the preview."""
        return "checkbox" if self.allows_several else "radio"

    @abstractmethod
    def validate_options(
        self, texts: Sequence[str] | None, correct_flags: Sequence[bool] | None
    ) -> list[OptionProblem]:
        """What breaks this type's rules for its options. None for texts or flags means the caller could not
        read all of them (each unreadable one is reported on its own), so the rules that need them are skipped."""

    @abstractmethod
    def is_correct(self, selected: Set[int], correct: Set[int]) -> bool:
        """Whether choosing the options `selected` answers right, given the ids of the correct options."""

    @abstractmethod
    def gift_answer_lines(self, options: Sequence[WritableOption], escape: Callable[[str], str]) -> list[str]:
        """The lines of the GIFT answer block for these options (the explanation is written after them)."""

    def __repr__(self) -> str:
        return f"<QuestionType {self.name}>"


def exactly_one_correct(question_type: QuestionType, correct_flags: Sequence[bool] | None) -> list[OptionProblem]:
    """The rule of the types with one right answer: exactly one option is marked correct."""
    if correct_flags is None or sum(correct_flags) == 1:
        return []
    return [
        OptionProblem(
            in_file=f"a {question_type.name} question needs exactly one correct option (found {sum(correct_flags)})",
            in_form=f"Mark exactly one option as correct for a {question_type.label.lower()} question.",
        )
    ]


def only_the_correct_one(selected: Set[int], correct: Set[int]) -> bool:
    """Right when exactly one option is chosen and it is the correct one."""
    return len(selected) == 1 and selected == correct
