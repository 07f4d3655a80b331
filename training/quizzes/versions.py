"""Writing a question version: one place for content sync, the authoring pages and imports."""

from training.content.schema import QuestionSpec
from training.extensions import db
from training.quizzes.models import Question, QuestionOption, QuestionVersion


def new_question_version(
    question: Question, spec: QuestionSpec, number: int, *, source: str, actor_id: int | None = None, note: str = ""
) -> QuestionVersion:
    """Add version `number` of `question` with the spec's content (the caller points the question at it)."""
    version = QuestionVersion(
        question_id=question.id,
        version=number,
        type=spec.type,
        scenario=spec.scenario,
        prompt=spec.prompt,
        explanation=spec.explanation,
        tags=list(spec.tags),
        references=list(spec.references),
        content_hash=spec.content_hash(),
        source=source,
        created_by_id=actor_id,
        change_note=note[:300],
        options=[
            QuestionOption(position=i, text=o.text, correct=o.correct, feedback=o.feedback)
            for i, o in enumerate(spec.options)
        ],
    )
    db.session.add(version)
    db.session.flush()
    return version
