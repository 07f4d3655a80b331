"""The word diff behind the question history page."""

from training.authoring.questions.diff import Segment, diff_versions, word_diff
from training.authoring.questions.forms import normalise_text, parse_references, parse_tags
from training.content.schema import OptionSpec, QuestionSpec


def spec(**changes):
    base = {
        "id": "q-one",
        "type": "single",
        "prompt": "What should Dana do?",
        "options": (OptionSpec("Post it", False, "No."), OptionSpec("Retake it", True, "Yes.")),
        "explanation": "Keep PHI out of the frame.",
        "scenario": "Dana takes a selfie.",
        "tags": ("photos",),
    }
    return QuestionSpec(**{**base, **changes})


def test_word_diff_marks_removed_and_added_words_and_keeps_the_rest():
    assert word_diff("What should Dana do?", "What must Dana do now?") == (
        Segment("same", "What "),
        Segment("removed", "should"),
        Segment("added", "must"),
        Segment("same", " Dana do"),
        Segment("added", " now"),
        Segment("same", "?"),
    )


def test_identical_text_is_one_unchanged_segment():
    assert word_diff("same text", "same text") == (Segment("same", "same text"),)
    assert word_diff("", "") == ()


def test_diff_versions_reports_each_field_and_which_changed():
    old = spec()
    new = spec(options=(OptionSpec("Post it", False, "No."), OptionSpec("Retake it elsewhere", True, "Yes.")))
    changes = {c.label: c for c in diff_versions(old, new)}
    assert [label for label, c in changes.items() if c.changed] == ["Options"]
    assert Segment("added", " elsewhere") in changes["Options"].segments
    flipped = spec(options=(OptionSpec("Post it", True, "No."), OptionSpec("Retake it", False, "Yes.")))
    options = next(c for c in diff_versions(old, flipped) if c.label == "Options")
    assert Segment("removed", "incorrect") in options.segments and Segment("added", "correct") in options.segments


def test_form_text_helpers_normalise_what_browsers_send():
    assert normalise_text("  line one\r\nline two\r\n ") == "line one\nline two"
    assert normalise_text(None) == ""
    assert parse_tags("Photos, social media,photos, ,") == ["photos", "social-media"]
    assert parse_references(" 45 CFR 164.514(b)\r\n\r\n45 CFR 164.530(c) ") == [
        "45 CFR 164.514(b)",
        "45 CFR 164.530(c)",
    ]
