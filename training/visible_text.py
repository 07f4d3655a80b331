"""One line of visible text: the rule for a person's name, job title, department and employee id.

Pure (no Flask, no database). These values end up in page titles, certificates, CSV and
spreadsheet exports, emails and audit details. A line break there splits a record or a header; a
bidirectional control (U+202E RIGHT-TO-LEFT OVERRIDE) makes "Nia\u202eredruM" display as "NiaMurder"
and can hide what a value really says; invisible characters make two names that look the same
differ. So these fields refuse every control character (category Cc, tabs and line breaks included),
line and paragraph separators (Zl, Zp), unpaired surrogates (Cs) and every format character (Cf)
except the zero width non-joiner and joiner, which Persian and Indic scripts need to spell names.
Letters, marks, digits, punctuation and spaces of any script are accepted.

A byte order mark (U+FEFF) at the start of a value is what a file saved "with BOM" leaves in a
pasted or concatenated value: `tidy` drops it, with the spaces around the value; anywhere else it
is refused like any other invisible character.
"""

import unicodedata
from dataclasses import dataclass

from wtforms.validators import ValidationError

BYTE_ORDER_MARK = "\ufeff"
BIDIRECTIONAL_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JOINERS = frozenset("\u200c\u200d")
CONTROL_NAMES = {"\t": "tab", "\n": "line feed", "\r": "carriage return", "\x85": "next line"}
OTHER_NAMES = {BYTE_ORDER_MARK: "byte order mark"}


@dataclass(frozen=True)
class TextProblem:
    """The first character a one-line field refuses, described for a person: 'a control character (U+000D, ...)'."""

    kind: str
    character: str

    def __str__(self) -> str:
        article = "an" if self.kind[0] in "aeiou" else "a"
        code = f"U+{ord(self.character):04X}"
        name = self._name()
        return f"{article} {self.kind} ({code}, {name})" if name else f"{article} {self.kind} ({code})"

    def _name(self) -> str:
        """The character's name when it adds something to the kind (control characters have none in Unicode)."""
        name = CONTROL_NAMES.get(self.character) or OTHER_NAMES.get(self.character)
        name = name or unicodedata.name(self.character, "").lower()
        return "" if name == self.kind else name


def tidy(value: str) -> str:
    """The value without surrounding spaces (line breaks included) and without a leading byte order mark."""
    return value.strip().removeprefix(BYTE_ORDER_MARK).strip()


def text_problem(value: str) -> TextProblem | None:
    """The first character that may not be in a one-line field (see the module docstring), or None."""
    for character in value:
        kind = _refused_kind(character)
        if kind:
            return TextProblem(kind, character)
    return None


def _refused_kind(character: str) -> str:
    category = unicodedata.category(character)
    if category == "Cc":
        return "control character"
    if category == "Zl":
        return "line separator"
    if category == "Zp":
        return "paragraph separator"
    if category == "Cs":
        return "unpaired surrogate"
    if character in BIDIRECTIONAL_CONTROLS:
        return "bidirectional text control"
    if category == "Cf" and character not in JOINERS:
        return "invisible formatting character"
    return ""


def tidy_field(value):
    """WTForms filter: `tidy` for text, anything else (None before the form is filled) as it is."""
    return tidy(value) if isinstance(value, str) else value


class VisibleText:
    """WTForms validator: one line of visible text, or an error naming the character, next to the field."""

    def __init__(self, what: str):
        self.what = what

    def __call__(self, form, field) -> None:
        problem = text_problem(field.data) if isinstance(field.data, str) else None
        if problem is not None:
            raise ValidationError(f"The {self.what} contains {problem}. Remove it.")
