"""Moodle GIFT question files: read them into question specs and write specs back as GIFT.

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

`write_gift` writes the comment lines `// tags: ...`, `// reference: ...` (and, when needed,
`// true-false order: ...` and `// prompt paragraphs: N`) that `parse_gift` reads back, so
`parse_gift(write_gift(specs)).specs == specs` for every question the app can hold.
"""

import html
import re
import unicodedata
from dataclasses import dataclass, field

import nh3

from training import question_types
from training.authoring.transfer.bankfile import ParsedBank, ParsedQuestion, Problem
from training.content.loader import LINE_KEY, QUESTION_ID_RE, _Errors, validate_question
from training.content.schema import QuestionSpec
from training.question_types.base import GIFT_CHOICE, GIFT_TRUE_FALSE, GIFT_WEIGHTED_CHOICE
from training.urls import is_number

SPECIAL = "~=#{}:"
FORMAT_RE = re.compile(r"^\s*\[(markdown|plain|moodle|html)\]", re.IGNORECASE)
WEIGHT_RE = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
TRUE_FALSE_RE = re.compile(r"^(T|TRUE|F|FALSE)\s*(#.*)?$", re.DOTALL)
CATEGORY_RE = re.compile(r"^\$CATEGORY:(.*)$")
SKIPPED_CATEGORY_SEGMENTS = {"$course$", "$system$", "$module$", "$cat1$", "$cat2$", "$cat3$", "top"}
COMMENT_TAGS, COMMENT_REFERENCE = "tags:", "reference:"
COMMENT_ORDER, COMMENT_PARAGRAPHS = "true-false order:", "prompt paragraphs:"
OPTION_MESSAGE_RE = re.compile(r"^option (\d+): (.*)$", re.DOTALL)
UNSUPPORTED = {
    "essay": "an essay (an answer block without answers) is not supported",
    "numeric": "a numeric question ({#...}) is not supported",
    "matching": "a matching question (answers with ->) is not supported",
    "short_answer": "a short-answer question (only = answers) is not supported",
}
TYPE_OF_GIFT_KIND = {kind.gift_kind: kind.name for kind in question_types.QUESTION_TYPES.values()}


# --- Reading ------------------------------------------------------------------------------------


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


@dataclass
class _Block:
    """One question's lines (a run of non-blank lines), with the comments our export writes."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    false_first: bool = False
    prompt_paragraphs: int = 1


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
    for block in _blocks(text):
        if block.lines and CATEGORY_RE.match(block.lines[0][1].strip()):
            category = _category_tags(CATEGORY_RE.match(block.lines[0][1].strip()).group(1))
            block.lines = block.lines[1:]
        if block.lines:
            _read_question(reader, block, category)
    return reader


def _blocks(text: str):
    block = _Block()
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            if block.lines:
                yield block
            block = _Block()
        elif stripped.startswith("//"):
            _read_comment(block, stripped[2:].strip())
        else:
            block.lines.append((number, line))
    if block.lines:
        yield block


def _read_comment(block: _Block, comment: str) -> None:
    lowered = comment.lower()
    if lowered.startswith(COMMENT_TAGS):
        block.tags += [t.strip() for t in comment[len(COMMENT_TAGS) :].split(",") if t.strip()]
    elif lowered.startswith(COMMENT_REFERENCE):
        reference = comment[len(COMMENT_REFERENCE) :].strip()
        if reference:
            block.references.append(reference)
    elif lowered.startswith(COMMENT_ORDER):
        block.false_first = lowered[len(COMMENT_ORDER) :].strip().startswith("false")
    elif lowered.startswith(COMMENT_PARAGRAPHS):
        value = comment[len(COMMENT_PARAGRAPHS) :].strip()
        block.prompt_paragraphs = int(value) if is_number(value) and 0 < int(value) < 50 else 1


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


class _Where:
    """Maps an offset in a question's joined text back to its line in the file."""

    def __init__(self, lines: list[tuple[int, str]]):
        self.starts, offset = [], 0
        for number, line in lines:
            self.starts.append((offset, number))
            offset += len(line) + 1

    def line(self, offset: int) -> int:
        found = self.starts[0][1]
        for start, number in self.starts:
            if start > offset:
                break
            found = number
        return found


def _read_question(reader: _Reader, block: _Block, category: list[str]) -> None:
    source = "\n".join(line for _, line in block.lines)
    where = _Where(block.lines)
    line = block.lines[0][0]

    def problem(message: str, at: int | None = None) -> None:
        reader.problems.append(Problem(at or line, message))

    title, rest, rest_at = None, source, 0
    if source.lstrip().startswith("::"):
        begin = source.index("::") + 2
        end = _find(source, "::", begin)
        if end < 0:
            return problem("the title is not closed: write ::title:: before the question text")
        title, rest, rest_at = unescape(source[begin:end]).strip(), source[end + 2 :], end + 2
    start = _find(rest, "{")
    if start < 0:
        reader.skipped.append(Problem(line, "a description (text without an answer block { }) is not a question"))
        return
    end = _find(rest, "}", start + 1)
    if end < 0:
        return problem("the answer block is not closed: a '{' has no matching '}'", where.line(rest_at + start))
    if 0 <= _find(rest, "{", start + 1) < end:
        return problem("a '{' inside the answer block: write \\{ for a literal brace", where.line(rest_at + start))
    after = rest[end + 1 :]
    if _find(after, "{") >= 0:
        return problem("more than one answer block: put a blank line between questions")
    before, body, body_at = rest[:start], rest[start + 1 : end], rest_at + start + 1
    split = _find(body, "####")
    answers, explanation = (body, None) if split < 0 else (body[:split], body[split + 4 :])
    kind = _answer_kind(answers)
    if kind in UNSUPPORTED:
        reader.skipped.append(Problem(line, UNSUPPORTED[kind]))
        return
    if after.strip():
        shown = _shortened(" ".join(after.split()))
        message = f'missing word (the text "{shown}" after the answer block) is not supported'
        reader.skipped.append(Problem(line, message))
        return
    stated = (_true_false if kind == GIFT_TRUE_FALSE else _choice)(answers, body_at, where, reader, line)
    if stated is not None:
        gift_kind, options, feedback_hint = stated
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
    reader: _Reader, block: _Block, category: list[str], title: str | None, line: int, stated: _Stated
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


def _answer_kind(answers: str) -> str:
    """What the answer block holds, read as Moodle reads it: essay, numeric, true_false, matching, short_answer
    or choice (Moodle's multiple choice, one = answer or answers weighted with ~%n%)."""
    stripped = answers.strip()
    if not stripped:
        return "essay"
    if stripped.startswith("#"):
        return "numeric"
    if TRUE_FALSE_RE.match(stripped):
        return GIFT_TRUE_FALSE
    if _find(answers, "->") >= 0:
        return "matching"
    if {marker for marker, _, _ in _split_answers(answers)} == {"="}:
        return "short_answer"
    return GIFT_CHOICE


def _choice(answers: str, body_at: int, where: _Where, reader: _Reader, line: int):
    """(GIFT kind, [(line, text, correct, feedback)], hint) as written, or None when malformed: one = answer
    is GIFT_CHOICE, weights alone GIFT_WEIGHTED_CHOICE."""
    parts = _split_answers(answers)
    lead = answers[: parts[0][1]] if parts else answers
    if lead.strip():
        reader.problems.append(
            Problem(where.line(body_at), "text before the first answer: start each answer with = (right) or ~ (wrong)")
        )
        return None
    markers = {marker for marker, _, _ in parts}
    options, positive_wrong = [], False
    for marker, start, raw in parts:
        at = where.line(body_at + start)
        weight, raw = _weight(raw)
        if weight is not None and not -100 <= weight <= 100:
            reader.problems.append(Problem(at, f"the weight {weight:g}% is outside -100% to 100%"))
            return None
        cut = _find(raw, "#")
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
            reader.notices.append(Problem(line, "partial credit on ~ answers was dropped: only the = answer is right"))
        return GIFT_CHOICE, options, hint
    reader.weighted += 1
    return GIFT_WEIGHTED_CHOICE, options, hint


def _true_false(answers: str, body_at: int, where: _Where, reader: _Reader, line: int):
    stripped = answers.strip()
    bits = _split_on(stripped, "#")
    if len(bits) > 3:
        reader.problems.append(Problem(line, "a true/false answer has at most two feedbacks: {T#wrong#right}"))
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
    starts = [(i, answers[i]) for i in _unescaped_positions(answers) if answers[i] in "=~"]
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


# --- Escapes ------------------------------------------------------------------------------------


def _unescaped_positions(text: str):
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        yield i
        i += 1


def _find(text: str, token: str, start: int = 0) -> int:
    for i in _unescaped_positions(text):
        if i >= start and text.startswith(token, i):
            return i
    return -1


def _split_on(text: str, char: str) -> list[str]:
    bits, last = [], 0
    for i in _unescaped_positions(text):
        if text[i] == char:
            bits.append(text[last:i])
            last = i + 1
    return [*bits, text[last:]]


def unescape(text: str) -> str:
    """GIFT escapes: \\~ \\= \\# \\{ \\} \\: \\\\ and \\n (a line break); any other backslash stays."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following in SPECIAL or following == "\\":
                out.append(following)
            elif following == "n":
                out.append("\n")
            else:
                out.append(char + following)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def escape(text: str) -> str:
    """Escape GIFT's special characters; line breaks that would end the question become \\n."""
    escaped = text.replace("\\", "\\\\")
    for char in SPECIAL:
        escaped = escaped.replace(char, "\\" + char)
    lines = escaped.split("\n")
    out = lines[0]
    for line in lines[1:]:
        risky = not line.strip() or line.lstrip().startswith(("//", "$CATEGORY"))
        out += ("\\n" if risky else "\n") + line
    return out


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slugify(text: str, limit: int) -> str:
    """Lowercase letters, digits and single hyphens, at most `limit` characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")
    return slug[:limit].strip("-")


# --- Writing ------------------------------------------------------------------------------------


def write_question(spec: QuestionSpec) -> str:
    """One question in GIFT, preceded by the comments that carry what GIFT has no place for."""
    lines = []
    if spec.tags:
        lines.append(f"// tags: {', '.join(spec.tags)}")
    lines += [f"// reference: {' '.join(reference.split())}" for reference in spec.references]
    question_type = question_types.get(spec.type)
    if question_type.gift_kind == GIFT_TRUE_FALSE and spec.options and spec.options[0].text == "False":
        lines.append("// true-false order: False, True")
    paragraphs = len(re.findall(r"\n[ \t]*\n", spec.prompt)) + 1
    if paragraphs > 1:
        lines.append(f"// prompt paragraphs: {paragraphs}")
    text = f"{spec.scenario}\n\n{spec.prompt}" if spec.scenario else spec.prompt
    lines.append(f"::{spec.id}::[markdown]{escape(text)} {{")
    lines += question_type.gift_answer_lines(spec.options, escape)
    lines.append(f"####{escape(spec.explanation)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_gift(specs, heading: str = "") -> str:
    """A GIFT file of the questions, a blank line between them (Moodle reads it as Markdown text)."""
    head = "".join(f"// {line}\n" for line in heading.splitlines() if line.strip())
    return head + ("\n" if head else "") + "\n".join(write_question(spec) for spec in specs)
