"""The attempt limit and the wait after a failed attempt, without a database."""

from datetime import UTC, datetime, timedelta

from training.quizzes.rules import AttemptFacts, attempt_gate

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def facts(**values):
    base = {"now": NOW, "max_attempts": 3, "extra_attempts": 0, "submitted": 0, "wait_minutes": 0}
    return AttemptFacts(**(base | values))


def test_unlimited_attempts_are_always_allowed():
    gate = attempt_gate(facts(max_attempts=None, submitted=50))
    assert gate.allowed and gate.remaining is None


def test_the_limit_counts_submitted_attempts():
    assert attempt_gate(facts(submitted=2)).allowed
    assert attempt_gate(facts(submitted=2)).remaining == 1
    gate = attempt_gate(facts(submitted=3))
    assert (gate.allowed, gate.reason, gate.allowed_attempts, gate.remaining) == (False, "limit", 3, 0)


def test_allowances_add_attempts():
    gate = attempt_gate(facts(submitted=3, extra_attempts=2))
    assert gate.allowed and gate.remaining == 2
    assert not attempt_gate(facts(submitted=5, extra_attempts=2)).allowed


def test_the_wait_follows_a_failed_attempt_only():
    failed = facts(wait_minutes=60, submitted=1, last_submitted_at=NOW - timedelta(minutes=59), last_passed=False)
    gate = attempt_gate(failed)
    assert (gate.allowed, gate.reason, gate.wait_until) == (False, "wait", NOW + timedelta(minutes=1))
    assert attempt_gate(facts(**{**failed.__dict__, "now": NOW + timedelta(minutes=1)})).allowed
    passed = facts(wait_minutes=60, submitted=1, last_submitted_at=NOW, last_passed=True)
    assert attempt_gate(passed).allowed
    assert attempt_gate(facts(wait_minutes=0, submitted=1, last_submitted_at=NOW, last_passed=False)).allowed


def test_the_limit_is_reported_before_the_wait():
    gate = attempt_gate(facts(submitted=3, wait_minutes=60, last_submitted_at=NOW, last_passed=False))
    assert gate.reason == "limit"
