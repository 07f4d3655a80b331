"""Import and export of a course's question bank, as YAML (the quizzes/ format) or Moodle GIFT.

An import is always previewed first: every question the file would create or update, and every
problem with its line. Applying imports exactly the previewed file (kept on the server, see
training/staging.py) in one transaction, all or nothing, and records one `question_bank.imported` event
beside the per-question events that `save_question` records.
"""

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename

from training.audit.services import record_event
from training.auth.models import User
from training.authoring.questions.saving import course_initials, save_question
from training.authoring.transfer.bankfile import (
    NotText,
    ParsedBank,
    Problem,
    decode_upload,
    format_for,
    parse_yaml_bank,
)
from training.authoring.transfer.gift.reader import parse_gift
from training.authoring.transfer.gift.writer import write_gift
from training.content.models import Course, Question
from training.content.questions import bank_specs
from training.content.schema import QuestionSpec
from training.content.writer import dump_question_bank
from training.db import utcnow
from training.errors import Conflict, DomainError
from training.extensions import db
from training.staging import StagingMessages, StagingStore, sha256_hex

MAX_IMPORT_BYTES = 1024 * 1024
IMPORT_STATUSES = ("draft", "published")


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class ImportRefused(DomainError):
    """The staged file no longer imports cleanly (the bank changed meanwhile): nothing was written."""

    status = 409
    code = "import_refused"

    def __init__(self, plan: "ImportPlan"):
        super().__init__("The file no longer imports cleanly; nothing was imported.")
        self.plan = plan


@dataclass(frozen=True)
class PlannedQuestion:
    line: int | None
    spec: QuestionSpec
    action: str  # create | update | unchanged
    status_before: str | None
    status_after: str
    question: Question | None = None

    @property
    def changes(self) -> bool:
        return self.action != "unchanged" or self.status_before != self.status_after


@dataclass(frozen=True)
class ImportPlan:
    filename: str
    format: str
    status: str
    sha256: str
    rows: tuple[PlannedQuestion, ...]
    problems: tuple[Problem, ...]
    skipped: tuple[Problem, ...] = ()
    notices: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def has_changes(self) -> bool:
        return any(row.changes for row in self.rows)

    def count(self, action: str) -> int:
        return sum(row.action == action for row in self.rows)

    def status_changes(self) -> int:
        return sum(row.action == "unchanged" and row.status_before != row.status_after for row in self.rows)


@dataclass(frozen=True)
class Preview:
    plan: ImportPlan
    token: str | None


def max_import_bytes() -> int:
    return int(current_app.config.get("AUTHORING_IMPORT_MAX_BYTES", MAX_IMPORT_BYTES))


def read_upload(course: Course, data: bytes, filename: str, chosen_format: str = "") -> tuple[str, ParsedBank]:
    """The file's format and its questions; a file too large, not UTF-8 or of unknown format is refused."""
    limit = max_import_bytes()
    if len(data) > limit:
        raise TooLarge(
            f"The file is {len(data) / 1024:,.0f} KB; the most an import accepts is {limit / 1024:,.0f} KB. "
            "Nothing was imported. Split the bank into smaller files and import them one after another."
        )
    kind = format_for(filename, chosen_format)
    if kind is None:
        raise DomainError(
            "The file name does not say its format: name it .yaml, .yml, .gift or .txt, or choose the format.",
            status=422,
            code="unknown_format",
        )
    try:
        text = decode_upload(data)
    except NotText as error:
        raise DomainError(str(error), status=422, code="not_utf8") from None
    if kind == "yaml":
        return kind, parse_yaml_bank(text)
    others = db.session.execute(select(Question.key).where(Question.course_id != course.id)).scalars()
    return kind, parse_gift(text, reserved_ids=set(others), id_prefix=course_initials(course))


def plan_import(course: Course, data: bytes, filename: str, chosen_format: str, status: str) -> ImportPlan:
    """What importing the file into `course` would do, question by question, checked against the database."""
    if status not in IMPORT_STATUSES:
        raise DomainError("Choose whether to import the questions as drafts or published.", status=422)
    kind, parsed = read_upload(course, data, filename, chosen_format)
    keys = [q.spec.id for q in parsed.questions]
    existing = {
        q.key: q
        for q in db.session.execute(
            select(Question).where(Question.key.in_(keys)).options(selectinload(Question.current_version))
        ).scalars()
    }
    other_courses = dict(db.session.execute(select(Course.id, Course.title)).all()) if existing else {}
    rows, problems = [], list(parsed.problems)
    for item in parsed.questions:
        question = existing.get(item.spec.id)
        if question is None:
            rows.append(PlannedQuestion(item.line, item.spec, "create", None, status))
        elif question.course_id != course.id:
            owner = other_courses.get(question.course_id, "another course")
            problems.append(Problem(item.line, f"the id is already used by a question in {owner}", item.spec.id))
        else:
            same = question.current_version is not None and question.current_version.content_hash == (
                item.spec.content_hash()
            )
            after = "published" if status == "published" else question.status
            rows.append(
                PlannedQuestion(
                    item.line, item.spec, "unchanged" if same else "update", question.status, after, question
                )
            )
    problems.sort(key=lambda p: p.line or 0)
    return ImportPlan(
        filename=secure_filename(filename or "")[:200] or "upload",
        format=kind,
        status=status,
        sha256=sha256_hex(data),
        rows=tuple(rows),
        problems=tuple(problems),
        skipped=parsed.skipped,
        notices=parsed.notices,
    )


STAGING_MESSAGES = StagingMessages(
    expired="This import preview has expired or was not yours. Upload the file again to see a new preview.",
    already_imported="This file has already been imported (or is being imported): see the question bank.",
)


def upload_store() -> StagingStore:
    return StagingStore(Path(current_app.config["AUTHORING_IMPORT_DIR"]), STAGING_MESSAGES)


def stage_import(course: Course, actor: User, data: bytes, filename: str, chosen_format: str, status: str) -> Preview:
    """The preview of an upload; a file that would import cleanly is kept for the apply step."""
    plan = plan_import(course, data, filename, chosen_format, status)
    if not plan.ok or not plan.has_changes:
        return Preview(plan, None)
    meta = {"course": course.slug, "filename": plan.filename, "format": plan.format, "status": status}
    staged = upload_store().save(actor.id, data, meta, utcnow())
    return Preview(plan, staged.token)


def apply_staged_import(course: Course, actor: User, token: str, sha256: str, ip: str = "") -> ImportPlan:
    """Import the previewed file once, all or nothing; a repeated apply is refused and imports nothing."""
    store = upload_store()
    staged = store.claim(token, actor.id, sha256, utcnow(), course=course.slug)
    meta = staged.meta
    try:
        plan = plan_import(course, staged.data, meta["filename"], meta["format"], meta["status"])
        if not plan.ok:
            raise ImportRefused(plan)
        _write(course, plan, actor.id, ip)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        store.discard(token)
        raise Conflict("Someone changed this question bank at the same moment; nothing was imported.") from None
    except Exception:
        db.session.rollback()
        store.discard(token)
        raise
    store.mark_imported(token, utcnow())
    return plan


def _write(course: Course, plan: ImportPlan, actor_id: int, ip: str) -> None:
    note = f"imported from {plan.filename}"
    for row in plan.rows:
        if not row.changes:
            continue
        status = "published" if plan.status == "published" else ("draft" if row.question is None else None)
        save_question(
            course,
            row.spec,
            actor_id,
            question=row.question,
            status=status,
            source="import",
            note=note,
            ip=ip,
            commit=False,
        )
    record_event(
        "question_bank.imported",
        actor_id=actor_id,
        subject_type="question_bank",
        subject_id=course.slug,
        details={
            "course_id": course.id,
            "filename": plan.filename,
            "format": plan.format,
            "sha256": plan.sha256,
            "status": plan.status,
            "created": plan.count("create"),
            "updated": plan.count("update"),
            "unchanged": plan.count("unchanged"),
            "status_changed": plan.status_changes(),
            "skipped": len(plan.skipped),
        },
        ip_address=ip,
    )


# --- Export ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    filename: str
    data: bytes
    mimetype: str


def export_bank(course: Course, kind: str, actor_id: int | None, ip: str = "") -> Download:
    """The bank (published and draft questions; retired ones left out) as a YAML or GIFT file.

    The answer key leaves the app with it, so each download is audited (`question_bank.exported`).
    """
    specs = bank_specs(course)
    name = secure_filename(course.slug) or "questions"
    if kind == "gift":
        heading = f"{course.title}: published and draft questions, exported {utcnow():%Y-%m-%d %H:%M} UTC"
        download = Download(f"{name}.gift", write_gift(specs, heading).encode(), "text/plain")
    else:
        download = Download(f"{name}.yaml", dump_question_bank(specs).encode(), "application/yaml; charset=utf-8")
    record_event(
        "question_bank.exported",
        actor_id=actor_id,
        subject_type="question_bank",
        subject_id=course.slug,
        details={"course_id": course.id, "format": kind, "questions": len(specs)},
        ip_address=ip,
    )
    db.session.commit()
    return download
