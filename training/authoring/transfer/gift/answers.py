"""The answer block of a GIFT question, read as Moodle reads it: its kind, and the options of a choice or true/false."""

import re

from training.authoring.transfer.bankfile import Problem
from training.authoring.transfer.gift.blocks import Where
from training.authoring.transfer.gift.escapes import find_unescaped, split_unescaped, unescaped_positions
from training.question_types.base import GIFT_CHOICE, GIFT_TRUE_FALSE, GIFT_WEIGHTED_CHOICE

WEIGHT_RE = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
TRUE_FALSE_RE = re.compile(r"^(T|TRUE|F|FALSE)\s*(#.*)?$", re.DOTALL)
UNSUPPORTED = {
    "essay": "an essay (an answer block without answers) is not supported",
    "numeric": "a numeric question ({#...}) is not supported",
    "matching": "a matching question (answers with ->) is not supported",
    "short_answer": "a short-answer question (only = answers) is not supported",
}


def answer_kind(answers: str) -> str:
    """What the answer block holds, read as Moodle reads it: essay, numeric, true_false, matching, short_answer
    or choice (Moodle's multiple choice, one = answer or answers weighted with ~%n%)."""
    stripped = answers.strip()
    if not stripped:
        return "essay"
    if stripped.startswith("#"):
        return "numeric"
    if TRUE_FALSE_RE.match(stripped):
        return GIFT_TRUE_FALSE
    if find_unescaped(answers, "->") >= 0:
        return "matching"
    if {marker for marker, _, _ in _split_answers(answers)} == {"="}:
        return "short_answer"
    return GIFT_CHOICE


def read_choice(answers: str, body_at: int, where: Where, problems: list[Problem], notices: list[Problem], line: int):
    """(GIFT kind, [(line, text, correct, feedback)], hint) as written, or None when malformed (the problem is
    added to `problems`): one = answer is GIFT_CHOICE, weights alone GIFT_WEIGHTED_CHOICE."""
    parts = _split_answers(answers)
    lead = answers[: parts[0][1]] if parts else answers
    if lead.strip():
        problems.append(
            Problem(where.line(body_at), "text before the first answer: start each answer with = (right) or ~ (wrong)")
        )
        return None
    markers = {marker for marker, _, _ in parts}
    options, positive_wrong = [], False
    for marker, start, raw in parts:
        at = where.line(body_at + start)
        weight, raw = _weight(raw)
        if weight is not None and not -100 <= weight <= 100:
            problems.append(Problem(at, f"the weight {weight:g}% is outside -100% to 100%"))
            return None
        cut = find_unescaped(raw, "#")
        text, feedback = (raw, None) if cut < 0 else (raw[:cut], raw[cut + 1 :])
        if "=" in markers:
            correct = marker == "="
            positive_wrong = positive_wrong or (marker == "~" and (weight or 0) > 0)
        else:
            correct = (weight or 0) > 0
        options.append((at, text, correct, feedback))
    hint = "write #feedback after the answer"
    if "=" in markers:
        if positive_wrong:
            notices.append(Problem(line, "partial credit on ~ answers was dropped: only the = answer is right"))
        return GIFT_CHOICE, options, hint
    return GIFT_WEIGHTED_CHOICE, options, hint


def read_true_false(answers: str, body_at: int, where: Where, problems: list[Problem], line: int):
    stripped = answers.strip()
    bits = split_unescaped(stripped, "#")
    if len(bits) > 3:
        problems.append(Problem(line, "a true/false answer has at most two feedbacks: {T#wrong#right}"))
        return None
    word = bits[0].strip()
    value = word in ("T", "TRUE")
    wrong = bits[1] if len(bits) > 1 else None
    right = bits[2] if len(bits) > 2 else None
    answer_line = where.line(body_at + answers.index(stripped[0]))
    options = [
        (answer_line, "True", value, right if value else wrong),
        (answer_line, "False", not value, wrong if value else right),
    ]
    wrong_text, right_text = ("False", "True") if value else ("True", "False")
    return GIFT_TRUE_FALSE, options, f"write {{{word}#feedback for {wrong_text}#feedback for {right_text}}}"


def _split_answers(answers: str) -> list[tuple[str, int, str]]:
    """[(marker, offset of the marker, raw text after it)] at each unescaped = or ~."""
    starts = [(i, answers[i]) for i in unescaped_positions(answers) if answers[i] in "=~"]
    parts = []
    for n, (i, marker) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(answers)
        parts.append((marker, i, answers[i + 1 : end]))
    return parts


def _weight(raw: str) -> tuple[float | None, str]:
    match = WEIGHT_RE.match(raw)
    if not match:
        return None, raw
    return float(match.group(1)), raw[match.end() :]
