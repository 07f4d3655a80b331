"""Reading the question banks: every course with its counts, a filtered page of one bank, its tags."""

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from training.content.models import Course, Question, QuestionVersion
from training.db import LIKE_ESCAPE, literal_like
from training.extensions import db
from training.paging import Page, page_of_list

PAGE_SIZE = 25


@dataclass(frozen=True)
class CourseSummary:
    course: Course
    published: int
    draft: int
    retired: int
    modules: int


def authoring_courses() -> list[CourseSummary]:
    """Every course (published or not) with its question counts per status: one grouped query."""
    courses = db.session.execute(select(Course).order_by(Course.title)).scalars().all()
    counts = {
        (course_id, status): n
        for course_id, status, n in db.session.execute(
            select(Question.course_id, Question.status, func.count()).group_by(Question.course_id, Question.status)
        )
    }
    return [
        CourseSummary(
            course,
            counts.get((course.id, "published"), 0),
            counts.get((course.id, "draft"), 0),
            counts.get((course.id, "retired"), 0),
            len(course.modules),
        )
        for course in courses
    ]


@dataclass(frozen=True)
class BankFilter:
    text: str = ""
    type: str = ""
    tag: str = ""
    status: str = ""


def _like(text: str) -> str:
    return f"%{literal_like(text.lower())}%"


def bank_page(course: Course, criteria: BankFilter, page: int = 1) -> Page[Question]:
    """One page of a course's question bank, filtered in the database (tags filtered on the loaded page set)."""
    query = (
        select(Question)
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(Question.course_id == course.id)
    )
    if criteria.status:
        query = query.where(Question.status == criteria.status)
    if criteria.type:
        query = query.where(QuestionVersion.type == criteria.type)
    if criteria.text:
        pattern = _like(criteria.text)
        query = query.where(
            or_(
                func.lower(Question.key).like(pattern, escape=LIKE_ESCAPE),
                func.lower(QuestionVersion.prompt).like(pattern, escape=LIKE_ESCAPE),
                func.lower(QuestionVersion.scenario).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    rows = (
        db.session.execute(query.order_by(Question.key).options(selectinload(Question.current_version))).scalars().all()
    )
    if criteria.tag:
        rows = [q for q in rows if criteria.tag in (q.current_version.tags or [])]
    return page_of_list(rows, page, PAGE_SIZE)


def course_tags(course: Course) -> list[str]:
    """Tags used by the current versions of a course's questions, for the filter."""
    tags: set[str] = set()
    for (values,) in db.session.execute(
        select(QuestionVersion.tags)
        .join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.course_id == course.id)
    ):
        tags.update(values or [])
    return sorted(tags)


def published_question_count(course_id: int) -> int:
    condition = (Question.course_id == course_id) & (Question.status == "published")
    return db.session.execute(select(func.count()).select_from(Question).where(condition)).scalar_one()
