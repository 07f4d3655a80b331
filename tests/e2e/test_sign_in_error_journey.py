"""A wrong password in Chromium: the error is shown and announced (in an alert or live region)."""

from playwright.sync_api import expect

from tests.e2e.browser import sign_in

MESSAGE = "Email or password is incorrect"

# The nearest element around the message that a screen reader announces when its content appears.
_ANNOUNCED_BY = """(el) => {
  const region = el.closest('[role=alert], [role=status], [aria-live]:not([aria-live=off])');
  return region && (region.getAttribute('role') || 'aria-live=' + region.getAttribute('aria-live'));
}"""


def test_sign_in_error_journey(page, make_user, check_page):
    nurse = make_user(name="Wren Wrong")
    sign_in(page, nurse.email, password="not the right password at all")
    messages = page.get_by_text(MESSAGE)
    expect(messages.first).to_be_visible()
    announced = [m.evaluate(_ANNOUNCED_BY) for m in messages.all()]
    assert {"alert", "status", "aria-live=assertive", "aria-live=polite"} & set(announced), announced
    expect(page.get_by_label("Email")).to_have_value(nurse.email)
    check_page(page, "sign-in-error")


def test_an_error_summary_takes_focus_and_its_links_move_focus_to_the_fields(page, make_user, check_page):
    hr = make_user(role="hr")
    sign_in(page, hr.email, screenshot=False)
    page.goto("/staff/new")
    page.get_by_role("button", name="Save").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(page.locator(".error-summary"), "focus starts on the summary").to_be_focused()
    page.keyboard.press("Tab")
    first_link = summary.get_by_role("link").first
    expect(first_link).to_be_focused()
    target = first_link.get_attribute("href").lstrip("#")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == target
    field = page.locator(f"#{target}")
    expect(field).to_have_attribute("aria-invalid", "true")
    described_by = field.get_attribute("aria-describedby").split()
    assert any("Enter the person" in page.locator(f"#{i}").inner_text() for i in described_by)
    check_page(page, "form-errors")
