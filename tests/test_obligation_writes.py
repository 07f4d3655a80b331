"""Compliance writes to the obligation table only what an event changed (issue 20, goal 2).

Starting a quiz puts the obligation "in progress" with one UPDATE; a submission that completes nothing writes
nothing; a rebuild that finds the rows as they are writes nothing, and a changed row is updated in place.
"""

import re

import pytest
from sqlalchemy import select, update

from tests.helpers import answer_key, complete_course, recorded_statements, start_quiz, submit
from training.compliance.models import Obligation
from training.compliance.obligations import refresh_obligations
from training.extensions import db

OBLIGATION_WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+\"?obligation\b", re.IGNORECASE)


def obligation_writes(statements: list[str]) -> list[str]:
    return [s.split()[0].upper() for s in statements if OBLIGATION_WRITE.match(s)]


def obligation_of(app, user_id: int) -> Obligation:
    with app.app_context():
        return db.session.execute(select(Obligation).where(Obligation.user_id == user_id)).scalar_one()


@pytest.fixture
def learner(app, auth, course, make_user, make_requirement):
    person = make_user()
    make_requirement(course)
    auth.login(person)
    return person


def test_starting_a_quiz_marks_the_obligation_in_progress_with_one_update(app, auth, learner):
    before = obligation_of(app, learner.id)
    assert not before.started
    with recorded_statements(app) as statements:
        start_quiz(auth, "test-course")
    assert obligation_writes(statements) == ["UPDATE"]
    after = obligation_of(app, learner.id)
    assert after.started and after.id == before.id


def test_a_submission_that_completes_nothing_writes_nothing_to_obligations(app, auth, learner):
    attempt_id = start_quiz(auth, "test-course")
    before = obligation_of(app, learner.id)
    with recorded_statements(app) as statements:
        submit(auth, attempt_id, answer_key(app, attempt_id, wrong=100))
    assert obligation_writes(statements) == []
    after = obligation_of(app, learner.id)
    assert (after.id, after.started, after.completed_on, after.refreshed_at) == (
        before.id,
        True,
        None,
        before.refreshed_at,
    )


def test_a_rebuild_that_finds_the_same_rows_writes_nothing(app, learner):
    with recorded_statements(app) as statements, app.app_context():
        assert refresh_obligations([learner.id]) == 1
        db.session.commit()
    assert obligation_writes(statements) == []


def test_a_completion_updates_the_obligation_in_place(app, auth, learner):
    before = obligation_of(app, learner.id)
    with recorded_statements(app) as statements:
        complete_course(app, auth)
    assert "DELETE" not in obligation_writes(statements) and "INSERT" not in obligation_writes(statements)
    after = obligation_of(app, learner.id)
    assert after.id == before.id and after.completed_on is not None


def test_a_rebuild_puts_back_what_was_changed_by_hand(app, learner):
    with app.app_context():
        right = refresh_obligations([learner.id])
        db.session.execute(update(Obligation).values(started=True, due_on=Obligation.due_on))
        db.session.commit()
    with recorded_statements(app) as statements, app.app_context():
        assert refresh_obligations([learner.id]) == right
        db.session.commit()
    assert obligation_writes(statements) == ["UPDATE"]
    assert not obligation_of(app, learner.id).started
