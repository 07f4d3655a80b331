"""Domain events (training/events.py) and how compliance reacts to them (compliance/subscribers.py).

The events replace direct calls into compliance: a lower area publishes, compliance rebuilds the obligations of the
people named, once per transaction, just before it commits; a rolled-back transaction rebuilds nothing.
"""

import pytest
from sqlalchemy import select, update

from training import events
from training.auth.models import User
from training.compliance import subscribers
from training.compliance.models import Obligation
from training.extensions import db


@pytest.fixture
def rebuilds(app, monkeypatch):
    """The rebuilds compliance runs, as (user ids or None for everyone, now), still running each of them."""
    calls = []
    real = subscribers.refresh_obligations

    def spy(user_ids=None, now=None):
        calls.append((None if user_ids is None else sorted(user_ids), now))
        return real(user_ids, now)

    monkeypatch.setattr(subscribers, "refresh_obligations", spy)
    with app.app_context():
        yield calls


def test_every_event_reaches_compliance(app):
    with app.app_context():
        for signal in events.ALL:
            events.publish(signal, "any area", user_ids=[1], course_id=1)
            assert subscribers.PENDING in db.session.info, signal.name
            db.session.rollback()
            assert subscribers.PENDING not in db.session.info


def test_the_events_of_one_transaction_rebuild_once_at_the_commit(make_user, rebuilds):
    first, second = make_user().id, make_user().id
    rebuilds.clear()
    events.publish(events.person_changed, "test", user_ids=[first])
    events.publish(events.attempt_started, "test", user_ids=[second], course_id=1)
    events.publish(events.person_changed, "test", user_ids=[first])
    assert rebuilds == [], "nothing is rebuilt before the commit"
    db.session.commit()
    assert rebuilds == [([first, second], None)]
    db.session.commit()
    assert len(rebuilds) == 1, "a later commit with no events rebuilds nothing"


def test_an_event_that_names_no_one_rebuilds_everyone(make_user, rebuilds):
    make_user()
    rebuilds.clear()
    events.publish(events.person_changed, "test", user_ids=[1])
    events.publish(events.policy_changed, "test", user_ids=None)
    db.session.commit()
    assert rebuilds == [(None, None)]


@pytest.mark.parametrize("wrote_first", [True, False], ids=["after a write", "before any write"])
def test_a_rolled_back_transaction_rebuilds_nothing(make_user, rebuilds, wrote_first):
    person = make_user().id
    rebuilds.clear()
    if wrote_first:
        db.session.execute(update(User).where(User.id == person).values(job_title="Charge Nurse"))
    events.publish(events.person_changed, "test", user_ids=[person])
    db.session.rollback()
    db.session.commit()
    assert rebuilds == []


def test_a_savepoint_rolled_back_keeps_the_rebuild_of_its_transaction(make_user, rebuilds):
    person = make_user().id
    rebuilds.clear()
    events.publish(events.person_changed, "test", user_ids=[person])
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    db.session.commit()
    assert rebuilds == [([person], None)]


def test_someone_who_joins_a_department_with_a_rule_owes_it_from_that_commit(
    course, make_user, make_requirement, rebuilds
):
    make_user(department="Pharmacy")
    make_requirement(course, department="Pharmacy")
    person = make_user(department="Pharmacy").id
    owed = db.session.execute(select(Obligation.course_id).where(Obligation.user_id == person)).scalars().all()
    assert len(owed) == 1
    assert rebuilds[-1] == ([person], None)
