from datetime import UTC, datetime, timedelta

import pytest

from training.config import load_config
from training.policies import rules

OPENED = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "title, slug",
    [
        ("Social Media Policy", "social-media-policy"),
        ("  Use of Phones & Cameras (2026) ", "use-of-phones-cameras-2026"),
        ("Política de privacidad: Señales", "politica-de-privacidad-senales"),
        ("---", ""),
        ("x" * 80, "x" * 64),
        ("a" * 63 + " b", "a" * 63),
    ],
)
def test_slugify_makes_a_short_ascii_address(title, slug):
    assert rules.slugify(title) == slug


@pytest.mark.parametrize(
    "slug, problem",
    [
        ("social-media", None),
        ("v2", None),
        ("", "Enter an address"),
        ("Social", "lower-case"),
        ("a--b", "single hyphens"),
        ("-a", "lower-case"),
        ("a/b", "lower-case"),
        ("manage", "used by the site"),
        ("new", "used by the site"),
        ("a" * 65, "at most 64"),
    ],
)
def test_slug_problems_are_explained(slug, problem):
    found = rules.slug_problem(slug)
    assert (found is None) if problem is None else (problem in found)


def test_text_with_other_line_endings_or_trailing_spaces_has_the_same_hash():
    text = "## Rules\n\n- Never post patient photos.\n"
    assert rules.content_hash(text) == rules.content_hash("\r\n## Rules  \r\n\r\n- Never post patient photos.\r\n\r\n")
    assert rules.content_hash(text) != rules.content_hash(text.replace("Never", "Do not"))
    assert len(rules.content_hash(text)) == 64
    assert rules.normalise_body("a \r\nb\r\n\r\n") == "a\nb"


def test_default_statement_names_title_and_version():
    assert (
        rules.default_statement("Social Media Policy", 3)
        == "I have read and will follow Social Media Policy, version 3."
    )
    assert len(rules.default_statement("x" * 600, 1)) == rules.STATEMENT_MAX


@pytest.mark.parametrize(
    "elapsed, minimum, left",
    [
        (timedelta(0), 60, 60),
        (timedelta(seconds=59.2), 60, 1),
        (timedelta(seconds=60), 60, 0),
        (timedelta(hours=2), 60, 0),
        (timedelta(0), 0, 0),
    ],
)
def test_seconds_left_rounds_up_and_stops_at_zero(elapsed, minimum, left):
    assert rules.seconds_left(OPENED, minimum, OPENED + elapsed) == left


@pytest.mark.parametrize(
    "seconds, words",
    [(0, "0 seconds"), (1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (150, "2 minutes 30 seconds")],
)
def test_reading_time_in_words(seconds, words):
    assert rules.reading_time(seconds) == words


def test_minimum_reading_time_setting_defaults_to_a_minute_and_refuses_nonsense(monkeypatch, tmp_path):
    monkeypatch.delenv("POLICY_MIN_READING_SECONDS", raising=False)
    assert load_config(str(tmp_path), {"SECRET_KEY": "x"})["POLICY_MIN_READING_SECONDS"] == 60
    monkeypatch.setenv("POLICY_MIN_READING_SECONDS", "0")
    assert load_config(str(tmp_path), {"SECRET_KEY": "x"})["POLICY_MIN_READING_SECONDS"] == 0
    for bad in ("3601", "-5", "a minute"):
        monkeypatch.setenv("POLICY_MIN_READING_SECONDS", bad)
        with pytest.raises(ValueError, match="POLICY_MIN_READING_SECONDS"):
            load_config(str(tmp_path), {"SECRET_KEY": "x"})
