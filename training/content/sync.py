"""Load validated content specs into the database, all or nothing.

Upserts by stable ids (course slug, module slug, question id). An edited question becomes a
new QuestionVersion; rows that attempts reference are never deleted, only retired.

Files versus the browser (training/content/reconcile.py, docs/authoring.md): what an author changed
in the browser since the last sync is kept, and the report says so; `prefer_files` lets the files win.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from training.content import reconcile
from training.content.models import Course, Question, TrainingModule
from training.content.questions import new_question_version
from training.content.schema import ContentBundle, CourseSpec
from training.errors import DomainError
from training.extensions import db

RESOLVE = (
    "run `flask content export` to write the browser's version to the files, "
    "or `flask content sync --prefer-files` to let the files win"
)


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
    kept: list[str] = field(default_factory=list)  # browser edits left alone, files unchanged
    conflicts: list[str] = field(default_factory=list)  # browser edits left alone, files changed too
    overridden: list[str] = field(default_factory=list)  # browser edits replaced (--prefer-files)

    def lines(self) -> list[str]:
        lines = [
            f"courses: {len(self.courses_created)} created, {len(self.courses_new_version)} new version, "
            f"{len(self.courses_unchanged)} unchanged, {len(self.courses_retired)} retired",
            f"modules: {self.modules_added} added, {self.modules_retired} retired",
            f"questions: {self.questions_created} created, {self.questions_new_version} new version, "
            f"{self.questions_retired} retired",
        ]
        lines += [f"kept (edited in the browser): {item}" for item in self.kept]
        lines += [f"overridden by the files (--prefer-files): {item}" for item in self.overridden]
        lines += [f"conflict: {item} was edited in the browser and in the files; {RESOLVE}" for item in self.conflicts]
        if self.conflicts:
            lines.append(f"{len(self.conflicts)} conflict(s): the browser's version was kept for each.")
        return lines


class _Outcome:
    """Records one item's decision in the report; True when the files' content is to be written."""

    def __init__(self, report: SyncReport):
        self.report = report

    def __call__(self, decision: str, label: str, note: str = "") -> bool:
        if decision == reconcile.KEPT:
            self.report.kept.append(label + note)
        elif decision == reconcile.CONFLICT:
            self.report.conflicts.append(label)
        elif decision == reconcile.OVERRIDDEN:
            self.report.overridden.append(label + note)
        return decision in (reconcile.APPLY, reconcile.OVERRIDDEN)


def sync_content(bundle: ContentBundle, *, prefer_files: bool = False) -> SyncReport:
    """Apply a bundle in one transaction; a bundle with any error changes nothing."""
    if not bundle.ok:
        raise ContentInvalid(bundle.errors)
    report = SyncReport()
    outcome = _Outcome(report)
    try:
        existing = {c.slug: c for c in db.session.execute(select(Course)).scalars()}
        for spec in bundle.courses:
            _sync_course(spec, existing.get(spec.slug), report, outcome, prefer_files)
        for slug in sorted(set(existing) - {c.slug for c in bundle.courses}):
            course = existing[slug]
            if not course.published:
                continue
            decision = reconcile.decide_missing(course.browser_edited_at is not None, course.synced_hash, prefer_files)
            if outcome(decision, f"course {slug}", " (not in the files)"):
                course.published = False
                report.courses_retired.append(slug)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _sync_course(spec: CourseSpec, course: Course | None, report: SyncReport, outcome, prefer_files: bool) -> None:
    content_hash = spec.content_hash()
    created = course is None
    if created:
        course = Course(slug=spec.slug, version=1, content_hash=content_hash)
        db.session.add(course)
        report.courses_created.append(spec.slug)
    changed = _sync_settings(spec, course, outcome, prefer_files)
    db.session.flush()
    changed = _sync_modules(spec, course, report, outcome, prefer_files) or changed
    changed = _sync_questions(spec, course, report, outcome, prefer_files) or changed
    if created:
        return
    if course.content_hash != content_hash:
        course.content_hash = content_hash
        if changed:
            course.version += 1
            report.courses_new_version.append(spec.slug)
            return
    if course.published:
        report.courses_unchanged.append(spec.slug)


def _settings_of(course: Course) -> dict:
    return {name: getattr(course, name) for name in reconcile.SETTINGS_FIELDS}


def _sync_settings(spec: CourseSpec, course: Course, outcome, prefer_files: bool) -> bool:
    """Apply course.yaml unless the browser changed the settings (or unpublished the course)."""
    file_hash = reconcile.settings_fingerprint({name: getattr(spec, name) for name in reconcile.SETTINGS_FIELDS})
    in_db = None
    if course.id is not None:
        state = "published" if course.published else "unpublished"
        in_db = reconcile.held(reconcile.settings_fingerprint(_settings_of(course)), state, "published")
    item = reconcile.Fingerprints(file_hash, in_db, course.synced_hash, course.browser_edited_at is not None)
    decision = reconcile.decide(item, prefer_files)
    if not outcome(decision, f"course {spec.slug} settings") and decision != reconcile.SAME:
        return False
    for name in reconcile.SETTINGS_FIELDS:
        setattr(course, name, getattr(spec, name))
    course.published = True
    course.synced_hash = file_hash
    course.browser_edited_at = None
    return decision != reconcile.SAME


def _sync_modules(spec: CourseSpec, course: Course, report: SyncReport, outcome, prefer_files: bool) -> bool:
    existing = {
        m.slug: m
        for m in db.session.execute(select(TrainingModule).where(TrainingModule.course_id == course.id)).scalars()
    }
    changed = False
    for module_spec in spec.modules:
        module = existing.get(module_spec.slug)
        file_hash = reconcile.module_fingerprint(
            module_spec.title, module_spec.summary, module_spec.body, module_spec.position
        )
        in_db = None
        if module is not None:
            held = reconcile.module_fingerprint(module.title, module.summary, module.body, module.position)
            in_db = reconcile.held(held, "retired" if module.retired else "active", "active")
        edited = module is not None and module.browser_edited_at is not None
        decision = reconcile.decide(
            reconcile.Fingerprints(file_hash, in_db, module and module.synced_hash, edited), prefer_files
        )
        if not outcome(decision, f"module {spec.slug}/{module_spec.slug}") and decision != reconcile.SAME:
            continue
        if module is None:
            module = TrainingModule(course_id=course.id, slug=module_spec.slug)
            db.session.add(module)
            report.modules_added += 1
        changed = changed or decision != reconcile.SAME
        module.position = module_spec.position
        module.title = module_spec.title
        module.summary = module_spec.summary
        module.body = module_spec.body
        module.retired = False
        module.synced_hash = file_hash
        module.browser_edited_at = None
    for slug in sorted(set(existing) - {m.slug for m in spec.modules}):
        module = existing[slug]
        if module.retired:
            continue
        decision = reconcile.decide_missing(module.browser_edited_at is not None, module.synced_hash, prefer_files)
        if outcome(decision, f"module {spec.slug}/{slug}", " (not in the files)"):
            module.retired = True
            report.modules_retired += 1
            changed = True
    return changed


def _sync_questions(spec: CourseSpec, course: Course, report: SyncReport, outcome, prefer_files: bool) -> bool:
    existing = {
        q.key: q
        for q in db.session.execute(
            select(Question)
            .where(Question.key.in_([qs.id for qs in spec.questions]) | (Question.course_id == course.id))
            .options(selectinload(Question.current_version))
        ).scalars()
    }
    changed = False
    for question_spec in spec.questions:
        question = existing.get(question_spec.id)
        file_hash = question_spec.content_hash()
        in_db = None
        if question is not None and question.current_version is not None:
            in_db = reconcile.held(question.current_version.content_hash, question.status, "published")
        edited = question is not None and question.browser_edited_at is not None
        item = reconcile.Fingerprints(file_hash, in_db, question and question.synced_hash, edited)
        decision = reconcile.decide(item, prefer_files)
        if not outcome(decision, f"question {question_spec.id}") and decision != reconcile.SAME:
            continue
        if question is None:
            question = Question(key=question_spec.id, course_id=course.id)
            db.session.add(question)
            db.session.flush()
            report.questions_created += 1
        if question.current_version is None or question.current_version.content_hash != file_hash:
            if question.current_version is not None:
                report.questions_new_version += 1
            number = question.current_version.version + 1 if question.current_version else 1
            question.current_version = new_question_version(question, question_spec, number, source="file")
        changed = changed or decision != reconcile.SAME or question.course_id != course.id
        question.course_id = course.id
        question.status = "published"
        question.synced_hash = file_hash
        question.browser_edited_at = None
    for key in sorted(set(existing) - {q.id for q in spec.questions}):
        question = existing[key]
        if question.course_id != course.id or question.status == "retired":
            continue
        decision = reconcile.decide_missing(question.browser_edited_at is not None, question.synced_hash, prefer_files)
        if outcome(decision, f"question {key}", " (not in the files)"):
            question.status = "retired"
            report.questions_retired += 1
            changed = True
    return changed
