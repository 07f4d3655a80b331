"""Keyboard only (no clicks): the skip link, signing in, and answering and submitting a whole quiz
with Tab, Shift+Tab, Enter, Space and the arrow keys, with a visible focus on every stop; on a phone,
one question at a time with the Next button, the answers kept through a reload."""

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.browser import assert_focus_visible, attempt_id, tab_to
from tests.helpers import answer_key

COURSE_SLUG = "responsible-social-media"

# Each question on the quiz page in the order a keyboard meets it: its field name, whether it is
# answered with checkboxes, and its option ids in the order shown.
_QUESTIONS = """() => [...document.querySelectorAll('form.quiz fieldset')].map((set) => {
  const inputs = [...set.querySelectorAll('input')];
  return {field: inputs[0].name, multiple: inputs[0].type === 'checkbox', options: inputs.map((i) => i.value)};
})"""


def test_keyboard_journey(app, page, make_user, check_page):
    nurse = make_user(name="Kai Keys")
    page.goto("/login")
    use_the_skip_link(page)
    sign_in_by_keyboard(page, nurse.email)

    tab_to(page, f'main a[href="/courses/{COURSE_SLUG}"]')
    enter_to(page, "Responsible Social Media Use in Healthcare")
    tab_to(page, f'form[action="/courses/{COURSE_SLUG}/quiz"] button')
    enter_to(page, "Scenario quiz")

    answer_by_keyboard(page, answer_key(app, attempt_id(page)))
    tab_to(page, "form.quiz button[type=submit]")
    enter_to(page, "Quiz result")
    expect(page.get_by_role("heading", name="100%: Passed")).to_be_visible()
    check_page(page, "quiz-passed", screenshot=False)


def test_keyboard_journey_on_a_phone(app, page, make_user, check_page):
    """At 375 px the quiz shows one question at a time: Tab from the answers reaches Next, and Enter
    on it moves the focus to the next question's number, ahead of its situation."""
    page.set_viewport_size({"width": 375, "height": 667})
    nurse = make_user(name="Pia Phone")
    page.goto("/login")
    sign_in_by_keyboard(page, nurse.email)
    tab_to(page, f'main a[href="/courses/{COURSE_SLUG}"]', limit=80)
    enter_to(page, "Responsible Social Media Use in Healthcare")
    tab_to(page, f'form[action="/courses/{COURSE_SLUG}/quiz"] button', limit=80)
    enter_to(page, "Scenario quiz")
    answers = answer_key(app, attempt_id(page))
    questions = page.evaluate(_QUESTIONS)
    expect(page.locator("section.question:visible")).to_have_count(1)

    answer_by_keyboard(page, answers, questions[:2], step=True)
    expect(page.get_by_text("2 of 10 answered")).to_be_visible()
    page.reload()
    expect(page.get_by_text("2 of 10 answered")).to_be_visible()
    expect(page.get_by_role("heading", name="Question 3 of 10")).to_be_visible()
    answer_by_keyboard(page, answers, questions[2:], step=True)
    check_page(page, "quiz-last-question", screenshot=False)
    page.set_viewport_size({"width": 375, "height": 667})
    tab_to(page, "form.quiz button[type=submit]")
    enter_to(page, "Quiz result")
    expect(page.get_by_role("heading", name="100%: Passed")).to_be_visible()


def enter_to(page, heading):
    """Press Enter on the focused link or button and wait for the page it leads to."""
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()


def use_the_skip_link(page):
    """The first Tab shows "Skip to content"; Enter moves the focus to the main content."""
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.url.endswith("/login#main")


def sign_in_by_keyboard(page, email):
    """From the main content, Tab reaches the email field first; Shift+Tab goes back out of it."""
    tab_to(page, "#email")
    tab_to(page, ".brand", key="Shift+Tab", limit=1)
    tab_to(page, "#email", limit=1)
    page.keyboard.type(email)
    tab_to(page, "#password", limit=1)
    page.keyboard.type(PASSWORD)
    tab_to(page, "input[type=submit]")
    enter_to(page, "My training")


def answer_by_keyboard(page, answers: dict[str, list[str]], questions=None, *, step=False):
    """Radio buttons: Tab into the group, then arrow down to the answer (Space for the first one).
    Checkboxes: Tab to each, Space on the ones to tick. With `step` (a phone), Tab on to Next and
    press Enter after each question but the last."""
    for question in questions or page.evaluate(_QUESTIONS):
        field, options, chosen = question["field"], question["options"], answers[question["field"]]
        if question["multiple"]:
            for option in options:
                tab_to(page, f"#{field}-{option}")
                if option in chosen:
                    page.keyboard.press("Space")
        else:
            tab_to(page, f"#{field}-{options[0]}")
            index = options.index(chosen[0])
            for _ in range(index):
                page.keyboard.press("ArrowDown")
                assert_focus_visible(page)
            if index == 0:
                page.keyboard.press("Space")
        for option in options:
            box = page.locator(f"#{field}-{option}")
            expect(box).to_be_checked() if option in chosen else expect(box).not_to_be_checked()
        if step:
            next_question(page)


def next_question(page):
    """Tab to Next and press Enter: the next question's number has the focus; none after the last."""
    next_button = page.get_by_role("button", name="Next question")
    if not next_button.is_visible():
        return
    tab_to(page, "form.quiz .quiz-steps button.primary", limit=20)
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement.textContent")
    assert re.fullmatch(r"Question \d+ of \d+", focused), focused
