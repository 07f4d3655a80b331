"""The words a person is found by and the words of a search (training/auth/words.py)."""

import pytest

from training.auth.words import MAX_QUERY_WORDS, WORD_LENGTH, folded, prefix_end, query_words, words_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zoë Øster", "zoe oster"),
        ("STRASSE Straße", "strasse strasse"),
        ("Łukasz Æsir", "lukasz aesir"),
        ("José", "jose"),
    ],
)
def test_folding_drops_case_and_accents(text, expected):
    assert folded(text) == expected


def test_a_person_is_found_by_the_words_of_their_name_email_and_employee_id():
    assert words_of("Anna Patel-Smith", "a.ps@nhs.example", "E-0042") == {
        "anna", "patel", "smith", "patelsmith", "a", "ps", "nhs", "example", "e", "0042", "e0042",
    }  # fmt: skip
    assert words_of("Seán O'Brien", "sob@example.org", None) >= {"sean", "o", "brien", "obrien"}


def test_a_long_word_is_cut_to_the_column_on_both_sides():
    long_name = "A" + "b" * 100
    (word,) = words_of(long_name, "x@y", None) - {"x", "y"}
    assert len(word) == WORD_LENGTH
    assert query_words(long_name) == [word]


def test_a_search_keeps_its_longest_words_and_drops_one_that_starts_another():
    assert query_words("  Ann  ANNA pat ") == ["anna", "pat"]
    assert query_words("100%") == ["100"]
    assert query_words("% _ -") == []
    assert len(query_words("a bb ccc dddd eeeee ffffff")) == MAX_QUERY_WORDS
    assert query_words("a bb ccc dddd eeeee ffffff") == ["ffffff", "eeeee", "dddd", "ccc"]


@pytest.mark.parametrize("word", ["pat", "patel", "z", "0042", "jos"])
def test_the_prefix_range_holds_exactly_the_words_that_start_with_it(word):
    candidates = ["pat", "pata", "patel", "patz", "pau", "pas", "z", "za", "zz", "0042", "00421", "0043", "jose", "jot"]
    in_range = {candidate for candidate in candidates if word <= candidate < prefix_end(word)}
    assert in_range == {candidate for candidate in candidates if candidate.startswith(word)}
