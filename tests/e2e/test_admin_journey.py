"""An administrator in Chromium writes a scenario question, previews and publishes it, and a learner
then meets it in a quiz attempt."""

import re

from playwright.sync_api import expect

from tests.e2e.browser import sign_in

COURSE = "Responsible Social Media Use in Healthcare"
SCENARIO = (
    "Sam, a ward nurse, gets a friend request from the daughter of a patient discharged last week. "
    "The daughter writes that the family would love to keep in touch."
)
PROMPT = "What should Sam do with the friend request?"
RIGHT = "Decline it and thank the family in person or through the ward's usual channels"
WRONG = "Accept it, because the patient has already gone home"


def test_admin_journey(page, new_page, make_user, check_page):
    admin = make_user("admin", name="Ada Admin", job_title="Clinical Educator")
    learner = make_user(name="Lee Learner", department="Surgery")
    sign_in(page, admin.email, check_page, screenshot=False)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Content").click()
    check_page(page, "authoring")
    page.get_by_role("link", name=COURSE, exact=True).click()
    expect(page.get_by_role("heading", name="Question bank")).to_be_visible()
    check_page(page, "question-bank")

    page.get_by_role("link", name="New question").click()
    check_page(page, "new-question")
    write_question(page)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1, name=PROMPT)).to_be_visible()
    expect(page.locator(".lead .badge")).to_have_text("Draft")
    check_page(page, "question")

    preview_and_answer(page, check_page)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".lead .badge")).to_have_text("Published")
    check_page(page, "question-published", screenshot=False)

    ask_every_question(page, check_page)

    learner_page = new_page()
    sign_in(learner_page, learner.email, check_page, screenshot=False)
    check_page(learner_page, "learner-my-training", screenshot=False)
    learner_page.get_by_role("link", name=COURSE, exact=True).click()
    expect(learner_page.get_by_text("21 questions drawn from the course's scenarios")).to_be_visible()
    check_page(learner_page, "learner-course", screenshot=False)
    learner_page.get_by_role("button", name="Start the quiz").click()
    question = learner_page.get_by_role("region").filter(has=learner_page.get_by_role("group", name=PROMPT))
    expect(question).to_contain_text(SCENARIO)
    expect(question.get_by_role("radio")).to_have_count(2)
    expect(question.get_by_label(RIGHT)).to_be_visible()
    check_page(learner_page, "learner-quiz")


def write_question(page):
    page.get_by_label("Scenario").fill(SCENARIO)
    page.get_by_label("Question", exact=True).fill(PROMPT)
    right, wrong = page.get_by_role("group", name="Option 1"), page.get_by_role("group", name="Option 2")
    right.get_by_label("Option text").fill(RIGHT)
    right.get_by_label("Correct answer").check()
    right.get_by_label("Feedback").fill("Right: a warm thank-you keeps the relationship professional and private.")
    wrong.get_by_label("Option text").fill(WRONG)
    wrong.get_by_label("Feedback").fill("Discharge does not end the professional relationship or its boundaries.")
    page.get_by_label("Explanation").fill("Keep contact with patients and their families to work channels.")
    page.get_by_label("Tags").fill("boundaries, friend requests")
    page.get_by_label("References").fill("Your organisation's social media policy")


def preview_and_answer(page, check_page):
    page.get_by_role("link", name="Preview as a learner").click()
    check_page(page, "preview-unanswered", screenshot=False)
    page.get_by_label(RIGHT).check()
    page.get_by_role("button", name="Check my answer").click()
    expect(page.get_by_role("heading", name="Correct", exact=True)).to_be_visible()
    check_page(page, "preview")
    page.get_by_role("link", name="Back to the question").click()


def ask_every_question(page, check_page):
    """Attempts draw at random from the bank: ask all of them, so the learner surely meets the new one."""
    page.get_by_role("navigation", name="Course authoring").get_by_role("link", name="Settings").click()
    check_page(page, "course-settings")
    publishing = page.get_by_role("region", name="Publishing").inner_text()
    published = int(re.search(r"(\d+) published questions?", publishing)[1])
    page.get_by_label("Questions per attempt").fill(str(published))
    assert published == 21
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    check_page(page, "course-settings-saved", screenshot=False)
