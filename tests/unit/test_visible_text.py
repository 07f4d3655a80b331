"""The rule for a person's one-line fields (name, job title, department, employee id) on its own."""

import pytest

from training.visible_text import text_problem, tidy


@pytest.mark.parametrize(
    "character, described",
    [
        ("\r", "a control character (U+000D, carriage return)"),
        ("\n", "a control character (U+000A, line feed)"),
        ("\t", "a control character (U+0009, tab)"),
        ("\x85", "a control character (U+0085, next line)"),
        ("\x1b", "a control character (U+001B)"),
        ("\x7f", "a control character (U+007F)"),
        ("\u2028", "a line separator (U+2028)"),
        ("\u2029", "a paragraph separator (U+2029)"),
        ("\u202a", "a bidirectional text control (U+202A, left-to-right embedding)"),
        ("\u202e", "a bidirectional text control (U+202E, right-to-left override)"),
        ("\u2066", "a bidirectional text control (U+2066, left-to-right isolate)"),
        ("\u2069", "a bidirectional text control (U+2069, pop directional isolate)"),
        ("\u200e", "a bidirectional text control (U+200E, left-to-right mark)"),
        ("\u200f", "a bidirectional text control (U+200F, right-to-left mark)"),
        ("\u061c", "a bidirectional text control (U+061C, arabic letter mark)"),
        ("\ufeff", "an invisible formatting character (U+FEFF, byte order mark)"),
        ("\u200b", "an invisible formatting character (U+200B, zero width space)"),
        ("\u2060", "an invisible formatting character (U+2060, word joiner)"),
        ("\U000e0041", "an invisible formatting character (U+E0041, tag latin capital letter a)"),
        ("\ud800", "an unpaired surrogate (U+D800)"),
    ],
)
def test_hidden_characters_inside_a_value_are_named_by_code_point(character, described):
    problem = text_problem(f"Nia{character}Okafor")
    assert problem is not None and str(problem) == described


def test_the_first_hidden_character_is_the_one_reported():
    assert str(text_problem("a\u202eb\rc")).endswith("(U+202E, right-to-left override)")


@pytest.mark.parametrize(
    "value",
    [
        "Nia Okafor",
        "Zoë Müller-Ørsted",
        "Siobhán O'Connor-Ní Bhriain",
        "D\u2019Angelo Núñez",
        "محمد الأحمد",
        "שרה כהן",
        "王小明",
        "Nguyễn Thị Minh Khai",
        "Ægir Þórsson",
        "علی" + "\u200c" + "اکبر رضایی",  # Persian spells some names with a zero width non-joiner
        "Ravi Kum\u200dar",  # Indic scripts use a zero width joiner for half forms
        "Dr. Émilie (Emmy) St-Pierre, RN",
        "Кардиология / ICU — 3rd floor",
        "E-1001/b",
    ],
)
def test_names_in_any_script_with_accents_apostrophes_and_hyphens_are_fine(value):
    assert text_problem(value) is None


@pytest.mark.parametrize(
    "value, tidied",
    [
        ("\ufeffNia Okafor", "Nia Okafor"),
        ("  \ufeff Nia Okafor \r\n", "Nia Okafor"),
        ("Nia Okafor", "Nia Okafor"),
        ("", ""),
    ],
)
def test_tidy_drops_surrounding_spaces_and_a_leading_byte_order_mark(value, tidied):
    assert tidy(value) == tidied


def test_only_a_leading_byte_order_mark_is_dropped():
    assert tidy("Nia\ufeffOkafor") == "Nia\ufeffOkafor"
    assert text_problem(tidy("\ufeff\ufeffNia")) is not None
