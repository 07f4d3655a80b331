"""Uploaded question files, read without Flask or a database: decoding, the format, YAML banks.

The GIFT reader (training/authoring/transfer/gift/reader.py) returns the same `ParsedBank`, so the import pages
treat both formats alike: questions with the line they start on, problems that block the import,
questions skipped because the app cannot hold them, and notices (a change worth knowing about).
"""

from dataclasses import dataclass, field

from training.content.loader import LINE_KEY, _Errors, parse_yaml, validate_question
from training.content.schema import QuestionSpec

FORMATS = ("yaml", "gift")
EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".gift": "gift", ".txt": "gift"}


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str
    question_id: str | None = None


@dataclass(frozen=True)
class ParsedQuestion:
    line: int | None
    spec: QuestionSpec


@dataclass(frozen=True)
class ParsedBank:
    questions: tuple[ParsedQuestion, ...] = ()
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()
    notices: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def specs(self) -> list[QuestionSpec]:
        return [q.spec for q in self.questions]


class NotText(ValueError):
    """The upload is not UTF-8 text; the message says where."""


def decode_upload(data: bytes) -> str:
    """UTF-8 text (a byte order mark is dropped; CRLF becomes LF), or NotText naming the line and byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NotText(
            f"The file is not UTF-8 text: byte {exc.start + 1} (on line {line}) is not valid UTF-8. "
            "Save the file as UTF-8 and upload it again."
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise NotText(f"The file contains a NUL character on line {line}: it looks like a binary file, not text.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def format_for(filename: str, chosen: str = "") -> str | None:
    """The format chosen, else the one the file name's extension implies (None when neither says)."""
    if chosen in FORMATS:
        return chosen
    name = (filename or "").lower()
    for extension, kind in EXTENSIONS.items():
        if name.endswith(extension):
            return kind
    return None


def parse_yaml_bank(text: str) -> ParsedBank:
    """A bank in the quizzes/ format, checked question by question with the content files' rules."""
    errors = _Errors("upload")
    raw = parse_yaml(text, errors)
    if raw is None and not errors.items:
        errors.add("the file is empty", line=1)
    elif raw is not None and not isinstance(raw, list):
        errors.add("a question bank must be a YAML list of questions (each starting with '- id: ...')", line=1)
        raw = []
    questions, seen = [], {}
    for index, item in enumerate(raw or [], start=1):
        spec = validate_question(item, errors, index)
        if spec is None:
            continue
        line = item[LINE_KEY]
        if spec.id in seen:
            errors.add(f"duplicate id (also at line {seen[spec.id]})", line=line, question_id=spec.id)
            continue
        seen[spec.id] = line
        questions.append(ParsedQuestion(line, spec))
    problems = tuple(Problem(e.line, e.message, e.question_id) for e in errors.items)
    return ParsedBank(questions=tuple(questions), problems=problems)
