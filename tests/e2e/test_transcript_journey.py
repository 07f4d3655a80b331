"""A learner with a long history pages through "My transcript" on a phone (issue 20, goal 5).

The pages and their links pass axe-core at 375 and 1280 px, nothing is wider than a 375 px screen, and the
"Older attempts" link leads to the next page with the current certificate still on top.
"""

from tests.e2e.browser import sign_in
from tests.test_transcript_pages import long_history

PHONE = {"width": 375, "height": 900}


def assert_fits(page) -> None:
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px"


def test_transcript_journey(app, page, make_user, check_page):
    learner = make_user()
    long_history(app, learner.id, slug="hipaa-social-media", count=120, completions=30)
    sign_in(page, learner.email)
    page.goto("/transcript")
    check_page(page, "transcript")
    assert_fits(page)
    assert page.get_by_text("Attempts 1 to 50 of 120, newest first.").is_visible()
    page.get_by_role("link", name="Older attempts").click()
    assert page.url.endswith("/transcript?completions_page=1&attempts_page=2#attempts-heading")
    check_page(page, "transcript-page-2")
    assert_fits(page)
    assert page.get_by_text("Attempts 51 to 100 of 120, newest first.").is_visible()
    assert page.get_by_role("heading", name="Current certificates").is_visible()
    page.get_by_role("link", name="Older completions").click()
    assert "completions_page=2&attempts_page=2" in page.url
    assert page.get_by_text("Completions 26 to 30 of 30, newest first.").is_visible()
