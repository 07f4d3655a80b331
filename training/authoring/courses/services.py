"""Course settings and modules in the browser: versions, publishing, and the audit trail.

Rules (docs/authoring.md, "Courses and modules in the browser"):
- Changing the pass mark, the questions per attempt or the certificate validity changes what a
  completion means, so it publishes a new course version; so does adding, retiring, restoring or
  rewriting a module. Titles, summaries, the estimated time, attempt limits and the order of
  modules do not. Completions already earned keep the version they record.
- A published course needs at least one module and as many published questions as it asks.
- Every change sets `browser_edited_at` (content sync then leaves it alone) and is audited.
"""

import re
from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from training.audit.services import record_event
from training.authoring.questions.bank import published_question_count
from training.content.models import Course, TrainingModule
from training.content.reconcile import fingerprint
from training.db import utcnow
from training.errors import Conflict, DomainError, NotFound
from training.extensions import db

MEANING_FIELDS = ("pass_mark", "questions_per_attempt", "certificate_validity_months")


class CourseChanged(Conflict):
    """Someone else changed the course after this author opened the page."""

    code = "course_changed"


@dataclass(frozen=True)
class CourseSettings:
    title: str
    summary: str
    pass_mark: int
    questions_per_attempt: int
    max_attempts: int | None
    attempt_wait_minutes: int
    certificate_validity_months: int
    estimated_minutes: int


def settings_of(course: Course) -> CourseSettings:
    return CourseSettings(**{name: getattr(course, name) for name in CourseSettings.__dataclass_fields__})


def settings_token(course: Course) -> str:
    """A fingerprint of the settings as the author saw them, to detect a save made meanwhile."""
    return fingerprint({**asdict(settings_of(course)), "version": course.version})[:20]


def _changes(old, new) -> dict:
    return {
        name: [getattr(old, name), getattr(new, name)]
        for name in asdict(new)
        if getattr(old, name) != getattr(new, name)
    }


def _audit(action: str, actor_id, subject_type: str, subject_id: str, ip: str, **details) -> None:
    record_event(
        action, actor_id=actor_id, subject_type=subject_type, subject_id=subject_id, details=details, ip_address=ip
    )


def active_module_count(course_id: int) -> int:
    condition = (TrainingModule.course_id == course_id) & TrainingModule.retired.is_(False)
    return db.session.execute(select(func.count()).select_from(TrainingModule).where(condition)).scalar_one()


def publish_problems(course: Course, questions_per_attempt: int | None = None) -> list[str]:
    """Why this course cannot be (or stay) published; empty when it can."""
    asked = questions_per_attempt or course.questions_per_attempt
    problems = []
    published = published_question_count(course.id)
    if published < asked:
        problems.append(
            f"It asks {asked} questions per attempt but has {published} published. "
            "Publish more questions, or lower the questions per attempt."
        )
    if active_module_count(course.id) == 0:
        problems.append("It has no modules. Add a module first.")
    return problems


def update_settings(course: Course, settings: CourseSettings, actor_id: int, *, token: str, ip: str = "") -> dict:
    """Save the settings; returns what changed ({} when nothing did, as after a double submit)."""
    current = settings_of(course)
    changes = _changes(current, settings)
    if not changes:
        return {}
    if token != settings_token(course):
        raise CourseChanged(
            "Someone changed this course's settings while you were editing them. Your values are below: "
            "compare them with the course as it is now, then save again."
        )
    if course.published and "questions_per_attempt" in changes:
        published = published_question_count(course.id)
        if settings.questions_per_attempt > published:
            raise Conflict(
                f"{course.title} is published with {published} published questions, so it cannot ask "
                f"{settings.questions_per_attempt} per attempt. Publish more questions first."
            )
    new_version = any(name in changes for name in MEANING_FIELDS)
    for name, (_, value) in changes.items():
        setattr(course, name, value)
    if new_version:
        course.version += 1
    course.browser_edited_at = utcnow()
    _audit("course.settings_saved", actor_id, "course", course.slug, ip, changed=changes, version=course.version)
    db.session.commit()
    return changes


def create_course(slug: str, settings: CourseSettings, actor_id: int, ip: str = "") -> Course:
    """A new course, unpublished and without modules or questions yet."""
    if db.session.execute(select(Course.id).where(Course.slug == slug)).first():
        raise Conflict(f"A course with the id {slug!r} already exists. Choose another id.")
    course = Course(
        slug=slug, version=1, content_hash="", published=False, browser_edited_at=utcnow(), **asdict(settings)
    )
    db.session.add(course)
    db.session.flush()
    _audit("course.created", actor_id, "course", slug, ip, settings=asdict(settings))
    db.session.commit()
    return course


def set_published(course: Course, publish: bool, actor_id: int, ip: str = "") -> bool:
    """Publish or unpublish a course; False when it already was (a double submit)."""
    if course.published == publish:
        return False
    if publish:
        problems = publish_problems(course)
        if problems:
            raise Conflict(f"{course.title} cannot be published yet. " + " ".join(problems))
    course.published = publish
    course.browser_edited_at = utcnow()
    _audit("course.published" if publish else "course.unpublished", actor_id, "course", course.slug, ip)
    db.session.commit()
    return True


# --- Modules ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleText:
    title: str
    summary: str
    body: str


def modules_of(course: Course) -> list[TrainingModule]:
    """Every module of the course, retired ones too, in their order."""
    query = select(TrainingModule).where(TrainingModule.course_id == course.id)
    return db.session.execute(query.order_by(TrainingModule.position, TrainingModule.id)).scalars().all()


def module_for_authoring(module_id: int) -> TrainingModule:
    module = db.session.get(TrainingModule, module_id)
    if module is None:
        raise NotFound("There is no such module.")
    return module


def module_token(module: TrainingModule) -> str:
    return fingerprint([module.title, module.summary, module.body, module.retired])[:20]


def slug_for(course: Course, title: str) -> str:
    """A module id from its title (lowercase words joined by hyphens), unique in the course."""
    base = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:60].strip("-") or "module"
    taken = set(db.session.execute(select(TrainingModule.slug).where(TrainingModule.course_id == course.id)).scalars())
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _bump(course: Course) -> None:
    course.version += 1


def create_module(course: Course, text: ModuleText, actor_id: int, ip: str = "") -> TrainingModule:
    """Add a module at the end of the course; a new module is a new course version."""
    last = db.session.execute(
        select(func.max(TrainingModule.position)).where(TrainingModule.course_id == course.id)
    ).scalar_one()
    module = TrainingModule(
        course_id=course.id, slug=slug_for(course, text.title), position=(last or 0) + 1, browser_edited_at=utcnow()
    )
    module.title, module.summary, module.body = text.title, text.summary, text.body
    db.session.add(module)
    db.session.flush()
    _bump(course)
    _audit(
        "module.created",
        actor_id,
        "module",
        f"{course.slug}/{module.slug}",
        ip,
        title=text.title,
        version=course.version,
    )
    db.session.commit()
    return module


def update_module(module: TrainingModule, text: ModuleText, actor_id: int, *, token: str, ip: str = "") -> dict:
    """Save a module's text; a changed body is a new course version, a title or summary is not."""
    old = ModuleText(module.title, module.summary, module.body)
    changes = _changes(old, text)
    if not changes:
        return {}
    if token != module_token(module):
        raise CourseChanged(
            "Someone changed this module while you were editing it. Your text is below: compare it with the "
            "module as it is now, then save again."
        )
    module.title, module.summary, module.body = text.title, text.summary, text.body
    module.browser_edited_at = utcnow()
    course = module.course
    if "body" in changes:
        _bump(course)
        changes["body"] = [f"{len(old.body)} characters", f"{len(text.body)} characters"]
    _audit(
        "module.saved", actor_id, "module", f"{course.slug}/{module.slug}", ip, changed=changes, version=course.version
    )
    db.session.commit()
    return changes


def move_module(module: TrainingModule, direction: str, actor_id: int, ip: str = "") -> bool:
    """Swap a module with its neighbour among the active modules; the order is not a new version."""
    if direction not in ("up", "down"):
        raise DomainError("Unknown direction.", tampered="module move direction")
    active = [m for m in modules_of(module.course) if not m.retired]
    if module not in active:
        raise Conflict("A retired module has no place in the order. Restore it first.")
    index = active.index(module)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(active):
        return False
    neighbour = active[other]
    if module.position == neighbour.position:
        for number, item in enumerate(active, start=1):
            item.position = number
    module.position, neighbour.position = neighbour.position, module.position
    module.browser_edited_at = neighbour.browser_edited_at = utcnow()
    _audit(
        "module.moved",
        actor_id,
        "module",
        f"{module.course.slug}/{module.slug}",
        ip,
        direction=direction,
        position=[neighbour.position, module.position],
    )
    db.session.commit()
    return True


def set_module_retired(module: TrainingModule, retired: bool, actor_id: int, ip: str = "") -> bool:
    """Retire or restore a module (a new course version); a published course keeps at least one."""
    if module.retired == retired:
        return False
    course = module.course
    if retired and course.published and active_module_count(course.id) <= 1:
        raise Conflict(f"{course.title} is published and this is its only module. Add another module first.")
    if not retired:
        last = max((m.position for m in modules_of(course) if not m.retired), default=0)
        module.position = max(module.position, last + 1)
    module.retired = retired
    module.browser_edited_at = utcnow()
    _bump(course)
    action = "module.retired" if retired else "module.restored"
    _audit(action, actor_id, "module", f"{course.slug}/{module.slug}", ip, version=course.version)
    db.session.commit()
    return True
