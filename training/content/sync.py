"""Load validated content specs into the database, all or nothing.

Upserts by stable ids (course slug, module slug, question id). An edited question becomes a
new QuestionVersion; rows that attempts reference are never deleted, only retired.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from training.content.schema import ContentBundle, CourseSpec, QuestionSpec
from training.courses.models import Course, TrainingModule
from training.errors import DomainError
from training.extensions import db
from training.quizzes.models import Question, QuestionOption, QuestionVersion


class ContentInvalid(DomainError):
    status = 422
    code = "content_invalid"

    def __init__(self, errors):
        self.errors = tuple(errors)
        super().__init__(f"{len(self.errors)} problem(s) in content files; nothing was changed.")


@dataclass
class SyncReport:
    courses_created: list[str] = field(default_factory=list)
    courses_new_version: list[str] = field(default_factory=list)
    courses_unchanged: list[str] = field(default_factory=list)
    courses_retired: list[str] = field(default_factory=list)
    modules_added: int = 0
    modules_retired: int = 0
    questions_created: int = 0
    questions_new_version: int = 0
    questions_retired: int = 0

    def lines(self) -> list[str]:
        return [
            f"courses: {len(self.courses_created)} created, {len(self.courses_new_version)} new version, "
            f"{len(self.courses_unchanged)} unchanged, {len(self.courses_retired)} retired",
            f"modules: {self.modules_added} added, {self.modules_retired} retired",
            f"questions: {self.questions_created} created, {self.questions_new_version} new version, "
            f"{self.questions_retired} retired",
        ]


def sync_content(bundle: ContentBundle) -> SyncReport:
    """Apply a bundle in one transaction; a bundle with any error changes nothing."""
    if not bundle.ok:
        raise ContentInvalid(bundle.errors)
    report = SyncReport()
    try:
        existing = {c.slug: c for c in db.session.execute(select(Course)).scalars()}
        for spec in bundle.courses:
            _sync_course(spec, existing.get(spec.slug), report)
        for slug in sorted(set(existing) - {c.slug for c in bundle.courses}):
            course = existing[slug]
            if course.published:
                course.published = False
                report.courses_retired.append(slug)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _sync_course(spec: CourseSpec, course: Course | None, report: SyncReport) -> None:
    content_hash = spec.content_hash()
    if course is None:
        course = Course(slug=spec.slug, version=1, content_hash=content_hash)
        db.session.add(course)
        report.courses_created.append(spec.slug)
    elif course.content_hash != content_hash:
        course.version += 1
        course.content_hash = content_hash
        report.courses_new_version.append(spec.slug)
    elif course.published:
        report.courses_unchanged.append(spec.slug)
    for name in ("title", "summary", "pass_mark", "questions_per_attempt", "certificate_validity_months"):
        setattr(course, name, getattr(spec, name))
    course.estimated_minutes = spec.estimated_minutes
    course.published = True
    db.session.flush()
    _sync_modules(spec, course, report)
    _sync_questions(spec, course, report)


def _sync_modules(spec: CourseSpec, course: Course, report: SyncReport) -> None:
    existing = {
        m.slug: m
        for m in db.session.execute(select(TrainingModule).where(TrainingModule.course_id == course.id)).scalars()
    }
    for module_spec in spec.modules:
        module = existing.get(module_spec.slug)
        if module is None:
            module = TrainingModule(course_id=course.id, slug=module_spec.slug)
            db.session.add(module)
            report.modules_added += 1
        module.position = module_spec.position
        module.title = module_spec.title
        module.summary = module_spec.summary
        module.body = module_spec.body
        module.retired = False
    for slug in set(existing) - {m.slug for m in spec.modules}:
        if not existing[slug].retired:
            existing[slug].retired = True
            report.modules_retired += 1


def _sync_questions(spec: CourseSpec, course: Course, report: SyncReport) -> None:
    existing = {
        q.key: q
        for q in db.session.execute(
            select(Question)
            .where(Question.key.in_([qs.id for qs in spec.questions]) | (Question.course_id == course.id))
            .options(selectinload(Question.current_version))
        ).scalars()
    }
    for question_spec in spec.questions:
        question = existing.get(question_spec.id)
        if question is None:
            question = Question(key=question_spec.id, course_id=course.id)
            db.session.add(question)
            db.session.flush()
            report.questions_created += 1
        elif question.current_version is None or question.current_version.content_hash != question_spec.content_hash():
            report.questions_new_version += 1
        else:
            question.status = "published"
            question.course_id = course.id
            continue
        question.course_id = course.id
        question.status = "published"
        number = question.current_version.version + 1 if question.current_version else 1
        question.current_version = _new_version(question, question_spec, number)
    for key in set(existing) - {q.id for q in spec.questions}:
        if existing[key].course_id == course.id and existing[key].status != "retired":
            existing[key].status = "retired"
            report.questions_retired += 1


def _new_version(question: Question, spec: QuestionSpec, number: int) -> QuestionVersion:
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
        options=[
            QuestionOption(position=i, text=o.text, correct=o.correct, feedback=o.feedback)
            for i, o in enumerate(spec.options)
        ],
    )
    db.session.add(version)
    db.session.flush()
    return version
