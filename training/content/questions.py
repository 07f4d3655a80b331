"""Question versions and their file-format specs: one place for content sync, export, imports and authoring.

A stored `QuestionVersion` and a `QuestionSpec` describe the same question; `spec_of` reads one as the other
(what export writes and what hashes compare), `new_question_version` writes a spec as the next version.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from training.content.models import Course, Question, QuestionOption, QuestionVersion
from training.content.schema import OptionSpec, QuestionSpec
from training.extensions import db

EXPORTED_STATUSES = ("published", "draft")


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


def spec_of(version: QuestionVersion, key: str) -> QuestionSpec:
    """The file-format description of a stored version (what export writes and hashes compare)."""
    return QuestionSpec(
        id=key,
        type=version.type,
        prompt=version.prompt,
        options=tuple(OptionSpec(o.text, o.correct, o.feedback) for o in version.options),
        explanation=version.explanation,
        scenario=version.scenario,
        tags=tuple(version.tags or ()),
        references=tuple(version.references or ()),
    )


def bank_specs(course: Course, statuses=EXPORTED_STATUSES) -> list[QuestionSpec]:
    """The course's questions with one of `statuses`, in the order they were added."""
    questions = db.session.execute(
        select(Question)
        .where(Question.course_id == course.id, Question.status.in_(statuses))
        .order_by(Question.id)
        .options(selectinload(Question.current_version).selectinload(QuestionVersion.options))
    ).scalars()
    return [spec_of(q.current_version, q.key) for q in questions if q.current_version is not None]
