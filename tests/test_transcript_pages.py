"""Transcript pages come a page at a time (issue 20, goal 5): a person with 860 attempts got a 278 KB page.

"My transcript" and HR's page of a person show one page of completions and one of quiz attempts, newest
first, each with its own page number in the query; the learner's current certificates stay at the top.
Whatever the history, a page keeps its size and its number of SQL statements. The transcript PDF and the
API stay complete (tests/test_transcript_pdf.py, tests/test_api.py).
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import recorded_statements
from training.certificates.issuing import issue_certificate
from training.completions.models import Completion
from training.content.models import Course
from training.courses.transcript import ATTEMPTS_PER_PAGE, COMPLETIONS_PER_PAGE
from training.db import utcnow
from training.extensions import db
from training.quizzes.models import QuizAttempt

ATTEMPTS = 905  # 18 full pages of 50 and a last one of 5
COMPLETIONS = 30  # one page of 25 and one of 5
PAGE_BYTES = 60_000
# Statements of one transcript page, however long the history. The learner's: the signed-in session and user,
# the current completions, then a count and a page of each history. HR's page of a person adds its required
# items, attestations and extra attempts instead of the current completions.
LEARNER_PAGE_BUDGET = 6
HR_PAGE_BUDGET = 11


def long_history(app, user_id: int, slug="test-course", count=ATTEMPTS, completions=COMPLETIONS) -> list[int]:
    """`count` submitted attempts at a course, one a day back from now, the newest `completions` of them passed
    and completing a cycle with a certificate. Returns the attempt ids, newest first."""
    now = utcnow()
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.slug == slug)).scalar_one()
        attempts = []
        for age in range(count):
            passed = age < completions
            moment = now - timedelta(days=age)
            attempts.append(
                QuizAttempt(
                    user_id=user_id,
                    course_id=course.id,
                    course_version=course.version,
                    cycle=completions - age if passed else 0,
                    pass_mark=80,
                    started_at=moment - timedelta(minutes=10),
                    submitted_at=moment,
                    score=90 if passed else 40,
                    passed=passed,
                )
            )
        db.session.add_all(attempts)
        db.session.flush()
        for attempt in attempts[:completions]:
            completion = Completion(
                user_id=user_id,
                course_id=course.id,
                cycle=attempt.cycle,
                course_version=course.version,
                attempt_id=attempt.id,
                score=attempt.score,
                completed_at=attempt.submitted_at,
                expires_at=attempt.submitted_at + timedelta(days=365),
            )
            db.session.add(completion)
            db.session.flush()
            issue_certificate(completion, now=attempt.submitted_at)
        db.session.commit()
        return [attempt.id for attempt in attempts]


@pytest.fixture
def veteran(app, make_user, course):
    """A person with a long history: their record and their attempt ids, newest first."""
    person = make_user()
    return person, long_history(app, person.id)


def attempt_rows(html: str) -> int:
    return html.count('data-label="Started"')


def completion_rows(html: str) -> int:
    return html.count('data-label="Valid until"')


def attempt_links(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/attempts/(\d+)"', html)]


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def test_a_long_history_gets_a_small_first_page(client, auth, veteran):
    person, newest_first = veteran
    auth.login(person)
    response = client.get("/transcript")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(response.data) < PAGE_BYTES
    assert attempt_links(section(html, "attempts-heading")) == newest_first[:ATTEMPTS_PER_PAGE]
    assert completion_rows(section(html, "current-heading")) == 1, "the current certificate of the one course"
    assert completion_rows(section(html, "completions-heading")) == COMPLETIONS_PER_PAGE
    assert f"Attempts 1 to {ATTEMPTS_PER_PAGE} of {ATTEMPTS}, newest first." in html
    assert "Older attempts" in html and "Newer attempts" not in html


def test_page_two_shows_the_next_rows_and_keeps_the_other_page(client, auth, veteran):
    person, newest_first = veteran
    auth.login(person)
    html = client.get("/transcript?attempts_page=2&completions_page=2").get_data(as_text=True)
    assert attempt_links(section(html, "attempts-heading")) == newest_first[ATTEMPTS_PER_PAGE : 2 * ATTEMPTS_PER_PAGE]
    assert completion_rows(section(html, "completions-heading")) == COMPLETIONS - COMPLETIONS_PER_PAGE
    assert 'href="/transcript?completions_page=2&amp;attempts_page=3#attempts-heading"' in html
    assert 'href="/transcript?completions_page=1&amp;attempts_page=2#completions-heading"' in html
    assert completion_rows(section(html, "current-heading")) == 1, "the summary is on every page"


@pytest.mark.parametrize("number", ["19", "20", "999", "99999999999999999999"])
def test_a_page_past_the_end_is_the_last_page(client, auth, veteran, number):
    person, newest_first = veteran
    auth.login(person)
    response = client.get(f"/transcript?attempts_page={number}")
    assert response.status_code == 200
    assert attempt_links(response.get_data(as_text=True)) == newest_first[18 * ATTEMPTS_PER_PAGE :]


@pytest.mark.parametrize("number", ["abc", "", "-3", "0", "1.5", "9" * 5000])
def test_a_page_number_that_is_not_one_is_the_first_page(client, auth, veteran, number):
    person, newest_first = veteran
    auth.login(person)
    response = client.get("/transcript", query_string={"attempts_page": number, "completions_page": number})
    assert response.status_code == 200
    assert attempt_links(section(response.get_data(as_text=True), "attempts-heading")) == newest_first[:50]


def test_hr_sees_the_same_pages_of_a_person(client, auth, make_user, veteran):
    person, _ids = veteran
    auth.login(make_user(role="hr"))
    response = client.get(f"/compliance/people/{person.id}?attempts_page=3")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(response.data) < PAGE_BYTES
    assert attempt_rows(section(html, "attempts-heading")) == ATTEMPTS_PER_PAGE
    assert "Quiz attempts 101 to 150 of 905, newest first." in html
    assert completion_rows(section(html, "completions-heading")) == COMPLETIONS_PER_PAGE
    assert f'href="/compliance/people/{person.id}?completions_page=1&amp;attempts_page=4#attempts-heading"' in html


def test_a_short_history_has_no_pager(client, auth, make_user, course):
    auth.login(make_user())
    html = client.get("/transcript").get_data(as_text=True)
    assert "You have not completed a course yet" in html and "You have not taken a quiz yet" in html
    assert 'class="pager"' not in html


def statements_of(app, client, path: str) -> int:
    client.get(path)  # the same page once first, as tests/test_learner_statements.py does
    with recorded_statements(app) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_statements_per_page_do_not_grow_with_the_history(app, client, auth, make_user, veteran):
    """The same count for a newcomer and for 905 attempts, on the first and the last page."""
    person, _ids = veteran
    newcomer = make_user()
    auth.login(newcomer)
    short = statements_of(app, client, "/transcript")
    auth.logout()
    auth.login(person)
    long = {statements_of(app, client, f"/transcript?attempts_page={n}&completions_page={n}") for n in (1, 2, 19)}
    assert long == {short}
    assert short <= LEARNER_PAGE_BUDGET
    auth.logout()
    auth.login(make_user(role="hr"))
    hr_short = statements_of(app, client, f"/compliance/people/{newcomer.id}")
    hr_long = statements_of(app, client, f"/compliance/people/{person.id}?attempts_page=19")
    assert hr_long == hr_short <= HR_PAGE_BUDGET
