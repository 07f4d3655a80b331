"""Server-side grading of scenario quizzes: pure functions over plain data.

Rules (documented in docs/authoring.md):
- a question is answered right by its type's rule (training/question_types: single and true_false, the one
  option chosen is the correct one; multiple, exactly the set of correct options, no partial credit);
- only a type that allows several options takes more than one;
- score: the share of questions answered right, in percent, rounded half up for display;
- passed: right answers / questions >= pass mark / 100, compared exactly (no rounding up into a pass).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from training import question_types


@dataclass(frozen=True)
class GradableQuestion:
    id: int
    type: str
    option_ids: frozenset[int]
    correct_option_ids: frozenset[int]


@dataclass(frozen=True)
class QuestionResult:
    question_id: int
    selected: frozenset[int]
    correct: bool


@dataclass(frozen=True)
class Grade:
    results: tuple[QuestionResult, ...]
    correct_count: int
    score: int
    passed: bool


class AnswerError(ValueError):
    """Answers that cannot be graded. `missing` lists unanswered questions (the learner can fix that)."""

    def __init__(self, message: str, missing: Collection[int] = ()):
        super().__init__(message)
        self.message = message
        self.missing = frozenset(missing)


def is_right(question: GradableQuestion, selected: frozenset[int]) -> bool:
    """Whether the options `selected` answer the question right, by its type's rule."""
    return question_types.get(question.type).is_correct(selected, question.correct_option_ids)


def validate_answers(
    questions: Collection[GradableQuestion], answers: Mapping[int, Collection[int]]
) -> dict[int, frozenset[int]]:
    """Check answers against the questions of the attempt; raise AnswerError on anything off."""
    by_id = {q.id: q for q in questions}
    unknown = sorted(set(answers) - set(by_id))
    if unknown:
        raise AnswerError("The answers name a question that is not part of this attempt.")
    cleaned = {}
    for qid, chosen in answers.items():
        selected = frozenset(chosen)
        if not selected <= by_id[qid].option_ids:
            raise AnswerError("The answers name an option that is not part of this question.")
        if len(selected) > 1 and not question_types.get(by_id[qid].type).allows_several:
            raise AnswerError("Only one option can be chosen for this question.")
        if selected:
            cleaned[qid] = selected
    missing = [q.id for q in questions if q.id not in cleaned]
    if len(missing) == len(by_id):
        raise AnswerError("No answers were submitted. Choose an answer for every question.", missing)
    if missing:
        count = len(missing)
        raise AnswerError(f"{count} question{'s' if count > 1 else ''} not answered yet.", missing)
    return cleaned


def grade(questions: Collection[GradableQuestion], answers: Mapping[int, Collection[int]], pass_mark: int) -> Grade:
    """Grade a complete set of answers. Raises AnswerError if any is missing or invalid."""
    if not questions:
        raise AnswerError("This attempt has no questions.")
    cleaned = validate_answers(questions, answers)
    results = tuple(QuestionResult(q.id, cleaned[q.id], is_right(q, cleaned[q.id])) for q in questions)
    right, total = sum(r.correct for r in results), len(results)
    return Grade(
        results=results,
        correct_count=right,
        score=(200 * right + total) // (2 * total),
        passed=100 * right >= pass_mark * total,
    )
