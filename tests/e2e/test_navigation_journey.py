"""The header of every role in Chromium (docs/navigation.md): one row at 1280 px; at 375 px a "Menu"
button that opens with the keyboard, and the page title in the first screen under the section's pages."""

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import assert_focus_visible, sign_in, tab_to

PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 900}
# For each role, the page with the most navigation: its largest section's first page, and its heading.
BUSIEST = {
    "staff": ("/", "My training"),
    "manager": ("/compliance", "Compliance"),
    "author": ("/authoring", "Authoring"),
    "hr": ("/compliance", "Compliance"),
    "admin": ("/compliance", "Compliance"),
}
# The top of each item of the header, in px: one row when they differ by less than a line.
_TOPS = """() => [...document.querySelectorAll('.site-header .brand, .site-header nav a, .site-header nav button')]
  .map((el) => el.getBoundingClientRect().top)"""


@pytest.mark.parametrize("role", list(BUSIEST))
def test_navigation_journey(page, make_user, check_page, role):
    path, heading = BUSIEST[role]
    person = make_user(role, name="Maximilian Featherstonehaugh-Okonkwo", department="Emergency Department")
    sign_in(page, person.email)
    page.goto(path)
    title = page.get_by_role("heading", level=1, name=heading)
    expect(title).to_be_visible()

    page.set_viewport_size(DESKTOP)
    tops = page.evaluate(_TOPS)
    assert max(tops) - min(tops) < 16, f"the header of {role} wraps at 1280 px: {tops}"
    expect(page.locator(".menu-button")).to_be_hidden()

    page.set_viewport_size(PHONE)
    assert title.bounding_box()["y"] + title.bounding_box()["height"] <= PHONE["height"], "title below the first screen"
    main = page.get_by_role("navigation", name="Main")
    expect(main.get_by_role("link", name="My training")).to_be_hidden()
    page.evaluate("document.activeElement.blur()")
    tab_to(page, ".menu-button", limit=3)
    page.keyboard.press("Enter")
    expect(main.get_by_role("link", name="My training")).to_be_visible()
    tab_to(page, ".nav-account button", limit=12)
    assert_focus_visible(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_focused()
    check_page(page, "menu-open", screenshot=False)
