"""docs/screenshots.md and the images in docs/screenshots/ agree (no browser needed)."""

import re

from training.config import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"


def test_every_screenshot_in_the_docs_exists_and_every_copy_is_shown():
    page = (DOCS / "screenshots.md").read_text(encoding="utf-8")
    shown = re.findall(r"\]\((screenshots/[^)]+\.png)\)", page)
    assert shown and len(shown) == len(set(shown))
    assert sorted(shown) == sorted(f"screenshots/{p.name}" for p in (DOCS / "screenshots").glob("*.png"))
    assert all(re.search(r"-(375|1280)\.png$", name) for name in shown)
