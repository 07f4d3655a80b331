""" "My training": what to do first, one status per course, what is in progress and the one next step."""

import re
from datetime import timedelta

from tests.helpers import complete_course, complete_modules, start_quiz
from training.clock import format_day, today


def cards(html: str) -> list[str]:
    return re.findall(r'<li class="card course-card">(.*?)</li>', html, re.S)


def primary_buttons(card: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="button primary" href="([^"]+)">([^<]+)<', card)


def test_a_new_course_has_one_status_and_a_start_button_to_its_first_module(client, auth, make_user, course):
    auth.login(make_user())
    (card,) = cards(client.get("/").get_data(as_text=True))
    assert card.count('class="badge') == 1 and "Not started" in card
    assert primary_buttons(card) == [("/courses/test-course/modules/intro", "Start")]


def test_a_started_course_says_what_is_in_progress_and_continues_where_the_learner_stopped(
    client, auth, make_user, course
):
    auth.login(make_user())
    complete_modules(auth, modules=("intro",))
    (card,) = cards(client.get("/").get_data(as_text=True))
    assert "1 of 2 modules read" in card and card.count('class="badge') == 1
    assert primary_buttons(card) == [("/courses/test-course/modules/photos", "Continue")]


def test_an_unsubmitted_quiz_at_no_progress_is_named_with_its_day(app, client, auth, make_user, course):
    auth.login(make_user())
    start_quiz(auth, "test-course")
    (card,) = cards(client.get("/").get_data(as_text=True))
    with app.app_context():
        started = format_day(today())
    assert f"Quiz started on {started}, not submitted" in card and "In progress" in card
    assert primary_buttons(card) == [("/courses/test-course#quiz-heading", "Continue")]


def test_a_completed_course_says_completed_once_with_a_certificate_button(app, client, auth, make_user, course):
    auth.login(make_user())
    complete_course(app, auth)
    (card,) = cards(client.get("/").get_data(as_text=True))
    assert card.count('class="badge') == 1 and card.count("Completed") == 1 and card.count("valid until") == 1
    ((href, label),) = primary_buttons(card)
    assert label == "Certificate" and re.fullmatch(r"/certificates/[0-9A-Z-]+\.pdf", href)


def test_a_required_course_due_soon_comes_first_with_its_due_day(
    app, client, auth, make_user, make_requirement, course
):
    user = make_user()
    make_requirement("test-course", due_within_days=10)
    auth.login(user)
    html = client.get("/").get_data(as_text=True)
    with app.app_context():
        due = format_day(today() + timedelta(days=10))
    first = html[html.index('id="first-heading"') : html.index('class="course-list"')]
    assert "Due soon" in first and f'<a href="/courses/test-course">Test Course</a> by {due}' in first
    (card,) = cards(html)
    assert card.count('class="badge') == 1 and f"due {due}" in card and "Required of you" in card


def test_nothing_urgent_shows_no_first_things(client, auth, make_user, course):
    auth.login(make_user())
    assert 'id="first-heading"' not in client.get("/").get_data(as_text=True)
