"""Trying a question as a learner would, without an attempt: nothing is stored."""

from dataclasses import dataclass

from training.content.models import QuestionVersion
from training.quizzes import grading
from training.urls import is_number


@dataclass(frozen=True)
class PreviewOutcome:
    problem: str | None
    selected: frozenset[int]
    correct: bool


def _gradable(version: QuestionVersion) -> grading.GradableQuestion:
    return grading.GradableQuestion(
        id=version.id,
        type=version.type,
        option_ids=frozenset(o.id for o in version.options),
        correct_option_ids=frozenset(o.id for o in version.options if o.correct),
    )


def try_answer(version: QuestionVersion, raw_choices: list[str]) -> PreviewOutcome:
    """Grade the chosen options with the quiz's own rules; anything malformed is a problem, not a crash."""
    try:
        chosen = {int(value) for value in raw_choices if is_number(value) and len(value) < 12}
        if len(chosen) != len(raw_choices):
            raise grading.AnswerError("The answer names an option that is not part of this question.")
        question = _gradable(version)
        cleaned = grading.validate_answers([question], {question.id: chosen})
        selected = cleaned[question.id]
        return PreviewOutcome(None, selected, grading.is_right(question, selected))
    except grading.AnswerError as error:
        message = "Choose an answer to see its feedback." if error.missing else error.message
        return PreviewOutcome(message, frozenset(), False)
