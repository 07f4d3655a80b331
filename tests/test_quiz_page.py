"""The quiz page without JavaScript: each question's situation comes before its prompt, in a clear
structure, and the enhancement is one file from our own origin (issue 21, item 2)."""

import re

from tests.helpers import start_quiz


def test_each_question_shows_its_number_and_situation_before_its_prompt(client, auth, make_user, course):
    auth.login(make_user())
    html = client.get(f"/attempts/{start_quiz(auth, 'test-course')}").get_data(as_text=True)
    questions = html.split('<section class="card question"')[1:]
    assert len(questions) == 3
    for number, question in enumerate(questions, start=1):
        qid = re.search(r"A situation on the ward for (tc-q\d)\.", question).group(1)
        heading = question.index(f">Question {number} of 3</h2>")
        scenario = question.index(f"A situation on the ward for {qid}.")
        prompt = question.index(f"<legend>What should you do in {qid}?</legend>")
        assert heading < scenario < prompt
    sections = re.findall(r'<section class="card question" aria-labelledby="(q-\d+)-number">', html)
    assert len(sections) == 3 and html.count("<fieldset") == 3
    assert html.index("Question 3 of 3") < html.index("Submit answers")


def test_the_progress_is_left_to_the_script_and_the_script_is_our_own(client, auth, make_user, course):
    auth.login(make_user())
    html = client.get(f"/attempts/{start_quiz(auth, 'test-course')}").get_data(as_text=True)
    assert '<p class="quiz-progress" id="quiz-progress" aria-live="polite" hidden></p>' in html
    assert '<script src="/static/quiz.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script (CSP script-src 'self')"
    with client.get("/static/quiz.js") as script:
        assert script.status_code == 200 and "sessionStorage" in script.get_data(as_text=True)
