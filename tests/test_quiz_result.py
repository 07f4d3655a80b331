"""The quiz result page says what the attempt meant and offers the next step (issue 21, item 1).

The test course has two modules, Intro and Photos; its questions are about photos, so a missed
question points to the Photos module (training/content/topics.py derives that from the content).
"""

import re
from datetime import timedelta

from sqlalchemy import select

from tests.helpers import answer_key, complete_modules, start_quiz, submit
from training.certificates.models import Certificate
from training.certificates.serials import display_serial
from training.completions.models import Completion
from training.content.models import Course
from training.db import utcnow
from training.extensions import db
from training.quizzes.models import QuizAttempt


def limit(app, max_attempts=None, wait=0):
    with app.app_context():
        course = db.session.execute(select(Course)).scalar_one()
        course.max_attempts, course.attempt_wait_minutes = max_attempts, wait
        db.session.commit()


def take(app, auth, wrong=0) -> tuple[int, str]:
    """Start, answer (`wrong` of them wrongly) and submit an attempt; its id and its result page."""
    attempt_id = start_quiz(auth, "test-course")
    assert submit(auth, attempt_id, answer_key(app, attempt_id, wrong=wrong)).status_code == 302
    return attempt_id, auth.client.get(f"/attempts/{attempt_id}").get_data(as_text=True)


def primary_action(html: str) -> str:
    """The result card's primary button or link, as `<tag ...>text`."""
    card = html[html.index('aria-labelledby="score-heading"') : html.index("<h2>Your answers</h2>")]
    found = re.search(r'<(a|button)[^>]*class="button primary"[^>]*>([^<]+)<', card)
    return found.group(0) if found else ""


def test_a_pass_that_completes_the_course_offers_the_certificate(app, client, auth, make_user, course):
    user = make_user()
    auth.login(user)
    complete_modules(auth)
    _, html = take(app, auth)
    with app.app_context():
        completion = db.session.execute(select(Completion).where(Completion.user_id == user.id)).scalar_one()
        certificate = db.session.execute(select(Certificate).where(Certificate.completion_id == completion.id))
        serial = display_serial(certificate.scalar_one().serial)
        valid_until = f"{completion.expires_at.day} {completion.expires_at:%b %Y}"
    assert "100%: Passed" in html
    assert "Course completed." in html and "Your certificate is ready." in html
    assert f"It is valid until {valid_until}." in html
    assert primary_action(html) == f'<a class="button primary" href="/certificates/{serial}">View certificate<'
    assert f'href="/certificates/{serial}.pdf">Download certificate (PDF)</a>' in html
    assert "Make sure every module" not in html and "Try again" not in html
    assert client.get(f"/certificates/{serial}").status_code == 200


def test_a_pass_with_modules_unread_opens_the_first_unread_module(app, auth, make_user, course):
    auth.login(make_user())
    complete_modules(auth, modules=("intro",))
    _, html = take(app, auth)
    assert "You passed the quiz; the course is not complete yet." in html
    assert "Read this module and mark it complete to finish the course" in html
    assert '<li><a href="/courses/test-course/modules/photos">Photos</a></li>' in html
    assert '<li><a href="/courses/test-course/modules/intro">Intro</a></li>' not in html
    assert primary_action(html) == '<a class="button primary" href="/courses/test-course/modules/photos">Open Photos<'
    assert '<a class="button" href="/courses/test-course">Back to the course</a>' in html
    assert "Course completed" not in html and "certificate is ready" not in html


def test_a_pass_before_reading_lists_every_module(app, auth, make_user, course):
    auth.login(make_user())
    _, html = take(app, auth)
    assert "Read these 2 modules and mark each complete" in html
    assert primary_action(html) == '<a class="button primary" href="/courses/test-course/modules/intro">Open Intro<'


def test_a_fail_links_the_modules_behind_the_missed_questions_and_offers_a_new_attempt(app, auth, make_user, course):
    auth.login(make_user())
    complete_modules(auth)
    attempt_id, html = take(app, auth, wrong=2)
    assert "33%: Not passed" in html and "The pass mark is 60%." in html
    assert "Review the module behind the questions you missed" in html
    assert '<li><a href="/courses/test-course/modules/photos">Photos</a></li>' in html
    assert html.count('Covered in <a href="/courses/test-course/modules/photos">Photos</a>') == 2
    assert "attempts left" not in html, "no limit: nothing to count"
    assert primary_action(html) == '<button type="submit" class="button primary">Try again<'
    form = re.search(r'<form method="post" action="(/courses/test-course/quiz)">\s*<input[^>]*name="csrf_token"', html)
    assert form, "Try again is the course's start form, with its CSRF token"
    again = auth.post(form.group(1), token_from=f"/attempts/{attempt_id}")
    assert again.status_code == 302 and again.headers["Location"] != f"/attempts/{attempt_id}"


def test_a_fail_counts_the_attempts_left(app, auth, make_user, course):
    limit(app, max_attempts=3)
    auth.login(make_user())
    _, html = take(app, auth, wrong=3)
    assert "You have 2 of 3 attempts left." in html
    assert "Try again" in primary_action(html)


def test_the_last_allowed_fail_offers_no_new_attempt(app, auth, make_user, course):
    limit(app, max_attempts=2)
    auth.login(make_user())
    take(app, auth, wrong=3)
    _, html = take(app, auth, wrong=3)
    assert "You have used all 2 attempts. Your HR team can allow another attempt." in html
    assert "Try again" not in html and "attempts left" not in html
    assert primary_action(html) == ""


def test_a_fail_says_when_the_next_attempt_is_allowed(app, auth, make_user, course):
    limit(app, max_attempts=3, wait=30)
    auth.login(make_user())
    attempt_id, html = take(app, auth, wrong=3)
    assert "You can start your next attempt after" in html
    assert "You will then have 2 of 3 attempts left." in html
    assert "Try again" not in html
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        attempt.submitted_at = utcnow() - timedelta(minutes=31)
        db.session.commit()
    html = auth.client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "next attempt after" not in html and "Try again" in primary_action(html)


def test_a_fail_with_a_newer_attempt_open_offers_to_continue_it(app, auth, make_user, course):
    auth.login(make_user())
    first, _ = take(app, auth, wrong=3)
    second = start_quiz(auth, "test-course")
    html = auth.client.get(f"/attempts/{first}").get_data(as_text=True)
    assert "You have started another attempt" in html
    assert primary_action(html) == '<button type="submit" class="button primary">Continue the quiz<'
    assert start_quiz(auth, "test-course") == second


def test_a_fail_followed_by_a_completion_is_an_earlier_attempt(app, auth, make_user, course):
    auth.login(make_user())
    complete_modules(auth)
    failed, _ = take(app, auth, wrong=3)
    take(app, auth)
    html = auth.client.get(f"/attempts/{failed}").get_data(as_text=True)
    assert "This is an earlier attempt" in html and "Try again" not in html
    assert primary_action(html) == '<a class="button primary" href="/courses/test-course">Go to the course<'


def test_a_pass_whose_completion_has_expired_says_so(app, auth, make_user, course):
    user = make_user()
    auth.login(user)
    complete_modules(auth)
    passed, _ = take(app, auth)
    with app.app_context():
        completion = db.session.execute(select(Completion).where(Completion.user_id == user.id)).scalar_one()
        completion.expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    html = auth.client.get(f"/attempts/{passed}").get_data(as_text=True)
    assert "You completed the course on" in html and "That completion stopped counting on" in html
    assert "certificate is ready" not in html
    assert primary_action(html) == '<a class="button primary" href="/courses/test-course">Go to the course<'


def test_a_pass_whose_unread_module_was_retired_since_sends_to_the_course(
    app, auth, make_user, course, write_course, sync
):
    auth.login(make_user())
    complete_modules(auth, modules=("intro",))
    passed, _ = take(app, auth)
    write_course(modules=("Intro",))
    sync()
    html = auth.client.get(f"/attempts/{passed}").get_data(as_text=True)
    assert "You passed the quiz.</strong> The course page shows where you stand." in html
    assert "Read these" not in html and "Read this module" not in html
    assert primary_action(html) == '<a class="button primary" href="/courses/test-course">Back to the course<'
