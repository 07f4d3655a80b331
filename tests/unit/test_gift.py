"""The GIFT reader and writer, and the YAML bank writer: pure, no app."""

import re
from pathlib import Path

import pytest

from tests.moodle_gift import moodle_gift_samples
from training.authoring.transfer.bankfile import NotText, decode_upload, format_for, parse_yaml_bank
from training.authoring.transfer.gift.escapes import escape, unescape
from training.authoring.transfer.gift.reader import parse_gift, read_gift
from training.authoring.transfer.gift.writer import write_gift
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


# Issue 17.5: a missing #feedback is reported as itself, not as a lost correct answer.

GRANTS_TOMB = "Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}"
GRANTS_TOMB_TF = "Grant is buried in Grant's tomb.{FALSE}"
NO_EXPLANATION = "explanation is required: add general feedback (####...) before the closing }"


def messages(bank) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in bank.problems]


def test_a_right_answer_without_feedback_is_still_the_right_answer():
    assert messages(parse_gift(GRANTS_TOMB)) == [
        (1, NO_EXPLANATION),
        (1, 'option 1 ("Grant"): feedback is required: write #feedback after the answer'),
        (1, 'option 2 ("Jefferson"): feedback is required: write #feedback after the answer'),
        (1, 'option 3 ("no one"): feedback is required: write #feedback after the answer'),
    ]


def test_a_true_false_answer_without_feedback_is_not_malformed():
    assert messages(parse_gift(GRANTS_TOMB_TF)) == [
        (1, NO_EXPLANATION),
        (1, 'option 1 ("True"): feedback is required: write {FALSE#feedback for True#feedback for False}'),
        (1, 'option 2 ("False"): feedback is required: write {FALSE#feedback for True#feedback for False}'),
    ]


def test_only_the_options_without_feedback_are_reported_each_on_its_line():
    bank = parse_gift("::grant::Who is buried there?{\n~Grant#He is.\n~Jefferson\n=no one#Right.\n####Both.}")
    assert messages(bank) == [(3, 'option 2 ("Jefferson"): feedback is required: write #feedback after the answer')]
    assert messages(parse_gift("::tf::Grant is buried there.{T#No.####Yes.}")) == [
        (1, 'option 1 ("True"): feedback is required: write {T#feedback for False#feedback for True}')
    ]


def test_a_yaml_option_without_feedback_does_not_lose_the_correct_count():
    bank = parse_yaml_bank(
        "- id: yaml-no-feedback\n  type: single\n  prompt: Which one?\n  explanation: Because.\n  options:\n"
        "    - {text: Right, correct: true}\n    - {text: Wrong, correct: false, feedback: No.}\n"
    )
    assert [(p.line, p.message) for p in bank.problems] == [(6, "option 1: feedback is required")]


# Issue 17.6: [plain], [html], [markdown] and [moodle] are format markers, never text.

MOODLE_Q2 = """\
::Q2:: What's between orange and green in the spectrum?
{
    =yellow # right; good!
    ~red # [html]wrong, it's yellow
    ~[plain]blue # wrong, it's yellow
    ####[moodle]Yellow lies between them.
}"""


def test_format_markers_on_answers_feedback_and_general_feedback_are_dropped():
    spec = one(MOODLE_Q2)
    assert spec.prompt == "What's between orange and green in the spectrum?"
    assert spec.options == (
        OptionSpec("yellow", True, "right; good!"),
        OptionSpec("red", False, "wrong, it's yellow"),
        OptionSpec("blue", False, "wrong, it's yellow"),
    )
    assert spec.explanation == "Yellow lies between them."


def test_weights_then_markers_and_true_false_feedback_markers():
    spec = one(
        "::colours::Which?{~%50%yellow#[plain]yes ~%-100%[plain]blue#[html]<i>no</i> ~%50%[moodle]lime#yes####x}"
    )
    assert [(o.text, o.correct, o.feedback) for o in spec.options] == [
        ("yellow", True, "yes"),
        ("blue", False, "no"),
        ("lime", True, "yes"),
    ]
    spec = one(
        "::tf::42 is the answer.{FALSE#[html]<b>42</b> is the Ultimate Answer.#[plain]Right.####[markdown]**Yes**}"
    )
    assert spec.options == (
        OptionSpec("True", False, "42 is the Ultimate Answer."),
        OptionSpec("False", True, "Right."),
    )
    assert spec.explanation == "**Yes**"


def test_markdown_is_kept_and_an_unknown_marker_is_text():
    spec = one("::md::[markdown]Which is **bold**?{=[markdown]**this**#[markdown]_yes_ ~[latex]that#no####z}")
    assert spec.prompt == "Which is **bold**?"
    assert [(o.text, o.feedback) for o in spec.options] == [("**this**", "_yes_"), ("[latex]that", "no")]


def test_html_answers_and_feedback_become_text_and_scripts_are_dropped():
    bank = parse_gift(
        "::h2::Which tag?{=[html]<b>bold</b><script>alert(1)</script>#[html]&lt;script&gt; is shown as text"
        " ~[html]<img src\\=x onerror\\=alert(2)>plain#[html]<style>p \\{color: red\\}</style>no####[html]<p>Why</p>}"
    )
    spec = bank.questions[0].spec
    assert [(o.text, o.feedback) for o in spec.options] == [
        ("bold", "<script> is shown as text"),
        ("plain", "no"),
    ]
    assert spec.explanation == "Why"
    assert [n.message for n in bank.notices] == ["HTML was removed: the question is imported as plain text"]


# Moodle's own samples (tests/moodle_gift.py finds them), question by question as Moodle's
# question/format/gift/tests/giftformat_test.php and the GIFT rules read them. The app takes `=` as the
# only right answer of a single-choice question (Moodle's partial credit on `~%50%` is dropped, with a
# notice), a positive weight as a right answer of a multiple-answer one, and [html] as plain text.


def on(line: int, *options) -> tuple:
    """Options written on the question's own line."""
    return tuple((line, *option) for option in options)


def grants_tomb(line: int) -> tuple:
    options = on(line, ("Grant", False, None), ("Jefferson", False, None), ("no one", True, None))
    return "single", "Who's buried in Grant's tomb?", options


def true_false(line: int, text: str, answer: bool, true_feedback=None, false_feedback=None) -> tuple:
    return "true_false", text, on(line, ("True", answer, true_feedback), ("False", not answer, false_feedback))


def feedback_example(line: int) -> tuple:
    options = (
        (line + 1, "wrong answer", False, "feedback comment on the wrong answer"),
        (line + 2, "another wrong answer", False, "feedback comment on this wrong answer"),
        (line + 3, "right answer", True, "Very good!"),
    )
    return "single", "What's the answer to this multiple-choice question?", options


def partial_credit(line: int) -> tuple:
    options = (
        (line + 1, "wrong answer", False, "comment on wrong answer"),
        (line + 2, "half credit answer", False, "comment on answer"),
        (line + 3, "full credit answer", True, "well done!"),
    )
    return "single", "Difficult multiple choice question.", options


def control_characters(line: int) -> tuple:
    indent = "\n" + " " * 14
    last = (
        f"Correct! \\ (backslash) is not a control character. BUT,{indent}it is used to escape the control"
        f" characters. So, to specify{indent}a literal backslash, you must escape it with a backslash{indent}"
        "(as shown in this example)."
    )
    wrong = [(line + 2 + n, char, False, f"{char} is a control character.") for n, char in enumerate("~=#{}")]
    options = (*wrong, (line + 7, "\\", True, last))
    return "single", "Which of the following is NOT a control character for the GIFT import format?", options


def two_people(line: int) -> tuple:
    texts = [("No one", False), ("Grant", True), ("Grant's wife", True), ("Grant's father", False)]
    options = tuple((line + 1 + n, text, correct, None) for n, (text, correct) in enumerate(texts))
    return "multiple", "What two people are entombed in Grant's tomb?", options


GRANT_FALSE = "Grant is buried in Grant's tomb."
MOODLE_CHOICE_QUESTIONS = {
    "examples-grants-tomb.gift.txt": {1: grants_tomb(1), 3: true_false(3, GRANT_FALSE, False)},
    "examples-feedback.gift.txt": {1: feedback_example(1)},
    "examples-partial-credit.gift.txt": {1: partial_credit(1)},
    "examples-control-characters.gift.txt": {1: control_characters(1)},
    "examples.txt": {
        8: grants_tomb(8),
        12: true_false(12, GRANT_FALSE, False),
        25: grants_tomb(25),
        35: (
            "single",
            "Japanese characters originally came from what country?",
            tuple((36 + n, text, text == "China", None) for n, text in enumerate(["India", "China", "Korea", "Egypt"])),
        ),
        49: true_false(49, GRANT_FALSE, False),
        51: true_false(51, "The sun rises in the east.", True),
        98: feedback_example(98),
        113: true_false(113, GRANT_FALSE, False, true_feedback="No one is buried in Grant's tomb."),
        115: (
            "single",
            "Difficult question.",
            on(
                115,
                ("wrong answer", False, None),
                ("half credit answer", False, None),
                ("full credit answer", True, None),
            ),
        ),
        130: two_people(130),
        136: two_people(136),
        143: (
            "single",
            "Which answer equals 5?",
            ((144, "= 2 + 2", False, None), (145, "= 2 + 3", True, None), (146, "= 2 + 4", False, None)),
        ),
        148: control_characters(148),
        167: grants_tomb(167),
        171: true_false(171, GRANT_FALSE, False),
        190: partial_credit(190),
    },
    "questions.gift.txt": {
        14: (
            "single",
            "What's between orange and green in the spectrum?",
            (
                (16, "yellow", True, "right; good!"),
                (17, "red", False, "wrong, it's yellow"),
                (18, "blue", False, "wrong, it's yellow"),
            ),
        ),
        22: (
            "multiple",
            "What's between orange and green in the spectrum?",
            (
                (24, "yellow", True, "right; good!"),
                (25, "red", False, "wrong"),
                (26, "off-beige", True, "right; good!"),
                (27, "blue", False, "wrong"),
            ),
        ),
        46: true_false(46, "TSL is blablabla.", True),
        49: true_false(49, "TSL is blablabla.", True),
    },
    "questions_in_category-greeting.gift.txt": {
        5: (
            "single",
            "Listen to this greeting:\n\nWhat language is being spoken?",  # Moodle keeps the HTML link
            (
                (6, "English", False, "Sorry, listen again."),
                (7, "French", True, "Yes, well done!"),
                (8, "German", False, "Sorry, listen again."),
                (9, "Spanish", False, "Sorry, listen again."),
            ),
        ),
    },
}
MISSING_WORD, SHORT, NUMERIC, MATCHING = "missing word", "short-answer", "numeric", "matching"
MOODLE_SKIPPED = {
    "examples.txt": {
        10: MISSING_WORD,
        14: SHORT,
        16: NUMERIC,
        27: MISSING_WORD,
        29: MISSING_WORD,
        43: SHORT,
        45: SHORT,
        55: MATCHING,
        61: MATCHING,
        70: NUMERIC,
        72: NUMERIC,
        74: NUMERIC,
        76: NUMERIC,
        85: NUMERIC,
        90: SHORT,
        93: MISSING_WORD,
        103: SHORT,
        108: SHORT,
        117: MISSING_WORD,
        123: SHORT,
        169: MISSING_WORD,
        173: SHORT,
        175: NUMERIC,
        177: MATCHING,
        184: MISSING_WORD,
        195: SHORT,
        202: NUMERIC,
    },
    # Line 41 is Moodle's true/false test question, followed in this fixture by `";` (left from a PHP
    # string): Moodle reads the text after the block as a missing word too.
    "questions.gift.txt": {2: "essay", 5: MATCHING, 31: NUMERIC, 34: SHORT, 41: MISSING_WORD},
}


def moodle_sample(name: str) -> str:
    return (moodle_gift_samples() / name).read_text(encoding="utf-8")


def test_every_moodle_sample_is_checked():
    assert sorted(p.name for p in moodle_gift_samples().glob("*.txt")) == sorted(MOODLE_CHOICE_QUESTIONS)


@pytest.mark.parametrize("name", sorted(MOODLE_CHOICE_QUESTIONS))
def test_moodle_samples_choice_questions_read_as_moodle_reads_them(name):
    read = read_gift(moodle_sample(name))
    found = {q.line: (q.type, q.text, tuple((o.line, o.text, o.correct, o.feedback) for o in q.options)) for q in read}
    assert found == MOODLE_CHOICE_QUESTIONS[name]
    assert all(q.explanation is None for q in read)  # no sample has general feedback on a question the app reads


@pytest.mark.parametrize("name", sorted(MOODLE_CHOICE_QUESTIONS))
def test_moodle_samples_report_only_what_is_really_missing(name):
    bank = parse_gift(moodle_sample(name))
    expected = []
    for line, (_, _, options) in MOODLE_CHOICE_QUESTIONS[name].items():
        expected.append((line, "explanation is required"))
        expected += [
            (at, f'option {n} ("{text}"): feedback is required')
            for n, (at, text, _, feedback) in enumerate(options, start=1)
            if feedback is None
        ]
    found = [(p.line, re.sub(r": (write|add) .*", "", p.message, flags=re.DOTALL)) for p in bank.problems]
    assert sorted(found) == sorted(expected)
    skipped = {s.line: s.message for s in bank.skipped}
    assert sorted(skipped) == sorted(MOODLE_SKIPPED.get(name, {}))
    for line, kind in MOODLE_SKIPPED.get(name, {}).items():
        assert kind in skipped[line] and "not supported" in skipped[line], (line, skipped[line])


def test_moodles_true_false_test_question_reads_as_moodle_expects():
    (question,) = read_gift(
        "// true/false\n::Q1:: 42 is the Absolute Answer to everything.{\n"
        "FALSE#42 is the Ultimate Answer.#You gave the right answer.}"
    )
    assert (question.line, question.type, question.text) == (
        2,
        "true_false",
        "42 is the Absolute Answer to everything.",
    )
    assert [(o.line, o.text, o.correct, o.feedback) for o in question.options] == [
        (3, "True", False, "42 is the Ultimate Answer."),
        (3, "False", True, "You gave the right answer."),
    ]


def test_the_samples_folder_comes_from_the_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("MOODLE_GIFT_SAMPLES", str(tmp_path))
    assert moodle_gift_samples() == tmp_path
    monkeypatch.setenv("MOODLE_GIFT_SAMPLES", str(tmp_path / "missing"))
    with pytest.raises(pytest.fail.Exception, match="not a folder of Moodle's GIFT samples"):
        moodle_gift_samples()
