"""Write the database's content back to the file format (`flask content export`).

For each course: modules/<slug>/course.yaml, one NN-<module>.md per module that is not retired
(NN is its place in the order; other .md files in that folder are removed), and
quizzes/<slug>.yaml with the published questions only (drafts and retired questions stay in the
database). Everything is rendered first and written to a temporary folder beside the target, then
moved into place file by file, so a failure while reading or writing leaves the old files as they were.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from training.content.models import Course, TrainingModule
from training.content.questions import bank_specs
from training.content.schema import CourseSpec, ModuleSpec
from training.content.writer import dump_course_settings, dump_module, dump_question_bank, module_filename
from training.errors import NotFound
from training.extensions import db


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    courses: list[str] = field(default_factory=list)
    questions: int = 0


def _courses(slug: str | None) -> list[Course]:
    query = select(Course).options(selectinload(Course.modules)).order_by(Course.slug)
    if slug:
        course = db.session.execute(query.where(Course.slug == slug)).scalar_one_or_none()
        if course is None:
            raise NotFound(f"There is no course with the slug {slug!r}.")
        return [course]
    return list(db.session.execute(query.where(Course.published.is_(True))).scalars())


def course_spec(course: Course) -> CourseSpec:
    """A course as its files describe it: settings, modules in order, published questions.

    Module files keep the database's positions as their NN- prefix (gaps are allowed), so the next sync
    sees the same module where the browser put it instead of a moved one.
    """
    modules = sorted((m for m in course.modules if not m.retired), key=lambda m: (m.position, m.id))
    return CourseSpec(
        slug=course.slug,
        title=course.title,
        summary=course.summary,
        pass_mark=course.pass_mark,
        questions_per_attempt=course.questions_per_attempt,
        certificate_validity_months=course.certificate_validity_months,
        estimated_minutes=course.estimated_minutes,
        modules=tuple(_module_spec(m, m.position) for m in modules),
        questions=tuple(bank_specs(course, statuses=("published",))),
    )


def _module_spec(module: TrainingModule, number: int) -> ModuleSpec:
    return ModuleSpec(
        slug=module.slug, position=number, title=module.title, body=module.body, summary=module.summary or ""
    )


def render_course(spec: CourseSpec) -> tuple[dict[str, str], dict[str, str]]:
    """({path under modules/: text}, {path under quizzes/: text}) for one course."""
    modules = {f"{spec.slug}/course.yaml": dump_course_settings(spec)}
    for module in spec.modules:
        modules[f"{spec.slug}/{module_filename(module.position, module)}"] = dump_module(module)
    return modules, {f"{spec.slug}.yaml": dump_question_bank(spec.questions)}


def export_content(modules_dir: Path, quizzes_dir: Path, course_slug: str | None = None) -> ExportReport:
    """Write the chosen courses (every published course by default) into the two content folders."""
    report = ExportReport()
    module_files: dict[str, str] = {}
    quiz_files: dict[str, str] = {}
    for course in _courses(course_slug):
        spec = course_spec(course)
        modules, quizzes = render_course(spec)
        module_files |= modules
        quiz_files |= quizzes
        report.courses.append(spec.slug)
        report.questions += len(spec.questions)
    report.written += _write_all(Path(modules_dir), module_files)
    report.written += _write_all(Path(quizzes_dir), quiz_files)
    for slug in report.courses:
        keep = {name.split("/", 1)[1] for name in module_files if name.startswith(f"{slug}/")}
        for stale in sorted((Path(modules_dir) / slug).glob("*.md")):
            if stale.name not in keep:
                stale.unlink()
                report.removed.append(stale)
    return report


def _write_all(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write every file into a temporary folder inside `folder`, then move each into place."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=folder))
    try:
        for name, text in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written = []
        for name in files:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
