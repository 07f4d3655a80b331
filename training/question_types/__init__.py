"""Question types in one place: what `single`, `multiple` and `true_false` mean, as CTFd's FLAG_CLASSES.

Each type (training/question_types/base.py QuestionType) carries its stored name, its labels for authors, the
input and hint learners see, its option rules for bank files and the authoring form, its grading rule and its
GIFT answer block. Content, quizzes and authoring read them from QUESTION_TYPES and never test a type's name.

Adding a type (say "ordering") is one new module with a QuestionType subclass and its instance, added to
QUESTION_TYPES below, plus a migration: question_version's check constraint `type_known` is created from these
names by the model, but a database already made keeps the list it was made with.

Pure: no Flask, no database, and no other training package imports in here; they import this one.
"""

from training.question_types.base import OptionProblem, QuestionType
from training.question_types.multiple import MULTIPLE
from training.question_types.single import SINGLE
from training.question_types.true_false import TRUE_FALSE

__all__ = ["QUESTION_TYPES", "OptionProblem", "QuestionType", "get", "names"]

QUESTION_TYPES: dict[str, QuestionType] = {kind.name: kind for kind in (SINGLE, MULTIPLE, TRUE_FALSE)}


def get(name: str) -> QuestionType:
    """The type stored as `name`; a KeyError for a name no type has."""
    return QUESTION_TYPES[name]


def names() -> tuple[str, ...]:
    """Every type's stored name, in the registry's order (the order bank files' error messages list them)."""
    return tuple(QUESTION_TYPES)
