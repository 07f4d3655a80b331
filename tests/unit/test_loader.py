"""Content validation: every mistake is reported with its file, line or question id."""

import re
import textwrap

import pytest

from tests.conftest import COURSE_YAML, question_yaml
from training.content.loader import load_content


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def tree(tmp_path):
    modules, quizzes = tmp_path / "modules", tmp_path / "quizzes"
    write(modules / "c1" / "course.yaml", COURSE_YAML.format(title="C1", pass_mark=80, per_attempt=2))
    write(modules / "c1" / "01-intro.md", "---\ntitle: Intro\n---\n## Hello\n\nBody.\n")
    write(modules / "c1" / "02-photos.md", "---\ntitle: Photos\nsummary: About photos.\n---\nBody.\n")
    write(
        quizzes / "c1.yaml",
        question_yaml("c1-a") + question_yaml("c1-b", "multiple") + question_yaml("c1-c", "true_false"),
    )
    return tmp_path


def load(tree):
    return load_content(tree / "modules", tree / "quizzes", root=tree)


def messages(bundle):
    return [str(e) for e in bundle.errors]


def test_valid_tree_loads_courses_modules_and_questions(tree):
    bundle = load(tree)
    assert bundle.ok, messages(bundle)
    (course,) = bundle.courses
    assert course.slug == "c1" and course.pass_mark == 80 and course.questions_per_attempt == 2
    assert [m.title for m in course.modules] == ["Intro", "Photos"]
    assert course.modules[1].summary == "About photos."
    assert [q.id for q in course.questions] == ["c1-a", "c1-b", "c1-c"]
    question = course.questions[1]
    assert question.type == "multiple" and sum(o.correct for o in question.options) == 2
    assert question.references == ("45 CFR 164.502(b) minimum necessary",)


def test_module_order_follows_the_numeric_prefix_not_the_name(tree):
    write(tree / "modules" / "c1" / "10-later.md", "---\ntitle: Later\n---\nBody.\n")
    write(tree / "modules" / "c1" / "3-third.md", "---\ntitle: Third\n---\nBody.\n")
    assert [m.title for m in load(tree).courses[0].modules] == ["Intro", "Photos", "Third", "Later"]


def test_content_hash_changes_when_a_question_changes(tree):
    before = load(tree).courses[0]
    bank = tree / "quizzes" / "c1.yaml"
    bank.write_text(bank.read_text().replace("The general lesson.", "A better lesson.", 1))
    after = load(tree).courses[0]
    assert before.questions[0].content_hash() != after.questions[0].content_hash()
    assert before.questions[1].content_hash() == after.questions[1].content_hash()
    assert before.content_hash() != after.content_hash()


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "correct: true",
            "correct: false",
            "question c1-a: a single question needs exactly one correct option (found 0)",
        ),
        ("type: single", "type: essay", "question c1-a: type must be one of single, multiple, true_false"),
        ("  prompt: What should you do in c1-a?\n", "", "question c1-a: prompt is required"),
        (
            "feedback: Feedback for right answer.",
            "feedback: ''",
            "question c1-a: option 1: feedback must be non-empty text",
        ),
        ('text: "Wrong answer one"', 'text: "Right answer"', "question c1-a: option 2: the same text appears twice"),
        ("tags: [photos]", "tags: [Photos Here]", "question c1-a: tags: 'Photos Here' must be lowercase"),
        (
            "  explanation: The general lesson.\n",
            "  explanation: The general lesson.\n  hint: x\n",
            "unknown key 'hint'",
        ),
    ],
)
def test_question_mistakes_name_file_line_and_id(tree, old, new, expected):
    bank = tree / "quizzes" / "c1.yaml"
    bank.write_text(bank.read_text().replace(old, new, 1))
    bundle = load(tree)
    assert not bundle.ok
    assert any(expected in m for m in messages(bundle)), messages(bundle)
    assert all(re.match(r"quizzes/c1\.yaml:\d+: ", m) for m in messages(bundle)), messages(bundle)
    assert bundle.courses == ()


def test_error_in_a_later_question_gives_its_line(tree):
    bank = tree / "quizzes" / "c1.yaml"
    text = bank.read_text()
    line = text.splitlines().index("- id: c1-c") + 1
    bank.write_text(text.replace("- id: c1-c\n  type: true_false", "- id: c1-c\n  type: multiple-ish"))
    (error,) = load(tree).errors
    assert error.line == line and error.question_id == "c1-c"


def test_true_false_needs_true_and_false_options(tree):
    bank = tree / "quizzes" / "c1.yaml"
    bank.write_text(bank.read_text().replace('text: "False"', 'text: "Maybe"'))
    assert any("exactly two options, 'True' and 'False'" in m for m in messages(load(tree)))


def test_duplicate_question_ids_are_reported_with_both_lines(tree):
    bank = tree / "quizzes" / "c1.yaml"
    bank.write_text(bank.read_text() + question_yaml("c1-a"))
    errors = messages(load(tree))
    assert any("duplicate id (also at line 1)" in m and "c1-a" in m for m in errors), errors


def test_broken_yaml_reports_the_line(tree):
    bank = tree / "quizzes" / "c1.yaml"
    bank.write_text("- id: x\n  prompt: [unclosed\n  type: single\n")
    (error,) = load(tree).errors
    assert error.path == "quizzes/c1.yaml" and error.line is not None and "not valid YAML" in error.message


def test_bank_that_is_not_a_list_is_explained(tree):
    (tree / "quizzes" / "c1.yaml").write_text("questions:\n  - id: x\n")
    assert "must be a YAML list" in messages(load(tree))[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("title: C1\n", "summary: is required"),
        (COURSE_YAML.format(title="C1", pass_mark=180, per_attempt=2), "pass_mark: must be between 1 and 100"),
        (COURSE_YAML.format(title="C1", pass_mark="eighty", per_attempt=2), "pass_mark: must be a whole number"),
        (
            COURSE_YAML.format(title="C1", pass_mark=80, per_attempt=9),
            "questions_per_attempt is 9 but the bank has only 3",
        ),
        (COURSE_YAML.format(title="C1", pass_mark=80, per_attempt=2) + "colour: blue\n", "unknown setting 'colour'"),
    ],
)
def test_course_settings_are_checked(tree, text, expected):
    (tree / "modules" / "c1" / "course.yaml").write_text(text)
    errors = messages(load(tree))
    assert any(expected in m and m.startswith("modules/c1/course.yaml") for m in errors), errors


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("03-no-front.md", "Just text\n", "modules/c1/03-no-front.md:1: missing front matter"),
        ("03-no-title.md", "---\nsummary: x\n---\nBody\n", "modules/c1/03-no-title.md:2: title is required"),
        ("03-empty.md", "---\ntitle: Empty\n---\n\n", "module has no text"),
        ("Intro.md", "---\ntitle: x\n---\nBody\n", "module file names must look like NN-short-title.md"),
        ("01-clash.md", "---\ntitle: x\n---\nBody\n", "numeric prefix 1 is also used by 01-"),
    ],
)
def test_module_mistakes_are_reported(tree, name, text, expected):
    write(tree / "modules" / "c1" / name, text)
    errors = messages(load(tree))
    assert any(expected in m for m in errors), errors


def test_missing_bank_and_orphan_bank_are_reported(tree):
    (tree / "quizzes" / "c1.yaml").rename(tree / "quizzes" / "other.yaml")
    errors = messages(load(tree))
    assert any("quizzes/c1.yaml: question bank missing" in m for m in errors), errors
    assert any("quizzes/other.yaml: no course folder modules/other/" in m for m in errors), errors


def test_question_ids_are_unique_across_courses(tree):
    write(tree / "modules" / "c2" / "course.yaml", COURSE_YAML.format(title="C2", pass_mark=80, per_attempt=1))
    write(tree / "modules" / "c2" / "01-intro.md", "---\ntitle: Intro\n---\nBody.\n")
    write(tree / "quizzes" / "c2.yaml", question_yaml("c1-a"))
    errors = messages(load(tree))
    assert any("c1-a" in m and "ids are unique across banks" in m for m in errors), errors
