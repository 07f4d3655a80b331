from datetime import UTC, datetime

import pytest

from training.courses import rules

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def facts(**kw):
    base = dict(now=NOW, modules_total=4, modules_done=0, attempts_in_cycle=0, passed_in_cycle=False)
    return rules.ProgressFacts(**(base | kw))


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2026, 11, 24, 9, 30, tzinfo=UTC), 12, datetime(2027, 11, 24, 9, 30, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 25, datetime(2028, 4, 30, tzinfo=UTC)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert rules.add_months(start, months) == expected


def test_nothing_done_is_not_started():
    assert rules.course_status(facts()) == rules.NOT_STARTED
    assert rules.progress_percent(facts()) == 0


def test_a_module_or_an_attempt_means_in_progress():
    assert rules.course_status(facts(modules_done=1)) == rules.IN_PROGRESS
    assert rules.course_status(facts(attempts_in_cycle=1)) == rules.IN_PROGRESS


def test_progress_counts_modules_and_the_quiz_as_steps():
    assert rules.progress_percent(facts(modules_done=2)) == 40
    assert rules.progress_percent(facts(modules_done=4, passed_in_cycle=True)) == 100


def test_ready_to_complete_needs_every_module_and_a_pass():
    assert not rules.ready_to_complete(facts(modules_done=4))
    assert not rules.ready_to_complete(facts(modules_done=3, passed_in_cycle=True))
    assert rules.ready_to_complete(facts(modules_done=4, passed_in_cycle=True))


def test_current_completion_is_completed_then_expires():
    completed = facts(
        last_completed_at=datetime(2026, 1, 1, tzinfo=UTC), last_expires_at=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert rules.course_status(completed) == rules.COMPLETED
    assert rules.progress_percent(completed) == 100
    assert not rules.ready_to_complete(completed)
    expired = facts(
        now=datetime(2027, 1, 1, tzinfo=UTC),
        last_completed_at=datetime(2026, 1, 1, tzinfo=UTC),
        last_expires_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert rules.course_status(expired) == rules.EXPIRED
    assert rules.course_status(expired.__class__(**(expired.__dict__ | {"modules_done": 1}))) == rules.IN_PROGRESS
