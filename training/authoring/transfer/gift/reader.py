"""Moodle GIFT question files read into question specs, each checked with the content files' rules.

Pure (no Flask, no database). What maps to what is in docs/authoring.md ("Import and export"):
multiple choice (`{=right ~wrong}`) -> single, multiple answer with weights (`{~%50%a ~%-100%b}`)
-> multiple, true/false (`{T#wrong feedback#right feedback}`) -> true_false; `#feedback` -> option
feedback; `####feedback` -> explanation; `::title::` -> id; `$CATEGORY: a/b` -> tags. The format
markers `[html]`, `[markdown]`, `[plain]` and `[moodle]` are read wherever Moodle reads them (question
text, answers, feedback, general feedback) and never kept as text; `[html]` text becomes plain text
(nh3 strips the tags, scripts and styles with their content). Question types the app cannot hold
(essay, matching, numeric, short answer, missing word, description) are reported with their line and
skipped. Every question is then checked with the content files' own rules
(training/content/loader.validate_question), so a GIFT file can hold nothing a YAML file could not.
"""

import html
import re
import unicodedata
from dataclasses import dataclass

import nh3

from training import question_types
from training.authoring.transfer.bankfile import ParsedBank, ParsedQuestion, Problem
from training.authoring.transfer.gift.answers import UNSUPPORTED, answer_kind, read_choice, read_true_false
from training.authoring.transfer.gift.blocks import Block, Where, read_blocks
from training.authoring.transfer.gift.escapes import find_unescaped, unescape
from training.content.loader import LINE_KEY, QUESTION_ID_RE, _Errors, validate_question
from training.question_types.base import GIFT_TRUE_FALSE, GIFT_WEIGHTED_CHOICE

FORMAT_RE = re.compile(r"^\s*\[(markdown|plain|moodle|html)\]", re.IGNORECASE)
CATEGORY_RE = re.compile(r"^\$CATEGORY:(.*)$")
SKIPPED_CATEGORY_SEGMENTS = {"$course$", "$system$", "$module$", "$cat1$", "$cat2$", "$cat3$", "top"}
OPTION_MESSAGE_RE = re.compile(r"^option (\d+): (.*)$", re.DOTALL)
TYPE_OF_GIFT_KIND = {kind.gift_kind: kind.name for kind in question_types.QUESTION_TYPES.values()}


@dataclass(frozen=True)
class ReadOption:
    line: int
    text: str | None
    correct: bool
    feedback: str | None


@dataclass(frozen=True)
class ReadQuestion:
    """A multiple-choice or true/false question as the file states it: texts without their format markers or
    escapes, [html] as plain text; a true/false answer is the options True and False with their feedback."""

    line: int
    type: str
    text: str
    options: tuple[ReadOption, ...]
    explanation: str | None


class _Reader:
    def __init__(self, reserved_ids, id_prefix: str):
        self.reserved = set(reserved_ids)
        self.id_prefix = id_prefix
        self.questions: list[ParsedQuestion] = []
        self.problems: list[Problem] = []
        self.skipped: list[Problem] = []
        self.notices: list[Problem] = []
        self.used_ids: dict[str, int] = {}
        self.weighted = 0
        self.read: list[ReadQuestion] = []

    def result(self) -> ParsedBank:
        notices = list(self.notices)
        if self.weighted:
            notices.insert(
                0,
                Problem(
                    None,
                    f"{self.weighted} multiple-answer question(s) use answer weights. This app grades them all or "
                    "nothing: answers with a positive weight become the correct options, and a learner must choose "
                    "every correct option and no other.",
                ),
            )
        return ParsedBank(tuple(self.questions), tuple(self.problems), tuple(self.skipped), tuple(notices))


def parse_gift(text: str, *, reserved_ids=(), id_prefix: str = "q") -> ParsedBank:
    """Read GIFT text. Ids made up for untitled questions avoid `reserved_ids` (ids used elsewhere)."""
    return _read_file(text, reserved_ids, id_prefix).result()


def read_gift(text: str) -> tuple[ReadQuestion, ...]:
    """Every multiple-choice and true/false question as the file states it, whether or not it passes the content
    rules: the reading to compare with Moodle's own (tests/unit/test_gift.py does, over Moodle's samples)."""
    return tuple(_read_file(text, (), "q").read)


def _read_file(text: str, reserved_ids, id_prefix: str) -> "_Reader":
    reader = _Reader(reserved_ids, id_prefix)
    category: list[str] = []
    for block in read_blocks(text):
        if block.lines and CATEGORY_RE.match(block.lines[0][1].strip()):
            category = _category_tags(CATEGORY_RE.match(block.lines[0][1].strip()).group(1))
            block.lines = block.lines[1:]
        if block.lines:
            _read_question(reader, block, category)
    return reader


def _category_tags(path: str) -> list[str]:
    tags = []
    for segment in path.split("/"):
        segment = segment.strip()
        if not segment or segment.lower() in SKIPPED_CATEGORY_SEGMENTS or segment.lower().startswith("default for"):
            continue
        tag = slugify(segment, 40)
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _read_question(reader: _Reader, block: Block, category: list[str]) -> None:
    source = "\n".join(line for _, line in block.lines)
    where = Where(block.lines)
    line = block.lines[0][0]

    def problem(message: str, at: int | None = None) -> None:
        reader.problems.append(Problem(at or line, message))

    title, rest, rest_at = None, source, 0
    if source.lstrip().startswith("::"):
        begin = source.index("::") + 2
        end = find_unescaped(source, "::", begin)
        if end < 0:
            return problem("the title is not closed: write ::title:: before the question text")
        title, rest, rest_at = unescape(source[begin:end]).strip(), source[end + 2 :], end + 2
    start = find_unescaped(rest, "{")
    if start < 0:
        reader.skipped.append(Problem(line, "a description (text without an answer block { }) is not a question"))
        return
    end = find_unescaped(rest, "}", start + 1)
    if end < 0:
        return problem("the answer block is not closed: a '{' has no matching '}'", where.line(rest_at + start))
    if 0 <= find_unescaped(rest, "{", start + 1) < end:
        return problem("a '{' inside the answer block: write \\{ for a literal brace", where.line(rest_at + start))
    after = rest[end + 1 :]
    if find_unescaped(after, "{") >= 0:
        return problem("more than one answer block: put a blank line between questions")
    before, body, body_at = rest[:start], rest[start + 1 : end], rest_at + start + 1
    split = find_unescaped(body, "####")
    answers, explanation = (body, None) if split < 0 else (body[:split], body[split + 4 :])
    kind = answer_kind(answers)
    if kind in UNSUPPORTED:
        reader.skipped.append(Problem(line, UNSUPPORTED[kind]))
        return
    if after.strip():
        shown = _shortened(" ".join(after.split()))
        message = f'missing word (the text "{shown}" after the answer block) is not supported'
        reader.skipped.append(Problem(line, message))
        return
    if kind == GIFT_TRUE_FALSE:
        stated = read_true_false(answers, body_at, where, reader.problems, line)
    else:
        stated = read_choice(answers, body_at, where, reader.problems, reader.notices, line)
    if stated is not None:
        gift_kind, options, feedback_hint = stated
        if gift_kind == GIFT_WEIGHTED_CHOICE:
            reader.weighted += 1
        qtype = TYPE_OF_GIFT_KIND[gift_kind]
        _add_question(reader, block, category, title, line, _Stated(before, qtype, options, feedback_hint, explanation))


@dataclass
class _Stated:
    """One question's parts as written (escapes and format markers still in them)."""

    text: str
    type: str
    options: list[tuple[int, str | None, bool, str | None]]
    feedback_hint: str
    explanation: str | None


def _add_question(
    reader: _Reader, block: Block, category: list[str], title: str | None, line: int, stated: _Stated
) -> None:
    """Check the question with the content files' rules; keep it as read either way (`read_gift`)."""
    texts = _Texts()
    texts.default, question_text = texts.read(stated.text)
    read = ReadQuestion(
        line=line,
        type=stated.type,
        text=question_text or "",
        options=tuple(
            ReadOption(at, texts.text(text), correct, texts.text(feedback))
            for at, text, correct, feedback in stated.options
        ),
        explanation=texts.text(stated.explanation),
    )
    reader.read.append(read)
    if texts.html_removed:
        reader.notices.append(Problem(line, "HTML was removed: the question is imported as plain text"))
    scenario, prompt = _split_text(read.text, block.prompt_paragraphs)
    options = list(read.options)
    if question_types.get(read.type).gift_kind == GIFT_TRUE_FALSE and block.false_first:
        options.reverse()
    qid = _question_id(reader, title, prompt, line)
    item = {
        LINE_KEY: line,
        "id": qid,
        "type": read.type,
        "scenario": scenario or None,
        "prompt": prompt or None,
        "options": [{LINE_KEY: o.line, "text": o.text, "correct": o.correct, "feedback": o.feedback} for o in options],
        "explanation": read.explanation,
        "tags": _merge(category, [t.lower() for t in block.tags]) or None,
        "references": block.references or None,
    }
    errors = _Errors("upload")
    spec = validate_question(item, errors, len(reader.questions) + 1)
    for error in errors.items:
        message = _gift_words(error.message, options, stated.feedback_hint)
        reader.problems.append(Problem(error.line, message, qid))
    if spec is not None:
        reader.questions.append(ParsedQuestion(line, spec))


def _split_text(text: str, prompt_paragraphs: int) -> tuple[str, str]:
    """The last paragraph (or the last N) is the prompt; the paragraphs before it are the scenario."""
    breaks = list(re.finditer(r"\n[ \t]*\n", text))
    if len(breaks) < prompt_paragraphs:
        return "", text.strip()
    cut = breaks[-prompt_paragraphs]
    return text[: cut.start()].strip(), text[cut.end() :].strip()


def _question_id(reader: _Reader, title: str | None, prompt: str, line: int) -> str:
    base = slugify(title or "", 64)
    if base and len(base) < 3:
        base = f"{slugify(reader.id_prefix, 10) or 'q'}-{base}"
    if not QUESTION_ID_RE.match(base):
        if title:
            reader.notices.append(Problem(line, f"the title {title[:80]!r} cannot be an id; an id was made up"))
        words = re.findall(r"[a-z0-9]+", _ascii(prompt).lower())[:6]
        base = "-".join([slugify(reader.id_prefix, 10) or "q", *words])[:56].strip("-")
        taken = reader.reserved
    else:
        taken = set()
    qid, n = base, 2
    while qid in reader.used_ids or qid in taken or not QUESTION_ID_RE.match(qid):
        qid = f"{base[:58]}-{n}"
        n += 1
    if qid != base and title and base in reader.used_ids:
        reader.notices.append(
            Problem(line, f"the id {base!r} is also used at line {reader.used_ids[base]}; this question is {qid!r}")
        )
    reader.used_ids[qid] = line
    return qid


def _merge(first: list[str], second: list[str]) -> list[str]:
    merged = []
    for tag in first + second:
        if tag not in merged:
            merged.append(tag)
    return merged


def _gift_words(message: str, options, feedback_hint: str) -> str:
    """The content rules' messages, naming the option by its text, with the GIFT syntax that fixes them."""
    hints = {
        "explanation is required": "explanation is required: add general feedback (####...) before the closing }",
        "prompt is required": "the question text is empty",
    }
    if message in hints:
        return hints[message]
    match = OPTION_MESSAGE_RE.match(message)
    if match and 0 < int(match.group(1)) <= len(options) and options[int(match.group(1)) - 1].text:
        shown = _shortened(options[int(match.group(1)) - 1].text)
        message = f'option {match.group(1)} ("{shown}"): {match.group(2)}'
    if message.endswith("feedback is required"):
        return f"{message}: {feedback_hint}"
    return message


def _shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class _Texts:
    """Reads one question's texts: a leading [format] marker (else the question text's format), the GIFT
    escapes, and [html] turned into plain text. [markdown], [plain] and [moodle] text is kept as written."""

    def __init__(self):
        self.default = "moodle"
        self.html_removed = False

    def read(self, raw: str) -> tuple[str, str | None]:
        kind, rest = self.default, raw
        match = FORMAT_RE.match(raw)
        if match:
            kind, rest = match.group(1).lower(), raw[match.end() :]
        text = unescape(rest)
        if kind == "html":
            plain = _html_to_text(text)
            self.html_removed = self.html_removed or plain.strip() != text.strip()
            text = plain
        return kind, text.strip() or None

    def text(self, raw: str | None) -> str | None:
        return None if raw is None else self.read(raw)[1]


def _html_to_text(value: str) -> str:
    value = re.sub(r"<br\s*/?>", "\n", value, flags=re.IGNORECASE)
    value = re.sub(r"</p\s*>", "\n\n", value, flags=re.IGNORECASE)
    return html.unescape(nh3.clean(value, tags=set()))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slugify(text: str, limit: int) -> str:
    """Lowercase letters, digits and single hyphens, at most `limit` characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")
    return slug[:limit].strip("-")
