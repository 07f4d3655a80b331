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
