"""The courses we ship: valid, complete, and loadable on both databases."""

import re

import pytest

from training.config import PROJECT_ROOT
from training.content.loader import load_content
from training.content.sync import sync_content

SHIPPED = load_content(PROJECT_ROOT / "modules", PROJECT_ROOT / "quizzes", root=PROJECT_ROOT)
REQUIRED_TITLES = {
    "Responsible Social Media Use in Healthcare",
    "Patient Confidentiality and HIPAA on Social Media",
}


def test_shipped_content_has_no_errors():
    assert SHIPPED.ok, "\n".join(str(e) for e in SHIPPED.errors)


def test_both_required_courses_are_shipped():
    assert {c.title for c in SHIPPED.courses} >= REQUIRED_TITLES


@pytest.mark.parametrize("course", SHIPPED.courses, ids=lambda c: c.slug)
def test_each_course_is_substantial(course):
    assert len(course.modules) >= 5
    assert len(course.questions) >= 15
    assert all(len(m.body.split()) >= 400 for m in course.modules), [
        (m.slug, len(m.body.split())) for m in course.modules
    ]
    assert {q.type for q in course.questions} == {"single", "multiple", "true_false"}
    assert all(q.scenario and q.references for q in course.questions)
    assert all(len(o.feedback.split()) >= 6 for q in course.questions for o in q.options)


@pytest.mark.parametrize("course", SHIPPED.courses, ids=lambda c: c.slug)
def test_multiple_answer_prompts_tell_the_learner(course):
    for question in course.questions:
        if question.type == "multiple":
            assert "Select all that apply" in question.prompt, question.id


def test_no_raw_html_in_modules():
    for course in SHIPPED.courses:
        for module in course.modules:
            assert not re.search(r"<[a-zA-Z/!]", module.body), module.slug


def test_shipped_content_syncs_into_the_database(app):
    with app.app_context():
        report = sync_content(SHIPPED)
    assert len(report.courses_created) == len(SHIPPED.courses)
    assert report.questions_created == sum(len(c.questions) for c in SHIPPED.courses)
