"""The course, question or question version an authoring page names; NotFound when there is none."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from training.content.models import Course, Question, QuestionVersion
from training.errors import NotFound
from training.extensions import db


def course_for_authoring(slug: str) -> Course:
    course = db.session.execute(select(Course).where(Course.slug == slug)).scalar_one_or_none()
    if course is None:
        raise NotFound("There is no course with that address.")
    return course


def course_for_authoring_by_id(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("There is no such course.")
    return course


def question_for_authoring(question_id: int) -> Question:
    question = db.session.execute(
        select(Question)
        .where(Question.id == question_id)
        .options(selectinload(Question.current_version).selectinload(QuestionVersion.options))
    ).scalar_one_or_none()
    if question is None:
        raise NotFound("There is no such question.")
    return question


def question_with_course(question_id: int) -> tuple[Question, Course]:
    """The question a page names and its course, which every question page shows."""
    question = question_for_authoring(question_id)
    return question, course_for_authoring_by_id(question.course_id)


def question_versions(question: Question) -> list[QuestionVersion]:
    """All versions, newest first, with options and authors loaded."""
    return (
        db.session.execute(
            select(QuestionVersion)
            .where(QuestionVersion.question_id == question.id)
            .order_by(QuestionVersion.version.desc())
            .options(selectinload(QuestionVersion.options), selectinload(QuestionVersion.created_by))
        )
        .scalars()
        .all()
    )


def question_version(question: Question, number: int) -> QuestionVersion:
    version = db.session.execute(
        select(QuestionVersion)
        .where(QuestionVersion.question_id == question.id, QuestionVersion.version == number)
        .options(selectinload(QuestionVersion.options))
    ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"This question has no version {number}.")
    return version
