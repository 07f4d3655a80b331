"""Plain, immutable descriptions of content as written in files (no Flask, no database)."""

import hashlib
import json
from dataclasses import asdict, dataclass, field

from training import question_types

QUESTION_TYPES = question_types.names()


@dataclass(frozen=True)
class OptionSpec:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class QuestionSpec:
    id: str
    type: str
    prompt: str
    options: tuple[OptionSpec, ...]
    explanation: str
    scenario: str = ""
    tags: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    def content_hash(self) -> str:
        """Fingerprint of everything a learner sees; a change makes a new question version."""
        return _fingerprint(asdict(self))


@dataclass(frozen=True)
class ModuleSpec:
    slug: str
    position: int
    title: str
    body: str
    summary: str = ""


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    title: str
    summary: str
    pass_mark: int
    questions_per_attempt: int
    certificate_validity_months: int
    estimated_minutes: int
    modules: tuple[ModuleSpec, ...] = ()
    questions: tuple[QuestionSpec, ...] = ()

    def content_hash(self) -> str:
        """Fingerprint of what a completion of this course means; a change makes a new version."""
        return _fingerprint(asdict(self))


@dataclass(frozen=True)
class ContentError:
    path: str
    message: str
    line: int | None = None
    question_id: str | None = None

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        what = f" question {self.question_id}:" if self.question_id else ""
        return f"{where}:{what} {self.message}"


@dataclass(frozen=True)
class ContentBundle:
    courses: tuple[CourseSpec, ...] = ()
    errors: tuple[ContentError, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.errors


def _fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
