"""What changed between two versions of a question, word by word, for the history page. Pure."""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from training.content.schema import QuestionSpec

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "removed" or "added"
    text: str


@dataclass(frozen=True)
class FieldChange:
    label: str
    changed: bool
    segments: tuple[Segment, ...]


def _options_text(spec: QuestionSpec) -> str:
    lines = []
    for number, option in enumerate(spec.options, start=1):
        mark = "correct" if option.correct else "incorrect"
        lines.append(f"{number}. ({mark}) {option.text}\n   Feedback: {option.feedback}")
    return "\n".join(lines)


def _fields(spec: QuestionSpec) -> list[tuple[str, str]]:
    return [
        ("Type", spec.type),
        ("Scenario", spec.scenario),
        ("Question", spec.prompt),
        ("Options", _options_text(spec)),
        ("Explanation", spec.explanation),
        ("Tags", ", ".join(spec.tags)),
        ("References", "\n".join(spec.references)),
    ]


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Segments that turn `old` into `new`: unchanged runs, removed words and added words."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("removed", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("added", "".join(b[j1:j2])))
    return tuple(segments)


def diff_versions(old: QuestionSpec, new: QuestionSpec) -> list[FieldChange]:
    """Every field of the question with its word-level changes (unchanged fields are marked so)."""
    return [
        FieldChange(label, before != after, word_diff(before, after))
        for (label, before), (_, after) in zip(_fields(old), _fields(new), strict=True)
    ]
