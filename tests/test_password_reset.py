"""Password reset by email (ASVS 6.4), through the pages and a real SMTP server (aiosmtpd)."""

import hashlib
import logging
import re
import time
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy

import pytest
from sqlalchemy import select, update

from tests.conftest import PASSWORD, csrf_token
from tests.helpers import PLAIN_EMAIL_FIELDS, header_field_names, smtp_server
from tests.test_mfa import Clock, code_at, enrolled, second_step
from training.audit.models import AuditEvent
from training.auth import mfa, reset
from training.auth.models import PasswordReset, User, UserSession
from training.db import utcnow
from training.extensions import db

BASE = "https://training.example.org"
NEW_PASSWORD = "a brand new passphrase"
SENT = (
    "If an account exists for that address, we have sent a link to reset the password. It works once, for 30 minutes."
)
INVALID = "This link has expired or was already used."
LINK = re.compile(re.escape(BASE) + r"/password/reset/([A-Za-z0-9_-]+)")


class Inbox:
    def __init__(self):
        self.messages = []
        self.raw = []

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content, policy=email_policy.default)
        self.raw.append(envelope.original_content)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def wait(self, count=1):
        """The first `count` messages; they are sent on a background thread, so wait for them."""
        deadline = time.monotonic() + 10
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.messages) >= count, f"expected {count} message(s), got {len(self.messages)}"
        return [message for _, message in self.messages[:count]]


@pytest.fixture
def inbox(app):
    handler = Inbox()
    with smtp_server(handler) as port:
        app.config.update(
            MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_FROM="Training <training@example.org>"
        )
        yield handler


def ask(client, email, address="10.1.0.1"):
    data = {"email": email, "csrf_token": csrf_token(client, "/password/forgot")}
    return client.post("/password/forgot", data=data, environ_base={"REMOTE_ADDR": address})


def token_from(message) -> str:
    return LINK.search(message.get_body(("plain",)).get_content()).group(1)


def emailed_token(client, inbox, email, count=1) -> str:
    assert ask(client, email).status_code == 200
    return token_from(inbox.wait(count)[-1])


def follow(client, token):
    return client.get(f"/password/reset/{token}")


def choose(client, password=NEW_PASSWORD, confirm=None, **extra):
    data = {"password": password, "confirm": password if confirm is None else confirm, **extra}
    data["csrf_token"] = csrf_token(client, "/password/reset")
    return client.post("/password/reset", data=data)


def sign_in(client, email, password):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    return client.post("/login", data=data)


def audit(app, action):
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [(e.actor_id, e.subject_id, e.details) for e in rows]


def resets(app, user_id):
    with app.app_context():
        return db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == user_id)).all()


# --- asking for a link ----------------------------------------------------------------------------


def test_the_sign_in_page_links_to_a_labelled_forgot_form(client):
    assert 'href="/password/forgot">Forgot your password?</a>' in client.get("/login").get_data(as_text=True)
    page = client.get("/password/forgot")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<label for="email">Email</label>' in html and 'aria-describedby="email-hint"' in html
    inputs = re.findall(r'<input[^>]*name="([^"]+)"', html)
    assert inputs == ["csrf_token", "email", "submit"], "the address only: no hints or secret questions"


def test_the_answer_is_the_same_for_known_unknown_and_deactivated_addresses(app, client, inbox, make_user):
    user = make_user(email="known@example.org")
    gone = make_user(email="gone@example.org", active=False)
    answers = [ask(client, email) for email in ("nobody@example.org", "gone@example.org", " KNOWN@example.org")]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.get_data() for answer in answers}) == 1
    assert SENT in answers[0].get_data(as_text=True)
    (message,) = inbox.wait(1)
    assert "<known@example.org>" in message["To"]
    assert len(inbox.messages) == 1, "only the active account is sent a link"
    assert len(resets(app, user.id)) == 1 and resets(app, gone.id) == []
    assert [
        (actor, subject, details["outcome"]) for actor, subject, details in audit(app, "password.reset_requested")
    ] == [
        (None, "", "unknown_account"),
        (None, str(gone.id), "inactive"),
        (None, str(user.id), "sent"),
    ]


def test_the_email_holds_the_link_and_nothing_else_sensitive(app, client, inbox, make_user):
    user = make_user(email="nia@example.org", name="Nia Okafor")
    assert ask(client, user.email).status_code == 200
    (message,) = inbox.wait(1)
    text = message.get_body(("plain",)).get_content()
    token = token_from(message)
    assert len(token) >= 43, "32 random bytes"
    assert message["Subject"] == "Reset your Demo Health training password"
    assert "within 30 minutes" in text and "works once" in text
    assert not message.is_multipart(), "plain text only"
    (row,) = resets(app, user.id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)
    assert row.ip_address == "10.1.0.1"
    for secret in (row.token_hash, "10.1.0.1", user.email, PASSWORD, "password_hash", "argon2"):
        assert secret not in text
    assert LINK.findall(text) == [token]


def test_a_name_with_an_encoded_word_gets_the_same_answer_and_a_safe_email(app, client, inbox, make_user):
    """Issue 17.1: building the To header of this name raised ValueError, and asking for a link answered 500."""
    name = "Eve =?utf-8?q?=0D=0ABcc:_enc@evil.example?="
    make_user(email="eve@example.org", name=name)

    answer = ask(client, "eve@example.org")

    assert answer.status_code == 200 and SENT in answer.get_data(as_text=True)
    assert answer.get_data() == ask(client, "nobody@example.org").get_data()
    (message,) = inbox.wait(1)
    assert inbox.messages[0][0] == ["eve@example.org"]
    (address,) = message["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "eve@example.org")
    assert sorted(header_field_names(inbox.raw[0])) == PLAIN_EMAIL_FIELDS
    assert token_from(message)


def test_a_new_request_makes_the_earlier_link_stop_working(app, client, inbox, make_user):
    user = make_user()
    first = emailed_token(client, inbox, user.email)
    second = emailed_token(client, inbox, user.email, count=2)
    assert first != second
    assert follow(client, first).status_code == 404
    assert follow(client, second).status_code == 302
    assert [r.used_at is None for r in resets(app, user.id)] == [False, True]


def test_forgot_needs_csrf_and_an_email(app, client, inbox, make_user):
    user = make_user()
    refused = client.post("/password/forgot", data={"email": user.email})
    assert refused.status_code == 400
    empty = ask(client, "")
    assert empty.status_code == 422 and "Enter your email address." in empty.get_data(as_text=True)
    assert resets(app, user.id) == [] and audit(app, "password.reset_requested") == []


def test_requests_for_links_are_limited_per_email_from_any_address(app, client, inbox, make_user):
    user = make_user()
    answers = [ask(client, email, f"10.1.1.{n}").status_code for n, email in enumerate([user.email] * 3)]
    assert answers == [200, 200, 200]
    known = ask(client, user.email, "10.1.1.9")
    unknown_answers = [ask(client, "nobody@example.org", f"10.1.2.{n}").status_code for n in range(3)]
    unknown = ask(client, "nobody@example.org", "10.1.2.9")
    assert unknown_answers == [200, 200, 200]
    assert known.status_code == unknown.status_code == 429
    assert known.get_data() == unknown.get_data()
    assert "Too many requests for a reset link" in known.get_data(as_text=True) and known.headers["Retry-After"]
    assert len(inbox.wait(3)) == 3 and len(inbox.messages) == 3
    assert [(subject, details) for _, subject, details in audit(app, "password.reset_throttled")] == [
        (str(user.id), {"email": user.email, "limit": "email"}),
        ("", {"email": "nobody@example.org", "limit": "email"}),
    ]


def test_requests_for_links_are_limited_per_address(app, client):
    answers = [ask(client, f"person{n}@example.org", "10.1.3.3").status_code for n in range(10)]
    assert answers == [200] * 10
    assert ask(client, "another@example.org", "10.1.3.3").status_code == 429
    assert ask(client, "another@example.org", "10.1.3.4").status_code == 200
    assert [details["limit"] for _, _, details in audit(app, "password.reset_throttled")] == ["address"]


# --- using the link -------------------------------------------------------------------------------


def test_the_link_sets_a_new_password_once_and_ends_every_session(app, client, inbox, make_user):
    user = make_user()
    elsewhere = app.test_client()
    assert sign_in(elsewhere, user.email, PASSWORD).status_code == 302
    token = emailed_token(client, inbox, user.email)

    followed = follow(client, token)
    assert followed.status_code == 302 and followed.headers["Location"] == "/password/reset"
    form = client.get("/password/reset")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and user.email in page and token not in page
    assert page.count('type="password"') == 2 and page.count('autocomplete="new-password"') == 2
    assert "paste" not in page and form.headers["Cache-Control"] == "no-store"

    done = choose(client)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "Your password was changed" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302, "a reset does not sign anyone in"
    assert elsewhere.get("/").status_code == 302, "the session elsewhere has ended"
    with app.app_context():
        assert db.session.get(User, user.id).password_changed_at is not None
        sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
        assert [(s.ended_at is not None, s.ended_reason) for s in sessions] == [(True, "password_changed")]
    assert sign_in(client, user.email, PASSWORD).status_code == 401
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert audit(app, "password.reset") == [(user.id, str(user.id), {"sessions_ended": 1})]

    again = app.test_client()
    reused = follow(again, token)
    assert reused.status_code == 404 and INVALID in reused.get_data(as_text=True)


def test_a_person_hr_added_without_a_password_sets_their_own(app, client, inbox, make_user):
    hr = make_user(role="hr")
    assert sign_in(client, hr.email, PASSWORD).status_code == 302
    form = {
        "name": "Nia Okafor",
        "email": "nia@example.org",
        "role": "staff",
        "csrf_token": csrf_token(client, "/staff/new"),
    }
    assert client.post("/staff/new", data=form).status_code == 302
    record = client.get(f"/staff/{person_id(app, 'nia@example.org')}/edit").get_data(as_text=True)
    assert "Forgot your password?" in record and "nia@example.org" in record
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    follow(client, emailed_token(client, inbox, "nia@example.org"))
    assert choose(client).status_code == 302
    assert sign_in(client, "nia@example.org", NEW_PASSWORD).status_code == 302


def person_id(app, email):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_a_second_submit_of_the_same_link_is_refused(app, client, inbox, make_user):
    user = make_user()
    token = emailed_token(client, inbox, user.email)
    other_tab = app.test_client()
    follow(client, token)
    follow(other_tab, token)
    form_token = csrf_token(other_tab, "/password/reset")  # the form was open before the first submit
    assert choose(client).status_code == 302
    different = "a different passphrase"
    late = other_tab.post(
        "/password/reset", data={"password": different, "confirm": different, "csrf_token": form_token}
    )
    assert late.status_code == 404 and INVALID in late.get_data(as_text=True)
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert len(audit(app, "password.reset")) == 1


def test_of_two_requests_that_both_passed_the_check_only_one_claims_the_link(
    app, client, inbox, make_user, monkeypatch
):
    """The race the conditional UPDATE closes: both submits found the link usable before either used it."""
    user = make_user()
    token_hash = hashlib.sha256(emailed_token(client, inbox, user.email).encode()).hexdigest()
    with app.app_context():
        checked_early = reset.check_link(token_hash)
        reset.complete_reset(token_hash, NEW_PASSWORD)
        monkeypatch.setattr(reset, "check_link", lambda _: checked_early)
        with pytest.raises(reset.ResetLinkInvalid):
            reset.complete_reset(token_hash, "a different passphrase")
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert len(audit(app, "password.reset")) == 1


def test_unknown_used_and_expired_links_get_the_same_page(app, client, inbox, make_user):
    user = make_user()
    used = emailed_token(client, inbox, user.email)
    follow(client, used)
    choose(client)
    expired = emailed_token(client, inbox, user.email, count=2)
    with app.app_context():
        db.session.execute(update(PasswordReset).where(PasswordReset.used_at.is_(None)).values(expires_at=utcnow()))
        db.session.commit()
    pages = [follow(app.test_client(), token) for token in ("no-such-token", used, expired)]
    assert {page.status_code for page in pages} == {404}
    assert len({page.get_data() for page in pages}) == 1
    assert INVALID in pages[0].get_data(as_text=True) and 'href="/password/forgot"' in pages[0].get_data(as_text=True)


def test_a_link_that_expires_while_the_form_is_open_is_refused(app, client, inbox, make_user):
    user = make_user()
    follow(client, emailed_token(client, inbox, user.email))
    form_token = csrf_token(client, "/password/reset")
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    late = client.post(
        "/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": form_token}
    )
    assert late.status_code == 404 and INVALID in late.get_data(as_text=True)
    assert sign_in(client, user.email, PASSWORD).status_code == 302, "the password is unchanged"


def test_the_form_without_a_followed_link_is_not_found(client):
    assert client.get("/password/reset").status_code == 404
    assert client.post("/password/reset", data={"password": NEW_PASSWORD}).status_code == 400, "CSRF first"


def test_a_link_resets_only_its_own_account(app, client, inbox, make_user):
    alice = make_user(email="alice@example.org")
    bob = make_user(email="bob@example.org")
    alice_token = emailed_token(client, inbox, alice.email)
    bob_token = emailed_token(client, inbox, bob.email, count=2)
    follow(client, alice_token)
    follow(client, bob_token)  # the newest link followed in this browser is the one that counts
    assert bob.email in client.get("/password/reset").get_data(as_text=True)
    assert choose(client, email=alice.email, user_id=alice.id, token_hash="x").status_code == 302
    assert sign_in(client, bob.email, NEW_PASSWORD).status_code == 302
    assert sign_in(app.test_client(), alice.email, PASSWORD).status_code == 302, "Alice's password is unchanged"
    assert follow(app.test_client(), alice_token).status_code == 302, "and her own link still works"


def test_the_new_password_must_meet_the_rules_and_a_refusal_keeps_the_link(app, client, inbox, make_user):
    user = make_user(email="nia.okafor@example.org")
    follow(client, emailed_token(client, inbox, user.email))
    cases = [
        ("qwerty123456", None, "This password is on a list of commonly used passwords. Choose another."),
        ("short", None, "Password must be at least 12 characters."),
        ("p" * 129, None, "Password must be at most 128 characters."),
        ("I am nia.okafor really", None, "contains your email address"),
        (NEW_PASSWORD, "not the same at all", "The two passwords are not the same."),
    ]
    for password, confirm, message in cases:
        refused = choose(client, password, confirm)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in page, message
        assert 'aria-invalid="true"' in page
    assert resets(app, user.id)[0].used_at is None
    assert choose(client, "p" * 128).status_code == 302
    assert sign_in(client, user.email, "p" * 128).status_code == 302


def test_a_reset_keeps_two_step_sign_in(app, client, auth, inbox, make_user, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(mfa, "clock", lambda: clock.now)
    user, secret, _ = enrolled(client, auth, make_user, clock)
    follow(client, emailed_token(client, inbox, user.email))
    assert choose(client).status_code == 302
    password_step = sign_in(client, user.email, NEW_PASSWORD)
    assert password_step.status_code == 302 and password_step.headers["Location"] == "/login/two-step"
    assert client.get("/transcript").status_code == 302, "not signed in on the password alone"
    assert second_step(client, code_at(secret, clock.now)).status_code == 302
    assert client.get("/transcript").status_code == 200


def test_a_deactivated_account_s_link_stops_working(client, inbox, make_user, runner):
    user = make_user()
    token = emailed_token(client, inbox, user.email)
    assert runner.invoke(args=["users", "deactivate", user.email]).exit_code == 0
    assert follow(client, token).status_code == 404


# --- without a mail server ------------------------------------------------------------------------


def test_in_development_without_a_mail_server_the_email_is_printed(client, make_user, capsys):
    user = make_user()
    assert ask(client, user.email).status_code == 200
    deadline, printed = time.monotonic() + 10, ""
    while "/password/reset/" not in printed and time.monotonic() < deadline:
        time.sleep(0.01)
        printed += capsys.readouterr().out
    assert f"To: {user.name} <{user.email}>" in printed and LINK.search(printed)


def test_in_production_without_a_mail_server_no_link_is_printed_or_logged(app, client, make_user, capsys, caplog):
    app.config["TRAINING_ENV"] = "production"  # the HTTPS settings stay as made for the test client
    user = make_user()
    with caplog.at_level(logging.WARNING):
        answer = ask(client, user.email)
    assert answer.status_code == 200 and SENT in answer.get_data(as_text=True)
    assert "MAIL_SERVER is not set" in caplog.text and "/password/reset/" not in caplog.text
    assert "/password/reset/" not in capsys.readouterr().out


def test_a_mail_misconfiguration_gives_the_same_answer(app, client, make_user, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_FROM="")
    user = make_user()
    with caplog.at_level(logging.ERROR):
        answers = [ask(client, email) for email in (user.email, "nobody@example.org")]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].get_data() == answers[1].get_data()
    assert "MAIL_FROM must be an email address" in caplog.text
