"""The catalog as learners read it, kept per process: courses with their modules, question versions with options.

Published content changes only through catalog writes, and every transaction that writes a catalog row gives
`content_version` a new token (the `before_flush` hook below), so a process may keep what it read for as long as
the token it reads stays the same. Learner pages read the token together with the signed-in user (training/web.py
puts it in `g.content_version`), so the cache costs them no statement. Cached values are frozen dataclasses and
tuples, never ORM instances, which belong to one session.
"""

from dataclasses import dataclass, fields
from uuid import uuid4

from flask import current_app, g, has_request_context
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from training.content import topics
from training.content.models import ContentVersion, Course, Question, QuestionOption, QuestionVersion, TrainingModule
from training.db import utcnow
from training.extensions import db

CATALOG_MODELS = (Course, TrainingModule, Question, QuestionVersion, QuestionOption)
_BUMPED = "content_version_bumped"
_UNREAD = object()


@dataclass(frozen=True)
class ModuleView:
    id: int
    course_id: int
    slug: str
    position: int
    title: str
    summary: str
    body: str


@dataclass(frozen=True)
class CourseView:
    id: int
    slug: str
    title: str
    summary: str
    pass_mark: int
    questions_per_attempt: int
    certificate_validity_months: int
    estimated_minutes: int
    version: int
    published: bool
    max_attempts: int | None
    attempt_wait_minutes: int
    modules: tuple[ModuleView, ...]


@dataclass(frozen=True)
class OptionView:
    id: int
    position: int
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class QuestionVersionView:
    id: int
    question_id: int
    version: int
    type: str
    scenario: str
    prompt: str
    explanation: str
    tags: tuple[str, ...]
    references: tuple[str, ...]
    options: tuple[OptionView, ...]


def _copy(view_class, row, **values):
    """A view of an ORM row: the view's fields read from the row, unless given."""
    names = [f.name for f in fields(view_class) if f.name not in values]
    return view_class(**{name: getattr(row, name) for name in names}, **values)


def _course_view(course: Course, modules: list[TrainingModule]) -> CourseView:
    return _copy(CourseView, course, modules=tuple(_copy(ModuleView, m) for m in modules))


def _version_view(version: QuestionVersion) -> QuestionVersionView:
    return _copy(
        QuestionVersionView,
        version,
        tags=tuple(version.tags or ()),
        references=tuple(version.references or ()),
        options=tuple(_copy(OptionView, o) for o in version.options),
    )


# The token in the database, and what this process keeps for it.
def content_token_column():
    """The current token as a scalar subquery, for a statement that reads it along with something else."""
    return select(ContentVersion.token).where(ContentVersion.id == 1).scalar_subquery()


def remember_token(token: str | None) -> None:
    """Note the token this request read (with the signed-in user); the catalog reads below trust it."""
    g.content_version = token


def _current_token() -> str | None:
    token = g.get("content_version", _UNREAD) if has_request_context() else _UNREAD
    if token is _UNREAD:
        token = db.session.scalar(select(content_token_column()))
        if has_request_context():
            g.content_version = token
    return token


def _entries() -> dict:
    """This app's cache for the current token: emptied when the token is not the one it was filled for."""
    token = _current_token()
    cache = current_app.extensions.setdefault("content_catalog", {"token": _UNREAD, "entries": {}})
    if cache["token"] != token:
        cache = current_app.extensions["content_catalog"] = {"token": token, "entries": {}}
    return cache["entries"]


def _cached(key, load):
    entries = _entries()
    if key not in entries:
        entries[key] = load()
    return entries[key]


# Reads.
def _load_courses() -> dict[int, CourseView]:
    courses = db.session.execute(select(Course)).scalars().all()
    modules: dict[int, list[TrainingModule]] = {c.id: [] for c in courses}
    for module in db.session.execute(
        select(TrainingModule).where(TrainingModule.retired.is_(False)).order_by(TrainingModule.position)
    ).scalars():
        modules[module.course_id].append(module)
    return {c.id: _course_view(c, modules[c.id]) for c in courses}


def courses_by_id() -> dict[int, CourseView]:
    """Every course, published or not (an old attempt names its course), with its modules in order."""
    return _cached("courses", _load_courses)


def course(course_id: int) -> CourseView:
    return courses_by_id()[course_id]


def published_courses() -> tuple[CourseView, ...]:
    """The published courses by title."""
    return _cached(
        "published",
        lambda: tuple(sorted((c for c in courses_by_id().values() if c.published), key=lambda c: c.title)),
    )


def published_course(slug: str) -> CourseView | None:
    by_slug = _cached("published_by_slug", lambda: {c.slug: c for c in published_courses()})
    return by_slug.get(slug)


def question_versions(ids) -> dict[int, QuestionVersionView]:
    """These question versions with their options; those not kept yet are read in one go."""
    known = _cached("versions", dict)
    missing = [i for i in ids if i not in known]
    if missing:
        rows = db.session.execute(
            select(QuestionVersion)
            .where(QuestionVersion.id.in_(missing))
            .options(selectinload(QuestionVersion.options))
        ).scalars()
        known.update({v.id: _version_view(v) for v in rows})
    return {i: known[i] for i in ids}


def drawable_versions(course_id: int) -> tuple[QuestionVersionView, ...]:
    """The current versions of a course's published questions, by question key: what a new attempt draws from."""

    def load():
        rows = (
            db.session.execute(
                select(QuestionVersion)
                .join(Question, Question.current_version_id == QuestionVersion.id)
                .where(Question.course_id == course_id, Question.status == "published")
                .order_by(Question.key)
                .options(joinedload(QuestionVersion.options))
            )
            .unique()
            .scalars()
        )
        views = tuple(_version_view(v) for v in rows)
        _cached("versions", dict).update({v.id: v for v in views})
        return views

    return _cached(("drawable", course_id), load)


def _question_text(version: QuestionVersionView) -> str:
    options = (f"{o.text} {o.feedback}" for o in version.options)
    return " ".join([version.scenario, version.prompt, *options, version.explanation, *version.tags])


def module_of_question(course_id: int, version: QuestionVersionView) -> ModuleView | None:
    """The module of the course that teaches what this question asks about (content/topics.py), kept per process."""
    modules = {m.id: m for m in course(course_id).modules}

    def index():
        return topics.index_modules({m.id: f"{m.title} {m.summary} {m.body}" for m in modules.values()})

    found = _cached(("module_of_question", course_id), dict)
    if version.id not in found:
        found[version.id] = topics.closest_module(_cached(("topics", course_id), index), _question_text(version))
    return modules.get(found[version.id])


# Writes: a new token in the transaction of any catalog write.
def _writes_catalog(session: Session) -> bool:
    return any(isinstance(o, CATALOG_MODELS) for o in session.new | session.deleted) or any(
        isinstance(o, CATALOG_MODELS) and session.is_modified(o) for o in session.dirty
    )


def _bump_on_catalog_write(session: Session, _flush_context, _instances) -> None:
    if session.info.get(_BUMPED) or not _writes_catalog(session):
        return
    token, now = uuid4().hex, utcnow()
    connection = session.connection()
    changed = connection.execute(update(ContentVersion).values(token=token, changed_at=now)).rowcount
    if not changed:
        connection.execute(insert(ContentVersion).values(id=1, token=token, changed_at=now))
    session.info[_BUMPED] = session.get_nested_transaction() or session.get_transaction()
    if has_request_context():
        g.content_version = token


def _transaction_ended(session: Session, transaction) -> None:
    """The token is written once per transaction; again if the savepoint that wrote it ends."""
    if session.info.get(_BUMPED) is transaction:
        session.info.pop(_BUMPED)


event.listen(db.session, "before_flush", _bump_on_catalog_write)
event.listen(db.session, "after_transaction_end", _transaction_ended)
