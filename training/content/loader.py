"""Read course folders and question banks into specs, collecting every mistake with its place.

Nothing here touches Flask or the database: the sync service decides what to do with the result.
"""

import re
from pathlib import Path

import yaml

from training import question_types
from training.content.schema import (
    QUESTION_TYPES,
    ContentBundle,
    ContentError,
    CourseSpec,
    ModuleSpec,
    OptionSpec,
    QuestionSpec,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
QUESTION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MODULE_FILE_RE = re.compile(r"^(\d{1,3})-([a-z0-9][a-z0-9-]*)\.md$")
FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?\n)---\s*\n", re.DOTALL)

LINE_KEY = "__line__"
MIN_OPTIONS, MAX_OPTIONS = 2, 8
MAX_PROMPT, MAX_OPTION, MAX_FEEDBACK, MAX_TEXT = 300, 300, 1000, 5000

COURSE_FIELDS = {
    "title": (str, 200),
    "summary": (str, 500),
    "pass_mark": (int, (1, 100)),
    "questions_per_attempt": (int, (1, 100)),
    "certificate_validity_months": (int, (1, 120)),
    "estimated_minutes": (int, (1, 1000)),
}


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records, in every mapping, the line where it starts."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE_KEY] = node.start_mark.line + 1
        return mapping


class _Errors:
    """Collects errors for one file, so validators can say where without passing paths around."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[ContentError] = []

    def add(self, message: str, line: int | None = None, question_id: str | None = None) -> None:
        self.items.append(ContentError(self.path, message, line, question_id))


def parse_yaml(text: str, errors: _Errors):
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        errors.add(f"not valid YAML: {problem}", line=mark.line + 1 if mark else None)
        return None


def load_content(modules_dir: Path, quizzes_dir: Path, root: Path | None = None) -> ContentBundle:
    """Load every course folder in `modules_dir` with its bank in `quizzes_dir`."""
    root = root or Path(modules_dir).parent
    courses, errors = [], []
    course_dirs = sorted(p for p in Path(modules_dir).iterdir() if p.is_dir()) if Path(modules_dir).is_dir() else []
    for course_dir in course_dirs:
        course, course_errors = load_course(course_dir, Path(quizzes_dir), root)
        errors.extend(course_errors)
        if course:
            courses.append(course)
    known = {p.name for p in course_dirs}
    for bank in sorted(Path(quizzes_dir).glob("*.yaml")) if Path(quizzes_dir).is_dir() else []:
        if bank.stem not in known:
            errors.append(ContentError(_rel(bank, root), f"no course folder modules/{bank.stem}/ for this bank"))
    errors.extend(_duplicate_question_ids(courses))
    return ContentBundle(courses=tuple(courses), errors=tuple(errors))


def load_course(course_dir: Path, quizzes_dir: Path, root: Path) -> tuple[CourseSpec | None, list[ContentError]]:
    errors = _Errors(_rel(course_dir / "course.yaml", root))
    slug = course_dir.name
    if not SLUG_RE.match(slug):
        errors.add(f"folder name {slug!r} is not a valid course slug (lowercase letters, digits, hyphens)")
    settings = _load_course_settings(course_dir / "course.yaml", errors)
    modules, module_errors = _load_modules(course_dir, root)
    bank_path = quizzes_dir / f"{slug}.yaml"
    bank_errors = _Errors(_rel(bank_path, root))
    questions = load_question_bank(bank_path, bank_errors) if bank_path.exists() else []
    if not bank_path.exists():
        bank_errors.add("question bank missing: every course needs quizzes/<course-slug>.yaml")
    all_errors = errors.items + module_errors + bank_errors.items
    if settings and not modules and not module_errors:
        errors.add("course has no modules (add NN-title.md files)")
        all_errors = errors.items + bank_errors.items
    if settings and questions and settings["questions_per_attempt"] > len(questions):
        all_errors.append(
            ContentError(
                errors.path,
                f"questions_per_attempt is {settings['questions_per_attempt']} "
                f"but the bank has only {len(questions)} questions",
            )
        )
    if all_errors or settings is None:
        return None, all_errors
    return CourseSpec(slug=slug, modules=tuple(modules), questions=tuple(questions), **settings), []


def _load_course_settings(path: Path, errors: _Errors) -> dict | None:
    if not path.exists():
        errors.add("course.yaml missing")
        return None
    raw = parse_yaml(path.read_text(encoding="utf-8"), errors)
    if raw is None and not errors.items:
        errors.add("course.yaml is empty")
    if not isinstance(raw, dict):
        if raw is not None:
            errors.add("course.yaml must be a mapping of settings")
        return None
    line = raw.pop(LINE_KEY, None)
    settings = {}
    for key in sorted(set(raw) - set(COURSE_FIELDS)):
        errors.add(f"unknown setting {key!r}", line=line)
    for key, (kind, limit) in COURSE_FIELDS.items():
        value = raw.get(key)
        message = _check_value(value, kind, limit)
        if message:
            errors.add(f"{key}: {message}", line=line)
        else:
            settings[key] = value.strip() if kind is str else value
    return settings if len(settings) == len(COURSE_FIELDS) else None


def _check_value(value, kind, limit) -> str | None:
    if value is None:
        return "is required"
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        low, high = limit
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None
    if not isinstance(value, str) or not value.strip():
        return "must be non-empty text"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    return None


def _load_modules(course_dir: Path, root: Path) -> tuple[list[ModuleSpec], list[ContentError]]:
    modules, errors = [], []
    positions: dict[int, str] = {}
    for path in sorted(course_dir.glob("*.md")):
        file_errors = _Errors(_rel(path, root))
        match = MODULE_FILE_RE.match(path.name)
        if not match:
            file_errors.add("module file names must look like NN-short-title.md (lowercase, digits, hyphens)")
            errors.extend(file_errors.items)
            continue
        position, slug = int(match.group(1)), match.group(2)
        if position in positions:
            file_errors.add(f"numeric prefix {position} is also used by {positions[position]}")
        positions[position] = path.name
        module = parse_module(path.read_text(encoding="utf-8"), slug, position, file_errors)
        errors.extend(file_errors.items)
        if module:
            modules.append(module)
    return sorted(modules, key=lambda m: m.position), errors


def parse_module(text: str, slug: str, position: int, errors: _Errors) -> ModuleSpec | None:
    """Split a module file into its front matter (title, optional summary) and Markdown body."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        errors.add("missing front matter: start the file with ---, a line 'title: ...', and ---", line=1)
        return None
    meta = parse_yaml(match.group(1), errors)
    if meta is None:
        return None
    if not isinstance(meta, dict):
        errors.add("front matter must be a mapping with a title", line=2)
        return None
    meta.pop(LINE_KEY, None)
    for key in sorted(set(meta) - {"title", "summary"}):
        errors.add(f"unknown front matter key {key!r}", line=2)
    title_problem = _check_value(meta.get("title"), str, 200)
    if title_problem:
        errors.add(f"title {title_problem}", line=2)
    summary = meta.get("summary") or ""
    if not isinstance(summary, str) or len(summary) > 300:
        errors.add("summary must be text of at most 300 characters", line=2)
    body = text[match.end() :].strip()
    if not body:
        errors.add("module has no text after the front matter", line=text[: match.end()].count("\n") + 1)
    if errors.items:
        return None
    return ModuleSpec(slug=slug, position=position, title=meta["title"].strip(), body=body, summary=summary.strip())


def load_question_bank(path: Path, errors: _Errors) -> list[QuestionSpec]:
    return parse_question_bank(path.read_text(encoding="utf-8"), errors)


def parse_question_bank(text: str, errors: _Errors) -> list[QuestionSpec]:
    """Parse a YAML list of questions; every problem is recorded with its line and question id."""
    raw = parse_yaml(text, errors)
    if raw is None:
        if not errors.items:
            errors.add("the question bank is empty")
        return []
    if not isinstance(raw, list):
        errors.add("a question bank must be a YAML list of questions (each starting with '- id: ...')", line=1)
        return []
    questions, seen = [], {}
    for index, item in enumerate(raw, start=1):
        question = validate_question(item, errors, index)
        if question is None:
            continue
        if question.id in seen:
            errors.add(f"duplicate id (also at line {seen[question.id]})", line=item[LINE_KEY], question_id=question.id)
            continue
        seen[question.id] = item[LINE_KEY]
        questions.append(question)
    return questions if not errors.items else []


QUESTION_KEYS = {"id", "type", "scenario", "prompt", "options", "explanation", "tags", "references"}


def validate_question(item, errors: _Errors, index: int) -> QuestionSpec | None:
    """Check one question mapping against the rules in docs/authoring.md."""
    if not isinstance(item, dict):
        errors.add(f"item {index} is not a question mapping")
        return None
    line = item.get(LINE_KEY)
    qid = item.get("id")
    before = len(errors.items)

    def fail(message: str, at: int | None = None) -> None:
        errors.add(message, line=at or line, question_id=qid if isinstance(qid, str) else None)

    for key in sorted(set(item) - QUESTION_KEYS - {LINE_KEY}):
        fail(f"unknown key {key!r}")
    if not isinstance(qid, str) or not QUESTION_ID_RE.match(qid):
        fail("id is required: 3-64 lowercase letters, digits and hyphens")
    qtype = item.get("type")
    if qtype not in QUESTION_TYPES:
        fail(f"type must be one of {', '.join(QUESTION_TYPES)}")
    texts = {}
    for key, limit, required in (
        ("prompt", MAX_PROMPT, True),
        ("explanation", MAX_TEXT, True),
        ("scenario", MAX_TEXT, False),
    ):
        value = item.get(key)
        if value is None and not required:
            texts[key] = ""
            continue
        problem = _check_value(value, str, limit)
        if problem:
            fail(f"{key} {problem}")
        else:
            texts[key] = value.strip()
    tags = _string_list(item.get("tags"), "tags", fail, pattern=TAG_RE, max_items=10)
    references = _string_list(item.get("references"), "references", fail, max_items=5, max_len=200)
    options = _validate_options(item.get("options"), qtype, fail)
    if len(errors.items) > before:
        return None
    return QuestionSpec(
        id=qid,
        type=qtype,
        prompt=texts["prompt"],
        options=options,
        explanation=texts["explanation"],
        scenario=texts["scenario"],
        tags=tags,
        references=references,
    )


def _string_list(value, key, fail, pattern=None, max_items=10, max_len=100) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        fail(f"{key} must be a list of non-empty text items")
        return ()
    if len(value) > max_items:
        fail(f"{key} has more than {max_items} items")
    for v in value:
        if pattern and not pattern.match(v):
            fail(f"{key}: {v!r} must be lowercase letters, digits and hyphens")
        elif len(v) > max_len:
            fail(f"{key}: an item is longer than {max_len} characters")
    return tuple(v.strip() for v in value)


def _validate_options(raw, qtype, fail) -> tuple[OptionSpec, ...]:
    if not isinstance(raw, list) or not MIN_OPTIONS <= len(raw) <= MAX_OPTIONS:
        fail(f"options must be a list of {MIN_OPTIONS} to {MAX_OPTIONS} options")
        return ()
    options, texts = [], set()
    for number, option in enumerate(raw, start=1):
        if not isinstance(option, dict):
            fail(f"option {number} must be a mapping with text, correct and feedback")
            continue
        at = option.get(LINE_KEY)
        for key in sorted(set(option) - {"text", "correct", "feedback", LINE_KEY}):
            fail(f"option {number}: unknown key {key!r}", at)
        text, feedback, correct = option.get("text"), option.get("feedback"), option.get("correct")
        for key, value, limit in (("text", text, MAX_OPTION), ("feedback", feedback, MAX_FEEDBACK)):
            problem = _check_value(value, str, limit)
            if problem:
                fail(f"option {number}: {key} {problem}", at)
        if not isinstance(correct, bool):
            fail(f"option {number}: correct must be true or false", at)
        if isinstance(text, str):
            key = text.strip().casefold()
            if key in texts:
                fail(f"option {number}: the same text appears twice", at)
            texts.add(key)
        if isinstance(text, str) and isinstance(feedback, str) and isinstance(correct, bool):
            options.append(OptionSpec(text=text.strip(), correct=correct, feedback=feedback.strip()))
    _check_type_rules(raw, qtype, fail)
    return tuple(options)


def _check_type_rules(raw: list, qtype, fail) -> None:
    """The question type's option rules, over every option as written, so an option with another problem
    (no feedback) still counts.

    A rule that an unreadable flag or text leaves unknown is not checked: that option's own problem says it,
    as validate_question says an unknown type.
    """
    if qtype not in QUESTION_TYPES:
        return
    flags = [option.get("correct") if isinstance(option, dict) else None for option in raw]
    texts = [option.get("text") if isinstance(option, dict) else None for option in raw]
    known_flags = flags if all(isinstance(flag, bool) for flag in flags) else None
    known_texts = texts if all(isinstance(text, str) for text in texts) else None
    for problem in question_types.get(qtype).validate_options(known_texts, known_flags):
        fail(problem.in_file)


def _duplicate_question_ids(courses: list[CourseSpec]) -> list[ContentError]:
    owner, errors = {}, []
    for course in courses:
        for question in course.questions:
            if question.id in owner:
                errors.append(
                    ContentError(
                        f"quizzes/{course.slug}.yaml",
                        f"id is also used in quizzes/{owner[question.id]}.yaml; ids are unique across banks",
                        question_id=question.id,
                    )
                )
            owner.setdefault(question.id, course.slug)
    return errors


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
