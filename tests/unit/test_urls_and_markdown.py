import re

import pytest

from training.markdown import render_markdown
from training.urls import is_number, is_safe_next


@pytest.mark.parametrize("target", ["/", "/courses/x", "/courses/x?y=1#z"])
def test_own_paths_are_safe(target):
    assert is_safe_next(target)


@pytest.mark.parametrize(
    "target",
    [None, "", "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil", "javascript:alert(1)",
     "courses", "/\t/evil.example", "http:/evil.example"],
)  # fmt: skip
def test_other_sites_and_odd_paths_are_not(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", True),
        ("0042", True),
        ("", False),
        (None, False),
        ("-1", False),
        (" 7", False),
        ("\u00b2", False),
        ("\u0663", False),
        ("\uff11", False),
        ("1.5", False),
    ],
)
def test_is_number_takes_ascii_digits_only(text, expected):
    assert is_number(text) is expected


def test_markdown_renders_headings_lists_and_tables():
    html = render_markdown("## Title\n\n- one\n- **two**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h2>Title</h2>" in html
    assert "<strong>two</strong>" in html
    assert "<table>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="https://x" onclick="alert(1)">x</a>',
        "<iframe src='https://evil'></iframe>",
    ],
)
def test_markdown_cannot_carry_scripts(source):
    html = str(render_markdown(source)).lower()
    tags = re.findall(r"<[^>]+>", html)
    assert not [t for t in tags if re.search(r"\son\w+=", t)], "event handler attribute in a real tag"
    assert not [t for t in tags if t.startswith(("<script", "<img", "<iframe"))]
    assert 'href="javascript' not in html
