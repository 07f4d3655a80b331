"""Sign-in throttling (ASVS 6.3.1) and the sign-in audit trail (ASVS 16.3.1), through POST /login.

Each test's app gets fresh in-memory counts (conftest); the Redis tests use their own database
number and empty it before and after.
"""

import time
from types import SimpleNamespace

import limits.storage.memory
import pytest
import redis
from sqlalchemy import select

from tests.conftest import PASSWORD, TEST_SETTINGS, csrf_token, redis_test_url
from tests.test_mfa import Clock, code_at, enrolled, second_step
from training import create_app
from training.audit.models import AuditEvent
from training.auth import mfa
from training.extensions import db

REDIS_URL = redis_test_url(11)


def sign_in(client, email, password=PASSWORD, address="10.0.0.1"):
    """POST /login from `address` (the CSRF token comes from a GET, which is never counted)."""
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def fail(client, email, times, first_address=1):
    """`times` wrong passwords for `email`, each from another address."""
    return [sign_in(client, email, "wrong password!", f"10.0.1.{first_address + n}").status_code for n in range(times)]


def events(app, action):
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(e.subject_id, e.details, e.ip_address, e.actor_id) for e in rows]


@pytest.fixture
def totp_clock(monkeypatch):
    """The two-step sign-in clock (see tests/test_mfa.py)."""
    clock = Clock()
    monkeypatch.setattr(mfa, "clock", lambda: clock.now)
    return clock


@pytest.fixture
def clock(monkeypatch):
    """The in-memory rate-limit store's clock, moved on by hand (`clock.now += seconds`)."""
    fake = SimpleNamespace(now=time.time())
    fake.time = lambda: fake.now
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    return fake


def test_the_sixth_failure_for_one_account_pauses_it_from_any_address(client, make_user):
    user = make_user()
    assert fail(client, user.email, 5) == [401] * 5
    paused = sign_in(client, user.email, PASSWORD, address="10.0.2.1")
    assert paused.status_code == 429, "even the right password waits"
    page = paused.get_data(as_text=True)
    assert "Sign-in is paused for a while" in page and "Wait up to 15 minutes" in page
    assert 'href="/password/forgot"' in page
    assert 0 < int(paused.headers["Retry-After"]) <= 15 * 60
    assert client.get("/").status_code == 302, "not signed in"
    other = make_user()
    assert sign_in(client, other.email, address="10.0.2.1").status_code == 302, "other accounts are not paused"


def test_the_pause_is_the_same_whether_or_not_the_account_exists(client, make_user, clock):
    user = make_user()
    fail(client, user.email, 5)
    fail(client, "nobody@example.org", 5, first_address=100)
    known = sign_in(client, user.email, address="10.0.3.1")
    unknown = sign_in(client, "nobody@example.org", address="10.0.3.2")
    assert known.status_code == unknown.status_code == 429
    assert known.get_data() == unknown.get_data()
    assert known.headers["Retry-After"] and unknown.headers["Retry-After"]
    assert set(known.headers.keys()) == set(unknown.headers.keys())


def test_the_account_is_the_submitted_email_normalised(client, make_user):
    make_user(email="nurse@example.org")
    fail(client, "nurse@example.org", 3)
    fail(client, "  NURSE@Example.ORG ", 2, first_address=50)
    assert sign_in(client, "Nurse@example.org").status_code == 429


def test_failures_from_one_address_are_limited_across_accounts(client, make_user):
    user = make_user()
    statuses = [sign_in(client, f"guess{n}@example.org", "wrong password!", "10.0.4.4").status_code for n in range(30)]
    assert statuses == [401] * 30
    assert sign_in(client, user.email, address="10.0.4.4").status_code == 429
    assert sign_in(client, user.email, address="10.0.4.5").status_code == 302, "other addresses are not paused"


def test_successful_sign_ins_cost_nothing(client, auth, make_user):
    user = make_user()
    for _ in range(8):
        assert sign_in(client, user.email, address="10.0.5.5").status_code == 302
        auth.logout()
    assert fail(client, user.email, 5) == [401] * 5, "the eight sign-ins used none of the five failures"
    assert sign_in(client, user.email).status_code == 429


def test_after_the_window_earlier_failures_no_longer_count(client, make_user, clock):
    user = make_user()
    fail(client, user.email, 5)
    assert sign_in(client, user.email).status_code == 429
    clock.now += 15 * 60 + 1
    assert sign_in(client, user.email).status_code == 302


def test_bad_form_posts_are_not_counted_as_failed_sign_ins(client, make_user):
    user = make_user()
    for _ in range(6):
        assert sign_in(client, user.email, "").status_code == 422
    assert sign_in(client, user.email).status_code == 302


def test_limits_come_from_the_settings(app, client, make_user):
    app.config["SIGN_IN_RATE_LIMIT_ACCOUNT"] = "2 per hour"
    user = make_user()
    assert fail(client, user.email, 2) == [401, 401]
    paused = sign_in(client, user.email)
    assert paused.status_code == 429 and "Wait up to 60 minutes" in paused.get_data(as_text=True)


# --- the audit trail ------------------------------------------------------------------------------


def test_every_failed_sign_in_is_audited_with_its_reason_and_answered_the_same(app, client, make_user):
    user = make_user(email="known@example.org")
    inactive = make_user(email="gone@example.org", active=False)
    answers = [
        sign_in(client, " Known@Example.org", "wrong password!", "10.0.6.1"),
        sign_in(client, "stranger@example.org", PASSWORD, "10.0.6.2"),
        sign_in(client, "gone@example.org", PASSWORD, "10.0.6.3"),
        sign_in(client, PASSWORD, PASSWORD, "10.0.6.4"),  # the password typed into the email field
    ]
    assert {(a.status_code, a.get_data(as_text=True).count("Email or password is incorrect.")) for a in answers} == {
        (401, 1)
    }
    assert events(app, "user.sign_in_failed") == [
        (str(user.id), {"email": "known@example.org", "reason": "wrong_password"}, "10.0.6.1", None),
        ("", {"email": "stranger@example.org", "reason": "unknown_account"}, "10.0.6.2", None),
        (str(inactive.id), {"email": "gone@example.org", "reason": "inactive"}, "10.0.6.3", None),
        ("", {"email": "(not an email address)", "reason": "unknown_account"}, "10.0.6.4", None),
    ]
    assert events(app, "user.signed_in") == []


def test_a_sign_in_is_audited_with_the_address(app, client, make_user):
    user = make_user()
    assert sign_in(client, user.email, address="10.0.7.7").status_code == 302
    assert events(app, "user.signed_in") == [(str(user.id), {"two_step": False}, "10.0.7.7", user.id)]
    assert events(app, "user.sign_in_failed") == []


def test_a_sign_in_with_a_second_step_is_audited_once_it_is_complete(app, client, auth, make_user, totp_clock):
    user, secret, _ = enrolled(client, auth, make_user, totp_clock)
    assert [details for _, details, _, _ in events(app, "user.signed_in")] == [{"two_step": False}]
    assert auth.login(user).headers["Location"] == "/login/two-step"
    assert len(events(app, "user.signed_in")) == 1, "the password alone is not a sign-in"
    assert second_step(client, code_at(secret, totp_clock.now)).status_code == 302
    assert [details for _, details, _, _ in events(app, "user.signed_in")] == [{"two_step": False}, {"two_step": True}]


def test_a_paused_sign_in_is_audited_as_throttled(app, client, make_user):
    user = make_user()
    fail(client, user.email, 5)
    sign_in(client, user.email, address="10.0.8.8")
    sign_in(client, "nobody@example.org", "wrong password!", address="10.0.8.9")
    assert events(app, "user.sign_in_throttled") == [
        (str(user.id), {"email": user.email, "limit": "account"}, "10.0.8.8", None)
    ]
    assert events(app, "user.signed_in") == []
    assert len(events(app, "user.sign_in_failed")) == 6


def test_a_sign_in_paused_by_address_says_so_in_the_audit(app, client, make_user):
    app.config["SIGN_IN_RATE_LIMIT_ADDRESS"] = "2 per 15 minutes"
    sign_in(client, "a@example.org", "wrong password!", "10.0.9.9")
    sign_in(client, "b@example.org", "wrong password!", "10.0.9.9")
    assert sign_in(client, "c@example.org", "wrong password!", "10.0.9.9").status_code == 429
    assert events(app, "user.sign_in_throttled") == [
        ("", {"email": "c@example.org", "limit": "address"}, "10.0.9.9", None)
    ]


# --- counts shared through Redis ------------------------------------------------------------------


@pytest.fixture
def redis_db():
    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    yield server
    server.flushdb()
    server.close()


def another_app(app, storage_uri):
    """A second instance of the app (another worker or server) on the same database."""
    keys = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "TRAINING_ENV", "MFA_REQUIRED", *TEST_SETTINGS)
    return create_app({**{key: app.config[key] for key in keys}, "RATELIMIT_STORAGE_URI": storage_uri})


def dispose(*apps):
    for instance in apps:
        with instance.app_context():
            db.session.remove()
            db.engine.dispose()


def test_with_redis_app_instances_share_the_failure_counts(app, make_user, redis_db):
    user = make_user()
    first = another_app(app, REDIS_URL)
    assert fail(first.test_client(), user.email, 5) == [401] * 5
    assert redis_db.dbsize() > 0, "the counts are in Redis"
    second = another_app(app, REDIS_URL)
    assert sign_in(second.test_client(), user.email).status_code == 429
    dispose(first, second)


def test_without_redis_each_app_instance_counts_on_its_own(app, make_user):
    user = make_user()
    first = another_app(app, "memory://")
    assert fail(first.test_client(), user.email, 5) == [401] * 5
    second = another_app(app, "memory://")
    assert sign_in(second.test_client(), user.email).status_code == 302
    dispose(first, second)
