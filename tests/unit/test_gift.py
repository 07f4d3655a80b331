"""The GIFT reader and writer, and the YAML bank writer: pure, no app."""

from pathlib import Path

import pytest

from training.authoring.bankfile import NotText, decode_upload, format_for, parse_yaml_bank
from training.authoring.gift import escape, parse_gift, unescape, write_gift
from training.config import PROJECT_ROOT
from training.content.loader import _Errors, parse_question_bank
from training.content.schema import OptionSpec, QuestionSpec
from training.content.writer import dump_question_bank

SHIPPED_BANKS = sorted(Path(PROJECT_ROOT / "quizzes").glob("*.yaml"))


def shipped(path: Path) -> list[QuestionSpec]:
    errors = _Errors(str(path))
    specs = parse_question_bank(path.read_text(encoding="utf-8"), errors)
    assert not errors.items and specs
    return specs


def one(text: str):
    bank = parse_gift(text)
    assert not bank.problems, bank.problems
    assert len(bank.questions) == 1
    return bank.questions[0].spec


def test_the_shipped_banks_exist():
    assert len(SHIPPED_BANKS) >= 2


@pytest.mark.parametrize("path", SHIPPED_BANKS, ids=lambda p: p.name)
def test_gift_round_trips_every_shipped_question(path):
    specs = shipped(path)
    bank = parse_gift(write_gift(specs, "A heading line"))
    assert not bank.problems and not bank.skipped
    assert bank.specs == specs


@pytest.mark.parametrize("path", SHIPPED_BANKS, ids=lambda p: p.name)
def test_yaml_dump_round_trips_every_shipped_question(path):
    specs = shipped(path)
    text = dump_question_bank(specs)
    errors = _Errors("dump")
    assert parse_question_bank(text, errors) == specs and not errors.items
    assert "scenario: |" in text  # multi-line text in literal block style


AWKWARD = QuestionSpec(
    id="awkward-text",
    type="true_false",
    scenario=(
        "First paragraph with {braces}, a = sign, a ~ tilde and a # hash.\n\n\n"
        "Third: C:\\temp and \\n\n// not a comment\n  indented"
    ),
    prompt="Is 2 + 2 = 4?\n\nAnswer in one word: true or false.",
    options=(OptionSpec("False", False, "No: see ::title:: rules."), OptionSpec("True", True, "Yes.\nOn two lines.")),
    explanation="Because #maths.\n\n$CATEGORY: not a category",
    tags=("maths", "escapes"),
    references=("Reference, with a comma",),
)


def test_round_trip_keeps_special_characters_blank_lines_and_order():
    assert parse_gift(write_gift([AWKWARD])).specs == [AWKWARD]


def test_escapes():
    assert unescape(r"a\~b\=c\#d\{e\}f\:g\\h\ni\q") == "a~b=c#d{e}f:g\\h\ni\\q"
    assert unescape(escape("x ~ = # { } : \\ y")) == "x ~ = # { } : \\ y"


def test_multiple_choice_with_feedback_title_and_general_feedback():
    spec = one(
        "// a plain comment is ignored\n"
        "::Hand hygiene 1::A nurse finishes with one patient.\\n\nWhat next?{\n"
        "=Clean hands#Right: before the next patient.\n"
        "~Nothing#Hands carry germs.\n"
        "####Clean hands between patients.}\n"
    )
    assert spec.id == "hand-hygiene-1"
    assert spec.type == "single"
    assert spec.scenario == "A nurse finishes with one patient."
    assert spec.prompt == "What next?"
    assert spec.options == (
        OptionSpec("Clean hands", True, "Right: before the next patient."),
        OptionSpec("Nothing", False, "Hands carry germs."),
    )
    assert spec.explanation == "Clean hands between patients."


def test_multiple_answer_weights_become_correct_flags_with_a_notice():
    bank = parse_gift(
        "::Pick two::Which are identifiers?{~%50%Name#Yes. ~%50%Address#Yes. ~%-100%Blood type#No.####Names.}"
    )
    spec = bank.questions[0].spec
    assert spec.type == "multiple"
    assert [o.correct for o in spec.options] == [True, True, False]
    assert "all or nothing" in bank.notices[0].message


def test_true_false_feedback_wrong_then_right():
    spec = one("::tf::The sky is green.{F#It is blue, not green.#Right, it is not green.####Look up.}")
    assert spec.type == "true_false"
    assert spec.options == (
        OptionSpec("True", False, "It is blue, not green."),
        OptionSpec("False", True, "Right, it is not green."),
    )
    assert one("::tf2::Water is wet.{TRUE#No.#Yes.####Wet.}").options[0] == OptionSpec("True", True, "Yes.")


@pytest.mark.parametrize("value", ["0", "50", "x", "\u00b2"])
def test_an_unusable_prompt_paragraphs_comment_means_one_paragraph(value):
    bank = parse_gift(f"// prompt paragraphs: {value}\n::p::Which one?{{=a#x~b#y####z}}\n")
    assert bank.questions[0].spec.prompt == "Which one?"


def test_categories_and_tag_comments_become_tags():
    bank = parse_gift(
        "$CATEGORY: $course$/top/Default for Ward Training/Privacy Basics/Photos\n\n"
        "// tags: consent\n// reference: 45 CFR 164.508\n"
        "::Photo consent::Can you post it?{=No#Right.~Yes#No.####Ask first.}\n"
    )
    spec = bank.questions[0].spec
    assert spec.tags == ("privacy-basics", "photos", "consent")
    assert spec.references == ("45 CFR 164.508",)


def test_formats_and_html_is_stripped_with_a_notice():
    assert one("::m1::[markdown]**Bold** text?{=a#x~b#y####z}").prompt == "**Bold** text?"
    assert one("::p1::[plain]Plain?{=a#x~b#y####z}").prompt == "Plain?"
    bank = parse_gift("::h1::[html]<p>Is <b>this</b> safe?</p><script>alert(1)</script>{=a#x~b#y####z}")
    assert bank.questions[0].spec.prompt == "Is this safe?"
    assert "HTML" in bank.notices[0].message


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("::e::Write an essay.{}", "essay"),
        ("::m::Match.{=a -> 1 =b -> 2 =c -> 3}", "matching"),
        ("::n::How many?{#4:1}", "numeric"),
        ("::s::Capital of France?{=Paris =paris}", "short-answer"),
        ("::w::Moodle costs {~lots =nothing} to download.", "missing word"),
        ("::d::Just a description.", "description"),
    ],
)
def test_unsupported_types_are_skipped_with_their_line(text, what):
    bank = parse_gift("::fine::Fine?{=a#x~b#y####z}\n\n// between\n" + text + "\n\n::also::Also?{=a#x~b#y####z}")
    assert [q.spec.id for q in bank.questions] == ["fine", "also"]
    assert not bank.problems
    assert len(bank.skipped) == 1 and bank.skipped[0].line == 4
    assert what in bank.skipped[0].message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("::a::Unclosed?{=a#x~b#y", "not closed"),
        ("::title without end\nText{=a#x~b#y####z}", "title is not closed"),
        ("::b::Weight?{~%150%a#x~%-100%b#y####z}", "outside -100% to 100%"),
        ("::c::One option?{=a#x####z}", "short-answer"),
        ("::d::No feedback?{=a~b#y####z}", "write #feedback"),
        ("::e::No explanation?{=a#x~b#y}", "general feedback"),
        ("::f::Two right?{=a#x=b#y~c#z####z}", "exactly one correct"),
        ("::g::Too many?{=1#x~2#x~3#x~4#x~5#x~6#x~7#x~8#x~9#x####z}", "options must be a list of 2 to 8"),
        ("::h::" + "x" * 301 + "{=a#x~b#y####z}", "longer than 300"),
        ("::i::Same texts?{=a#x~a#y####z}", "same text appears twice"),
        ("::j::Stray?{text =a#x~b#y####z}", "text before the first answer"),
    ],
)
def test_malformed_questions_are_problems_with_a_line(text, message):
    bank = parse_gift("\n\n" + text)
    found = bank.problems or bank.skipped
    assert found and all(p.line == 3 for p in found)
    assert any(message in p.message for p in found), found


def test_titles_are_made_unique_and_untitled_questions_get_ids():
    bank = parse_gift(
        "::Same::One?{=a#x~b#y####z}\n\n::Same::Two?{=a#x~b#y####z}\n\nWhat now?{=a#x~b#y####z}",
        reserved_ids={"hs-what-now"},
        id_prefix="hs",
    )
    assert [q.spec.id for q in bank.questions] == ["same", "same-2", "hs-what-now-2"]
    assert any("also used at line 1" in n.message for n in bank.notices)


def test_decoding_and_formats():
    assert decode_upload("\ufeffa\r\nb".encode()) == "a\nb"
    with pytest.raises(NotText, match="byte 4 \\(on line 2\\)"):
        decode_upload(b"ab\n\xff")
    assert format_for("Bank.YML") == "yaml" and format_for("bank.txt") == "gift"
    assert format_for("bank.txt", "yaml") == "yaml" and format_for("bank.doc") is None


def test_yaml_bank_problems_have_lines_and_duplicates_are_refused():
    text = dump_question_bank(shipped(SHIPPED_BANKS[0])[:2])
    bank = parse_yaml_bank(text + "\n" + text.split("\n\n")[0] + "\n")
    assert len(bank.questions) == 2
    assert any("duplicate id" in p.message and p.line for p in bank.problems)
    assert parse_yaml_bank("- id: [unclosed").problems[0].line == 1
    assert "YAML list" in parse_yaml_bank("id: x").problems[0].message


def test_a_yaml_option_without_feedback_does_not_lose_the_correct_count():
    bank = parse_yaml_bank(
        "- id: yaml-no-feedback\n  type: single\n  prompt: Which one?\n  explanation: Because.\n  options:\n"
        "    - {text: Right, correct: true}\n    - {text: Wrong, correct: false, feedback: No.}\n"
    )
    assert [(p.line, p.message) for p in bank.problems] == [(6, "option 1: feedback is required")]
