"""Item statistics from the record of answers: loading the rows and shaping them for the pages.

The figures themselves are computed by the pure module item_stats. Each page loads its answers in one
query: one row per answer of a submitted attempt, joined to a grouped subquery that counts each
attempt's questions and right answers (for the rest score), and to the learner's department and job
title (as they are now, not as they were at the attempt).
"""

import json
from dataclasses import dataclass

from sqlalchemy import Float, Select, Text, case, cast, func, select
from sqlalchemy.orm import aliased, selectinload

from training.auth.models import Department, User
from training.authoring.lookup import question_versions
from training.authoring.stats import item_stats
from training.authoring.stats.item_stats import AnswerRow, GroupStats, ItemStats, OptionInfo, Totals
from training.content.models import Course, Question, QuestionVersion
from training.errors import NotFound
from training.extensions import db
from training.quizzes.models import AttemptAnswer, AttemptQuestion, QuizAttempt


@dataclass(frozen=True)
class StatsFilter:
    department_id: int | None = None
    job_title: str = ""

    @property
    def active(self) -> bool:
        return self.department_id is not None or bool(self.job_title.strip())


def _per_attempt(course_id: int, question_id: int | None = None):
    """Each submitted attempt's number of answered questions and right answers (of the course, or of
    the attempts that asked one question)."""
    scope = [QuizAttempt.course_id == course_id, QuizAttempt.submitted_at.is_not(None)]
    if question_id is not None:
        asked = aliased(AttemptQuestion)
        with_question = (
            select(asked.attempt_id)
            .join(QuestionVersion, QuestionVersion.id == asked.question_version_id)
            .where(QuestionVersion.question_id == question_id)
        )
        scope.append(QuizAttempt.id.in_(with_question))
    return (
        select(
            AttemptQuestion.attempt_id.label("attempt_id"),
            func.count(AttemptAnswer.id).label("asked"),
            func.sum(case((AttemptAnswer.correct.is_(True), 1), else_=0)).label("right"),
        )
        .join(AttemptAnswer, AttemptAnswer.attempt_question_id == AttemptQuestion.id)
        .join(QuizAttempt, QuizAttempt.id == AttemptQuestion.attempt_id)
        .where(*scope)
        .group_by(AttemptQuestion.attempt_id)
        .subquery()
    )


def _answers(query: Select, per_attempt, criteria: StatsFilter, question_id: int | None = None) -> Select:
    """`query` over the answers of the attempts in `per_attempt`, joined to the learner and filtered."""
    query = (
        query.select_from(AttemptQuestion)
        .join(AttemptAnswer, AttemptAnswer.attempt_question_id == AttemptQuestion.id)
        .join(per_attempt, per_attempt.c.attempt_id == AttemptQuestion.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(QuizAttempt, QuizAttempt.id == AttemptQuestion.attempt_id)
        .join(User, User.id == QuizAttempt.user_id)
        .outerjoin(Department, Department.id == User.department_id)
    )
    if question_id is not None:
        query = query.where(QuestionVersion.question_id == question_id)
    if criteria.department_id is not None:
        query = query.where(User.department_id == criteria.department_id)
    if criteria.job_title.strip():
        query = query.where(func.lower(User.job_title) == criteria.job_title.strip().lower())
    return query


def _answers_query(course_id: int, criteria: StatsFilter, question_id: int | None = None) -> Select:
    """One row per answer in the course's submitted attempts (of one question when given)."""
    per_attempt = _per_attempt(course_id, question_id)
    columns = select(
        AttemptQuestion.attempt_id,
        AttemptQuestion.question_version_id,
        QuestionVersion.question_id,
        AttemptAnswer.correct,
        AttemptAnswer.selected_option_ids,
        per_attempt.c.right,
        per_attempt.c.asked,
        Department.name,
        User.job_title,
    )
    return _answers(columns, per_attempt, criteria, question_id)


_BASE = -1  # the key under which _grouped_answers keeps a version's number of answers (option ids are positive)


def _grouped_answers(course_id: int, criteria: StatsFilter) -> tuple[dict[int, Totals], dict[int, dict[int, int]]]:
    """In one query grouped by the database: per question, the sums behind asked, facility and
    discrimination; per question version, how many answers chose each option id.

    The groups are (question version, choice as stored), so there are few of them whatever the
    number of answers; they are added up here.
    """
    per_attempt = _per_attempt(course_id)
    x = case((AttemptAnswer.correct.is_(True), 1), else_=0)
    paired = per_attempt.c.asked >= 2
    x_paired = case((paired, x), else_=None)
    y = case((paired, cast(per_attempt.c.right - x, Float) / cast(per_attempt.c.asked - 1, Float)), else_=None)
    choice = cast(AttemptAnswer.selected_option_ids, Text)
    query = select(
        QuestionVersion.question_id,
        AttemptQuestion.question_version_id,
        choice,
        func.count(),
        func.sum(x),
        func.count(y),
        func.sum(x_paired),
        func.sum(y),
        func.sum(y * y),
        func.sum(x_paired * y),
    )
    query = _answers(query, per_attempt, criteria).group_by(
        QuestionVersion.question_id, AttemptQuestion.question_version_id, choice
    )
    sums: dict[int, list[float]] = {}
    selections: dict[int, dict[int, int]] = {}
    for question_id, version_id, chosen, *figures in db.session.execute(query):
        figures = [float(value or 0) for value in figures]
        sums[question_id] = [a + b for a, b in zip(sums.get(question_id, [0.0] * 7), figures, strict=True)]
        per_option = selections.setdefault(version_id, {})
        per_option[_BASE] = per_option.get(_BASE, 0) + int(figures[0])
        for option_id in json.loads(chosen) if chosen else ():
            per_option[int(option_id)] = per_option.get(int(option_id), 0) + int(figures[0])
    totals = {
        question_id: Totals(int(n), int(right), int(pairs), sx, sy, syy, sxy)
        for question_id, (n, right, pairs, sx, sy, syy, sxy) in sums.items()
    }
    return totals, selections


def _answer_rows(query: Select) -> dict[int, list[AnswerRow]]:
    """The answers grouped by question id."""
    rows: dict[int, list[AnswerRow]] = {}
    for record in db.session.execute(query):
        attempt_id, version_id, question_id, correct, selected, right, asked, department, job_title = record
        rows.setdefault(question_id, []).append(
            AnswerRow(
                attempt_id,
                version_id,
                bool(correct),
                frozenset(int(option_id) for option_id in selected or ()),
                int(right),
                int(asked),
                department or "",
                job_title or "",
            )
        )
    return rows


def _options_of(version: QuestionVersion | None) -> tuple[OptionInfo, ...]:
    if version is None:
        return ()
    return tuple(OptionInfo(o.id, o.text, o.correct) for o in version.options)


# --- the course overview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewItem:
    question: Question
    stats: ItemStats

    @property
    def key(self) -> str:
        return self.question.key


@dataclass(frozen=True)
class CourseOverview:
    course: Course
    items: list[OverviewItem]
    answers: int


def course_overview(
    course: Course, criteria: StatsFilter = StatsFilter(), sort: str = "question", descending: bool = False
) -> CourseOverview:
    """One row per question of the course: asked, facility, discrimination and flags.

    The database does the counting: the same few queries whatever the number of questions and answers.
    Figures count every version of a question; option flags use the answers to its current version.
    """
    questions = (
        db.session.execute(
            select(Question)
            .where(Question.course_id == course.id)
            .options(selectinload(Question.current_version).selectinload(QuestionVersion.options))
        )
        .scalars()
        .all()
    )
    totals, selections = _grouped_answers(course.id, criteria)
    items = []
    for question in questions:
        chosen = selections.get(question.current_version_id, {})
        base = chosen.get(_BASE, 0)
        shares = item_stats.shares_of(_options_of(question.current_version), chosen, base)
        figures = item_stats.statistics_of(totals.get(question.id, Totals(0, 0)), shares, base)
        items.append(OverviewItem(question, figures))
    ordered = item_stats.sort_items(items, sort, descending, name=lambda i: i.key, stats=lambda i: i.stats)
    return CourseOverview(course, ordered, sum(t.asked for t in totals.values()))


# --- one question -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionCount:
    version: QuestionVersion
    asked: int


@dataclass(frozen=True)
class QuestionStatistics:
    question: Question
    version: QuestionVersion  # the version whose options are shown
    versions: list[VersionCount]  # newest first
    stats: ItemStats
    departments: list[GroupStats]
    job_titles: list[GroupStats]


def question_statistics(question: Question, version_number: int | None = None) -> QuestionStatistics:
    """A question's figures over all its versions, with one version's options (the current one by default)."""
    versions = question_versions(question)
    if version_number is None:
        chosen = next(v for v in versions if v.id == question.current_version_id)
    else:
        chosen = next((v for v in versions if v.version == version_number), None)
        if chosen is None:
            raise NotFound(f"This question has no version {version_number}.")
    rows = _answer_rows(_answers_query(question.course_id, StatsFilter(), question.id)).get(question.id, [])
    options = _options_of(chosen)
    per_version: dict[int, int] = {}
    for row in rows:
        per_version[row.version_id] = per_version.get(row.version_id, 0) + 1
    return QuestionStatistics(
        question=question,
        version=chosen,
        versions=[VersionCount(v, per_version.get(v.id, 0)) for v in versions],
        stats=item_stats.item_statistics(rows, options, version_id=chosen.id),
        departments=item_stats.by_department(rows, options, version_id=chosen.id),
        job_titles=item_stats.by_job_title(rows, options, version_id=chosen.id),
    )


# --- the index --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseAttempts:
    course: Course
    attempts: int


def statistics_courses() -> list[CourseAttempts]:
    """Every course with its number of submitted attempts (one grouped query)."""
    submitted = (
        select(QuizAttempt.course_id, func.count().label("n"))
        .where(QuizAttempt.submitted_at.is_not(None))
        .group_by(QuizAttempt.course_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Course, func.coalesce(submitted.c.n, 0))
        .outerjoin(submitted, submitted.c.course_id == Course.id)
        .order_by(Course.title)
    ).all()
    return [CourseAttempts(course, int(n)) for course, n in rows]


def departments() -> list[tuple[int, str]]:
    return [tuple(row) for row in db.session.execute(select(Department.id, Department.name).order_by(Department.name))]
