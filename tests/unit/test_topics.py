"""Which module teaches what a question asks about, derived from the words they share (content/topics.py)."""

from training.content import topics

MODULES = {
    1: "What counts as protected health information. PHI is health information that identifies a patient.",
    2: "De-identification. Removing the eighteen safe harbor identifiers: names, dates, small geographic areas.",
    3: "Reviews and the media. Never confirm that a reviewer was a patient; refer reporters to the press office.",
}


def test_the_module_sharing_the_distinctive_words_is_chosen():
    index = topics.index_modules(MODULES)
    assert topics.closest_module(index, "A reporter calls the unit. What do you tell the press?") == 3
    assert topics.closest_module(index, "Which safe harbor identifiers must go before a story is de-identified?") == 2


def test_words_every_module_uses_decide_nothing():
    index = topics.index_modules({1: "patient care at work", 2: "patient photos at work"})
    assert topics.closest_module(index, "a patient at work, and photos") == 2


def test_a_question_sharing_no_word_has_no_module():
    index = topics.index_modules(MODULES)
    assert topics.closest_module(index, "Lorem ipsum dolor") is None


def test_a_one_module_course_teaches_every_question_it_shares_a_word_with():
    index = topics.index_modules({7: "Photos on the ward."})
    assert topics.closest_module(index, "May I post photos?") == 7


def test_common_english_words_are_left_out():
    assert topics.words("What should you do with THE photo's caption?") == ["photo's", "caption"]
