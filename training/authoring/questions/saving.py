"""Saving questions: new versions, publishing and retiring, each change written to the audit record.

Rules (docs/authoring.md):
- A question's content lives in immutable versions. Saving a change makes a new version and points
  the question at it; attempts keep the version they were asked, so grades never change.
- Only published questions are drawn into new attempts. A published course must keep at least as many
  published questions as it asks per attempt.
- Every change made here sets `browser_edited_at`, so `flask content sync` leaves it alone.
- Every change is written to the audit record in the same transaction.
"""

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from training.audit.services import record_event
from training.authoring.questions.bank import published_question_count
from training.content.models import Course, Question, QuestionVersion
from training.content.questions import new_question_version
from training.content.schema import QuestionSpec
from training.db import utcnow
from training.errors import Conflict, DomainError
from training.extensions import db


class QuestionChanged(Conflict):
    """Someone else saved the question after this author opened it."""

    code = "question_changed"


@dataclass(frozen=True)
class SaveResult:
    question: Question
    version: QuestionVersion
    created: bool  # a new question
    new_version: bool  # False when nothing had changed


def course_initials(course: Course) -> str:
    """The first letter of each word of the course's id, at most six: how the ids made up for its questions begin."""
    return "".join(part[0] for part in course.slug.split("-") if part)[:6]


def suggest_key(course: Course, prompt: str) -> str:
    """A stable id for a new question: the course's initials and the prompt's first words, made unique."""
    initials = course_initials(course) or "q"
    words = re.findall(r"[a-z0-9]+", prompt.lower())
    base = "-".join([initials, *words[:5]])[:56].strip("-")
    taken = set(db.session.execute(select(Question.key).where(Question.key.like(f"{base}%"))).scalars())
    if base not in taken and len(base) >= 3:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def save_question(
    course: Course,
    spec: QuestionSpec,
    actor_id: int | None,
    *,
    question: Question | None = None,
    base_version: int | None = None,
    status: str | None = None,
    source: str = "browser",
    note: str = "",
    ip: str = "",
    commit: bool = True,
) -> SaveResult:
    """Create a question or give it a new version when its content changed; record who did it.

    `base_version` is the version the author started from: if someone saved another one since, the
    save is refused (unless what they saved is exactly this content, as after a double submit).
    `status` publishes or keeps a draft; the course's minimum of published questions is enforced.

    Two saves at the same moment both pass those checks; the unique question id and the unique
    (question, version number) then let only the first write, and the other gets the same 409 as
    a save found stale (with `commit=False` the caller handles the IntegrityError).
    """
    try:
        return _save_question(course, spec, actor_id, question, base_version, status, source, note, ip, commit)
    except IntegrityError:
        if not commit:
            raise
        db.session.rollback()
        if question is None:
            raise Conflict(_id_taken(spec.id)) from None
        raise _changed_meanwhile(question, base_version) from None


def _id_taken(key: str) -> str:
    return f"A question with the id {key!r} already exists. Choose another id."


def _changed_meanwhile(question: Question, base_version: int | None) -> QuestionChanged:
    current = question.current_version.version
    since = f"while you were editing version {base_version}" if base_version else "while you were editing it"
    return QuestionChanged(
        f"Someone saved version {current} of this question {since}. "
        "Your text is below: compare it with the current version, then save again."
    )


def _save_question(course, spec, actor_id, question, base_version, status, source, note, ip, commit) -> SaveResult:
    now = utcnow()
    created = question is None
    if created:
        if db.session.execute(select(Question.id).where(Question.key == spec.id)).first():
            raise Conflict(_id_taken(spec.id))
        question = Question(key=spec.id, course_id=course.id, status=status or "draft")
        db.session.add(question)
        db.session.flush()
    current = question.current_version
    content_hash = spec.content_hash()
    unchanged = current is not None and current.content_hash == content_hash
    stale = not created and base_version is not None and current is not None and current.version != base_version
    if stale and not unchanged:
        raise _changed_meanwhile(question, base_version)
    version = current
    if not unchanged:
        number = current.version + 1 if current is not None else 1
        version = new_question_version(question, spec, number, source=source, actor_id=actor_id, note=note)
        question.current_version = version
    old_status = question.status
    if status and status != old_status:
        _check_status_change(question, course, status)
        question.status = status
    if not unchanged or status != old_status:
        question.browser_edited_at = now if source != "file" else question.browser_edited_at
        _record(
            "question.created" if created else "question.saved",
            actor_id,
            question,
            ip,
            {
                "version": version.version,
                "status": question.status,
                "previous_status": None if created else old_status,
                "source": source,
                "note": note,
                "changed": [] if unchanged or created else changed_fields(current, version),
            },
        )
    if commit:
        db.session.commit()
    return SaveResult(question, version, created, not unchanged)


TRANSITIONS = {
    "publish": ("published", {"draft", "retired"}),
    "retire": ("retired", {"draft", "published"}),
}


def change_status(question: Question, action: str, actor_id: int | None, ip: str = "") -> Question:
    """Publish or retire a question (the only two moves an author makes by hand)."""
    if action not in TRANSITIONS:
        raise DomainError("Unknown action.", tampered="question status action")
    target, allowed_from = TRANSITIONS[action]
    if question.status == target:
        return question  # a double submit: already done
    if question.status not in allowed_from:
        raise Conflict(f"A {question.status} question cannot be moved to {target}.")
    course = db.session.get(Course, question.course_id)
    _check_status_change(question, course, target)
    previous, question.status = question.status, target
    question.browser_edited_at = utcnow()
    _record(f"question.{target}", actor_id, question, ip, {"previous_status": previous, "status": target})
    db.session.commit()
    return question


def _check_status_change(question: Question, course: Course, target: str) -> None:
    if question.status != "published" or target == "published" or not course.published:
        return
    remaining = published_question_count(course.id) - 1
    if remaining < course.questions_per_attempt:
        raise Conflict(
            f"{course.title} asks {course.questions_per_attempt} questions per attempt and would be left with "
            f"{remaining} published. Publish another question first, or lower the questions per attempt."
        )


def _record(action: str, actor_id, question: Question, ip: str, details: dict) -> None:
    record_event(
        action,
        actor_id=actor_id,
        subject_type="question",
        subject_id=question.key,
        details={"question_id": question.id, "course_id": question.course_id, **details},
        ip_address=ip,
    )


def changed_fields(old: QuestionVersion, new: QuestionVersion) -> list[str]:
    """Which parts of a question differ between two versions (for the audit record)."""
    changed = [
        name
        for name in ("type", "scenario", "prompt", "explanation", "tags", "references")
        if getattr(old, name) != getattr(new, name)
    ]
    old_options = [(o.text, o.correct, o.feedback) for o in old.options]
    new_options = [(o.text, o.correct, o.feedback) for o in new.options]
    if old_options != new_options:
        changed.append("options")
    return changed
