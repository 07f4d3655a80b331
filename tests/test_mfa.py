"""Two-step sign-in (TOTP) through HTTP: enrolment as a person does it (reading the key from the
page, making codes with pyotp), the second step of sign-in, recovery codes, turning it off, the
admin's reset, the enrolment gate for roles that require it, throttling and the audit record."""

import base64
import re
import subprocess
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from sqlalchemy import func, select, update

from tests.conftest import PASSWORD, csrf_token
from training.audit.models import AuditEvent
from training.auth import mfa, totp
from training.auth.models import Department, RecoveryCode, User, UserSession
from training.auth.pending import PENDING_KEY
from training.config import load_config
from training.db import utcnow
from training.extensions import db

# A fixed clock for TOTP checks, in the middle of a 30-second step.
START = 30 * 63_333_334 + 10.0
SETUP = "/account/two-step/setup"
RECOVERY_CODE = re.compile(r"<li>([0-9a-z]{4}(?:-[0-9a-z]{4}){5})</li>")


class Clock:
    def __init__(self):
        self.now = START

    def step(self, steps: int = 1) -> None:
        self.now += 30 * steps


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(mfa, "clock", lambda: clock.now)
    return clock


def step_of(when: float) -> int:
    return int(when // 30)


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def secret_on_page(html: str) -> str:
    """The key as a person reads it off the setup page to type into their app."""
    match = re.search(r'id="secret-key">([A-Z2-7 ]+)</p>', html)
    assert match, "no key on the setup page"
    return match.group(1).replace(" ", "")


def enrol(client, auth, clock, password=PASSWORD) -> tuple[str, list[str]]:
    """Set up two-step sign-in for the signed-in user; returns the secret and the recovery codes."""
    secret = secret_on_page(client.get(SETUP).get_data(as_text=True))
    response = auth.post(SETUP, {"code": code_at(secret, clock.now), "password": password}, token_from=SETUP)
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = RECOVERY_CODE.findall(response.get_data(as_text=True))
    clock.step()  # the confirming code's step is used up
    return secret, codes


def second_step(client, code: str, path="/login/two-step"):
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client, path)})


def sign_in(client, auth, user, secret, clock, **kwargs):
    response = auth.login(user, **kwargs)
    assert response.status_code == 302 and response.headers["Location"] == "/login/two-step"
    return second_step(client, code_at(secret, clock.now))


def enrolled(client, auth, make_user, clock, role="staff", **kwargs):
    """A user who has set up two-step sign-in and signed out again."""
    user = make_user(role=role, **kwargs)
    auth.login(user)
    secret, codes = enrol(client, auth, clock)
    auth.logout()
    return user, secret, codes


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars()
        )


def user_row(app, user_id: int) -> User:
    with app.app_context():
        return db.session.get(User, user_id)


def live_sessions(app, user_id: int) -> int:
    with app.app_context():
        query = select(func.count()).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        return db.session.execute(query).scalar_one()


def signed_in(client) -> bool:
    return client.get("/transcript").status_code == 200


# --- enrolment ------------------------------------------------------------------------------------


def test_enrolment_end_to_end_then_every_sign_in_needs_a_code(app, client, auth, make_user, clock):
    user = make_user()
    auth.login(user)
    off = client.get("/account/two-step").get_data(as_text=True)
    assert "<strong>Off.</strong>" in off and 'href="/account/two-step/setup"' in off

    page = client.get(SETUP)
    assert page.status_code == 200
    secret = secret_on_page(page.get_data(as_text=True))
    assert len(secret) == 32
    response = auth.post(SETUP, {"code": code_at(secret, clock.now), "password": PASSWORD}, token_from=SETUP)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only this once" in html and "I have saved these codes" in html
    codes = RECOVERY_CODE.findall(html)
    assert len(codes) == 10 and len(set(codes)) == 10

    status = client.get("/account/two-step").get_data(as_text=True)
    assert "<strong>On</strong> since" in status and "10 unused recovery codes left" in status
    assert codes[0] not in status, "recovery codes are shown once only"
    assert client.get(SETUP).headers["Location"] == "/account/two-step"
    [enabled] = events(app, "mfa.enabled")
    assert enabled.actor_id == user.id and enabled.subject_id == str(user.id)
    assert enabled.details["recovery_codes"] == 10

    auth.logout()
    response = auth.login(user, next_path="/transcript")
    assert response.status_code == 302 and response.headers["Location"] == "/login/two-step"
    assert not signed_in(client), "the password alone does not sign in"
    assert live_sessions(app, user.id) == 0, "no session exists until the second step"
    assert "code it shows" in client.get("/login/two-step").get_data(as_text=True)
    clock.step()
    response = second_step(client, code_at(secret, clock.now))
    assert response.status_code == 302 and response.headers["Location"] == "/transcript"
    assert signed_in(client) and live_sessions(app, user.id) == 1
    with client.session_transaction() as session:
        assert PENDING_KEY not in session, "the pending sign-in is gone with the old session's contents"
    [verified] = events(app, "mfa.verified")
    assert verified.actor_id == user.id


def test_the_qr_code_scans_to_the_otpauth_uri(app, client, auth, make_user, tmp_path):
    """The image on the page, read by zbar as a phone's camera would read it (README: test packages)."""
    user = make_user(email="qr.person@example.org")
    auth.login(user)
    html = client.get(SETUP).get_data(as_text=True)
    match = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, "no QR image on the setup page"
    png = tmp_path / "qr.png"
    png.write_bytes(base64.b64decode(match.group(1)))
    scanned = subprocess.run(["zbarimg", "--quiet", "--raw", png], check=True, capture_output=True, text=True)
    uri = urlparse(scanned.stdout.strip())
    query = parse_qs(uri.query)
    issuer = app.config["ORGANISATION_NAME"]
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/{issuer}:qr.person@example.org"
    assert query["secret"] == [secret_on_page(html)] and query["issuer"] == [issuer]


def test_the_secret_is_stored_encrypted(app, client, auth, make_user, clock):
    user = make_user()
    auth.login(user)
    secret = secret_on_page(client.get(SETUP).get_data(as_text=True))
    with client.session_transaction() as session:
        assert secret not in repr(dict(session)), "the pending secret is not readable in the session cookie"
    assert user_row(app, user.id).totp_secret is None, "nothing is stored before the code is confirmed"
    auth.post(SETUP, {"code": code_at(secret, clock.now), "password": PASSWORD}, token_from=SETUP)
    stored = user_row(app, user.id).totp_secret
    assert stored and secret not in stored and stored != secret
    assert totp.SecretBox(app.config["SECRET_KEY"]).decrypt(stored) == secret
    assert totp.SecretBox("another key").decrypt(stored) is None


def test_the_key_stays_the_same_while_the_page_is_reloaded(client, auth, make_user):
    auth.login(make_user())
    assert secret_on_page(client.get(SETUP).get_data(as_text=True)) == secret_on_page(
        client.get(SETUP).get_data(as_text=True)
    )


@pytest.mark.parametrize(
    ("field", "message"), [("code", "That code is not right"), ("password", "That is not your current password")]
)
def test_a_wrong_code_or_password_at_setup_turns_nothing_on(app, client, auth, make_user, clock, field, message):
    user = make_user()
    auth.login(user)
    secret = secret_on_page(client.get(SETUP).get_data(as_text=True))
    data = {"code": code_at(secret, clock.now), "password": PASSWORD}
    data[field] = "000000" if field == "code" and data["code"] != "000000" else "wrong password here"
    response = auth.post(SETUP, data, token_from=SETUP)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert user_row(app, user.id).totp_enabled_at is None and events(app, "mfa.enabled") == []


def test_a_setup_left_too_long_shows_a_new_key(app, client, auth, make_user, clock, monkeypatch):
    user = make_user()
    auth.login(user)
    old = secret_on_page(client.get(SETUP).get_data(as_text=True))
    monkeypatch.setattr(mfa, "SETUP_SECONDS", -1)
    response = auth.post(SETUP, {"code": code_at(old, clock.now), "password": PASSWORD}, token_from=SETUP)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Setup took too long" in html
    assert secret_on_page(html) != old and user_row(app, user.id).totp_enabled_at is None


def test_enabling_ends_the_accounts_other_sessions(app, client, auth, make_user, clock):
    """A session opened with the password alone (before enrolment) does not carry on after it."""
    user = make_user()
    other = app.test_client()
    other_auth = type(auth)(other)
    other_auth.login(user)
    assert signed_in(other)
    auth.login(user)
    enrol(client, auth, clock)
    assert signed_in(client), "the session that enrolled stays"
    response = other.get("/transcript")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert events(app, "mfa.enabled")[0].details["other_sessions_ended"] == 1


# --- the second step ------------------------------------------------------------------------------


def test_a_wrong_code_is_refused_with_one_message(app, client, auth, make_user, clock):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    wrong = "000000" if code_at(secret, clock.now) != "000000" else "111111"
    for attempt in (wrong, "12345", "abcdef", "1234567"):
        response = second_step(client, attempt)
        assert response.status_code == 401
        assert mfa.WRONG_CODE in response.get_data(as_text=True)
    assert not signed_in(client)
    failed = events(app, "mfa.failed")
    assert len(failed) == 4 and {e.details["method"] for e in failed} == {"code"}
    assert all(e.actor_id == user.id for e in failed)


def test_an_empty_code_is_a_form_error_not_a_failure(app, client, auth, make_user, clock):
    user, _, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    response = second_step(client, "")
    assert response.status_code == 422 and "Enter the 6-digit code" in response.get_data(as_text=True)
    assert events(app, "mfa.failed") == []


def test_a_code_is_accepted_only_once(app, client, auth, make_user, clock):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    clock.step(-1)
    auth.login(user)
    assert second_step(client, code_at(secret, clock.now)).status_code == 401, "the enrolment code is used up"
    clock.step()
    response = second_step(client, code_at(secret, clock.now))
    assert response.status_code == 302 and signed_in(client)
    auth.logout()
    auth.login(user)
    replay = second_step(client, code_at(secret, clock.now))
    assert replay.status_code == 401 and mfa.WRONG_CODE in replay.get_data(as_text=True)
    clock.step()
    assert second_step(client, code_at(secret, clock.now)).status_code == 302


@pytest.mark.parametrize(("offset", "accepted"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_codes_from_one_step_either_side_are_accepted(client, auth, make_user, clock, offset, accepted):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    clock.step(3)
    auth.login(user)
    response = second_step(client, code_at(secret, clock.now + 30 * offset))
    assert (response.status_code == 302) is accepted


def test_codes_typed_with_spaces_are_accepted(client, auth, make_user, clock):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    code = code_at(secret, clock.now)
    assert second_step(client, f" {code[:3]} {code[3:]} ").status_code == 302


def test_the_pending_sign_in_lapses_after_five_minutes(client, auth, make_user, clock):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    token = csrf_token(client, "/login/two-step")
    with client.session_transaction() as session:
        pending = session[PENDING_KEY]
        pending["started"] -= 5 * 60 + 1
        session[PENDING_KEY] = pending
    response = client.post("/login/two-step", data={"code": code_at(secret, clock.now), "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Your sign-in timed out" in client.get("/login").get_data(as_text=True)
    assert not signed_in(client)
    assert client.get("/login/two-step").headers["Location"] == "/login"


def test_the_second_step_needs_a_pending_sign_in(client):
    assert client.get("/login/two-step").headers["Location"] == "/login"
    assert client.get("/login/recovery").headers["Location"] == "/login"
    response = client.post("/login/two-step", data={"code": "123456", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/login"


def test_five_wrong_codes_need_the_password_again_and_then_wait(app, client, auth, make_user, clock):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    wrong = "000000" if code_at(secret, clock.now) != "000000" else "111111"
    statuses = [second_step(client, wrong).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 302]
    assert "Too many wrong codes" in client.get("/login").get_data(as_text=True)
    assert client.get("/login/two-step").headers["Location"] == "/login", "the pending sign-in was dropped"
    auth.login(user)
    response = second_step(client, code_at(secret, clock.now))
    assert response.status_code == 429 and not signed_in(client)
    assert len(events(app, "mfa.failed")) == 5


def test_an_older_session_cookie_does_not_buy_more_tries(app, client, auth, make_user, clock, monkeypatch):
    """The failure count is kept on the server: replaying the cookie from before the failures
    does not reset it (the rate limit is lifted here to show that on its own)."""
    app.config["MFA_RATE_LIMIT_ACCOUNT"] = "100 per 5 minutes"
    user, secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    token = csrf_token(client, "/login/two-step")
    cookie = client.get_cookie("session").value
    wrong = "000000" if code_at(secret, clock.now) != "000000" else "111111"
    for _ in range(5):
        client.set_cookie("session", cookie)
        client.post("/login/two-step", data={"code": wrong, "csrf_token": token})
    client.set_cookie("session", cookie)
    response = client.post("/login/two-step", data={"code": code_at(secret, clock.now), "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not signed_in(client)


def test_wrong_codes_from_one_address_are_throttled_across_accounts(app, client, auth, make_user, clock):
    app.config["MFA_RATE_LIMIT_ADDRESS"] = "3 per 5 minutes"
    first, first_secret, _ = enrolled(client, auth, make_user, clock)
    second, second_secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(first)
    wrong = "000000" if code_at(first_secret, clock.now) != "000000" else "111111"
    assert [second_step(client, wrong).status_code for _ in range(3)] == [401, 401, 401]
    neighbour = app.test_client()
    type(auth)(neighbour).login(second)
    assert second_step(neighbour, code_at(second_secret, clock.now)).status_code == 429


def test_right_codes_do_not_use_up_the_limit(app, client, auth, make_user, clock):
    app.config["MFA_RATE_LIMIT_ACCOUNT"] = "2 per 5 minutes"
    user, secret, _ = enrolled(client, auth, make_user, clock)
    for _ in range(3):
        clock.step()
        assert sign_in(client, auth, user, secret, clock).status_code == 302
        auth.logout()


def test_a_deactivated_account_cannot_finish_the_second_step(app, client, auth, make_user, clock, runner):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    auth.login(user)
    runner.invoke(args=["users", "deactivate", user.email])
    response = second_step(client, code_at(secret, clock.now))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not signed_in(client)


# --- recovery codes -------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(app, client, auth, make_user, clock):
    user, _, codes = enrolled(client, auth, make_user, clock)
    auth.login(user)
    page = client.get("/login/two-step").get_data(as_text=True)
    assert 'href="/login/recovery"' in page and "Use a recovery code instead" in page
    typed = " " + codes[0].upper().replace("-", " ") + " "
    response = second_step(client, typed, "/login/recovery")
    assert response.status_code == 302 and signed_in(client)
    [used] = events(app, "mfa.recovery_code_used")
    assert used.actor_id == user.id and used.details == {"codes_left": 9}
    assert "recovery codes left" not in client.get("/").get_data(as_text=True), "no warning with 9 left"
    auth.logout()
    auth.login(user)
    again = second_step(client, codes[0], "/login/recovery")
    assert again.status_code == 401 and mfa.WRONG_CODE in again.get_data(as_text=True)
    assert events(app, "mfa.failed")[-1].details["method"] == "recovery_code"
    assert second_step(client, codes[1], "/login/recovery").status_code == 302


def test_a_warning_when_three_or_fewer_recovery_codes_are_left(app, client, auth, make_user, clock):
    user, _, codes = enrolled(client, auth, make_user, clock)
    with app.app_context():
        hashes = [totp.recovery_code_hash(code) for code in codes[:6]]
        for row in db.session.execute(select(RecoveryCode).where(RecoveryCode.code_hash.in_(hashes))).scalars():
            row.used_at = row.created_at
        db.session.commit()
    auth.login(user)
    response = second_step(client, codes[6], "/login/recovery")
    assert response.status_code == 302
    assert "You have 3 recovery codes left" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert events(app, "mfa.recovery_code_used")[0].details == {"codes_left": 3}


def test_recovery_codes_are_stored_as_digests(app, client, auth, make_user, clock):
    user, _, codes = enrolled(client, auth, make_user, clock)
    with app.app_context():
        query = select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
        stored = set(db.session.execute(query).scalars())
    assert stored == {totp.recovery_code_hash(code) for code in codes}
    assert not any(totp.normalise_recovery_code(code) in stored for code in codes)


def test_new_recovery_codes_replace_the_unused_old_ones(app, client, auth, make_user, clock):
    user, secret, old = enrolled(client, auth, make_user, clock)
    sign_in(client, auth, user, secret, clock)
    token = csrf_token(client, "/account/two-step")
    refused = client.post(
        "/account/two-step/recovery-codes",
        data={"regenerate-csrf_token": token, "regenerate-password": "wrong password here"},
    )
    assert refused.status_code == 422 and "That is not your current password" in refused.get_data(as_text=True)
    response = client.post(
        "/account/two-step/recovery-codes", data={"regenerate-csrf_token": token, "regenerate-password": PASSWORD}
    )
    new = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert "Your old codes no longer work" in response.get_data(as_text=True)
    [event] = events(app, "mfa.recovery_codes_regenerated")
    assert event.actor_id == user.id and event.details == {"recovery_codes": 10}
    auth.logout()
    auth.login(user)
    assert second_step(client, old[0], "/login/recovery").status_code == 401
    assert second_step(client, new[0], "/login/recovery").status_code == 302


def test_wrong_passwords_on_the_two_step_page_are_throttled(app, client, auth, make_user, clock):
    app.config["MFA_RATE_LIMIT_ACCOUNT"] = "2 per 5 minutes"
    user, secret, _ = enrolled(client, auth, make_user, clock)
    clock.step()
    sign_in(client, auth, user, secret, clock)
    token = csrf_token(client, "/account/two-step")
    data = {"regenerate-csrf_token": token, "regenerate-password": "wrong password here"}
    statuses = [client.post("/account/two-step/recovery-codes", data=data).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]


# --- turning it off, and the admin's reset --------------------------------------------------------


def disable(client, password, code):
    token = csrf_token(client, "/account/two-step")
    data = {"disable-csrf_token": token, "disable-password": password, "disable-code": code}
    return client.post("/account/two-step/disable", data=data)


def test_turning_it_off_needs_the_password_and_a_code(app, client, auth, make_user, clock):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    sign_in(client, auth, user, secret, clock)
    clock.step()
    assert disable(client, "wrong password here", code_at(secret, clock.now)).status_code == 422
    wrong = "000000" if code_at(secret, clock.now) != "000000" else "111111"
    response = disable(client, PASSWORD, wrong)
    assert response.status_code == 422 and mfa.WRONG_CODE in response.get_data(as_text=True)
    assert user_row(app, user.id).totp_enabled_at is not None
    response = disable(client, PASSWORD, code_at(secret, clock.now))
    assert response.status_code == 302 and "Two-step sign-in is off" in client.get("/account/two-step").get_data(
        as_text=True
    )
    row = user_row(app, user.id)
    assert (row.totp_secret, row.totp_enabled_at, row.totp_last_step) == (None, None, None)
    [event] = events(app, "mfa.disabled")
    assert event.actor_id == user.id
    auth.logout()
    response = auth.login(user)
    assert response.headers["Location"] == "/" and signed_in(client), "the password alone signs in again"
    with app.app_context():
        unused = db.session.execute(
            select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).scalar_one()
    assert unused == 0


@pytest.mark.parametrize("role", ["hr", "admin"])
def test_roles_that_require_it_cannot_turn_it_off(app, client, auth, make_user, clock, role):
    user, secret, _ = enrolled(client, auth, make_user, clock, role=role)
    app.config["MFA_REQUIRED"] = True
    sign_in(client, auth, user, secret, clock)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "cannot be turned off" in page and "disable-password" not in page
    clock.step()
    response = disable(client, PASSWORD, code_at(secret, clock.now))
    assert response.status_code == 403 and "Your role requires two-step sign-in" in response.get_data(as_text=True)
    assert user_row(app, user.id).totp_enabled_at is not None and events(app, "mfa.disabled") == []


def test_an_admin_resets_a_lost_phone(app, client, auth, make_user, clock):
    person, secret, _ = enrolled(client, auth, make_user, clock, role="hr")
    person_client = app.test_client()
    sign_in(person_client, type(auth)(person_client), person, secret, clock)
    assert signed_in(person_client)
    admin = make_user(role="admin")
    auth.login(admin)
    page = client.get(f"/staff/{person.id}/edit").get_data(as_text=True)
    assert "Reset two-step sign-in" in page
    response = auth.post(f"/staff/{person.id}/two-step/reset", token_from=f"/staff/{person.id}/edit")
    assert response.status_code == 302 and response.headers["Location"] == f"/staff/{person.id}/edit"
    assert "is reset and they are signed out everywhere" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert not signed_in(person_client), "the person's sessions ended"
    row = user_row(app, person.id)
    assert row.totp_secret is None and row.totp_enabled_at is None
    [event] = events(app, "mfa.reset")
    assert event.actor_id == admin.id and event.subject_id == str(person.id) and event.details["sessions_ended"] == 1
    again = auth.post(f"/staff/{person.id}/two-step/reset", token_from=f"/staff/{person.id}/edit")
    assert again.status_code == 409

    app.config["MFA_REQUIRED"] = True
    person_auth = type(auth)(person_client)
    response = person_auth.login(person)
    assert response.status_code == 302 and response.headers["Location"] == "/", "no second step any more"
    assert person_client.get("/").headers["Location"] == SETUP, "and the hr role must set it up again"


@pytest.mark.parametrize("role", ["hr", "staff", "manager"])
def test_only_admins_reset_two_step_sign_in(app, client, auth, make_user, clock, role):
    person, _, _ = enrolled(client, auth, make_user, clock)
    auth.login(make_user(role=role))
    token = csrf_token(client, "/")
    response = client.post(f"/staff/{person.id}/two-step/reset", data={"csrf_token": token})
    assert response.status_code == 403
    assert user_row(app, person.id).totp_enabled_at is not None
    if role == "hr":
        assert "Reset two-step sign-in" not in client.get(f"/staff/{person.id}/edit").get_data(as_text=True)


def test_hr_cannot_reset_an_admins_two_step_sign_in(app, client, auth, make_user, clock):
    admin, _, _ = enrolled(client, auth, make_user, clock, role="admin")
    auth.login(make_user(role="hr"))
    response = client.post(f"/staff/{admin.id}/two-step/reset", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 403 and user_row(app, admin.id).totp_enabled_at is not None


def test_an_admin_cannot_reset_their_own(app, client, auth, make_user, clock):
    admin, secret, _ = enrolled(client, auth, make_user, clock, role="admin")
    sign_in(client, auth, admin, secret, clock)
    assert "Reset two-step sign-in" not in client.get(f"/staff/{admin.id}/edit").get_data(as_text=True)
    response = auth.post(f"/staff/{admin.id}/two-step/reset", token_from="/")
    assert response.status_code == 403 and user_row(app, admin.id).totp_enabled_at is not None


def test_resetting_an_unknown_person_is_not_found(client, auth, make_user):
    auth.login(make_user(role="admin"))
    assert auth.post("/staff/99999/two-step/reset").status_code == 404


# --- the enrolment gate for roles that require it -------------------------------------------------


@pytest.mark.parametrize("role", ["hr", "admin"])
def test_roles_that_require_it_must_set_it_up_first(app, client, auth, make_user, clock, role):
    app.config["MFA_REQUIRED"] = True
    user = make_user(role=role)
    response = auth.login(user)
    assert response.status_code == 302
    for path in ("/", "/staff", "/compliance", "/transcript"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"] == SETUP, path
    page = client.get(SETUP).get_data(as_text=True)
    assert "Your role requires two-step sign-in. Set it up to continue." in page
    assert client.get("/account/two-step").status_code == 200
    stylesheet = client.get("/static/app.css")
    assert stylesheet.status_code == 200
    stylesheet.close()
    assert client.get("/no/such/page").status_code == 404

    token = csrf_token(client, SETUP)
    response = client.post("/staff/departments", data={"csrf_token": token, "name": "Sneaked In"})
    assert response.status_code == 302 and response.headers["Location"] == SETUP
    with app.app_context():
        assert db.session.execute(select(Department).where(Department.name == "Sneaked In")).first() is None

    json_response = client.get("/compliance", headers={"Accept": "application/json"})
    assert json_response.status_code == 403 and json_response.json["error"]["code"] == "two_step_required"

    enrol(client, auth, clock)
    assert client.get("/").status_code == 200 and client.get("/staff").status_code == 200
    assert auth.logout().headers["Location"] == "/login"


def test_sign_out_works_before_setting_it_up(app, client, auth, make_user):
    app.config["MFA_REQUIRED"] = True
    auth.login(make_user(role="hr"))
    response = client.post("/logout", data={"csrf_token": csrf_token(client, SETUP)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["staff", "manager", "author"])
def test_other_roles_are_not_asked_to_set_it_up(app, client, auth, make_user, role):
    app.config["MFA_REQUIRED"] = True
    auth.login(make_user(role=role))
    page = client.get("/")
    assert page.status_code == 200 and "Two-step sign-in" not in page.get_data(as_text=True)
    assert client.get("/account/two-step").status_code == 200, "they may still turn it on themselves"


def test_with_mfa_required_off_nobody_is_held_at_setup(client, auth, make_user):
    auth.login(make_user(role="admin"))
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(("role", "shown"), [("staff", False), ("hr", True), ("admin", True)])
def test_the_account_page_links_to_two_step_sign_in_for_roles_that_need_it(client, auth, make_user, role, shown):
    """Part of your account, not of the header (docs/navigation.md)."""
    auth.login(make_user(role=role))
    assert ('href="/account/two-step"' in client.get("/account").get_data(as_text=True)) is shown
    assert 'href="/account/two-step"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/account/two-step", SETUP, "/account/two-step/recovery-codes", "/account/two-step/disable"]
)
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    if path in ("/account/two-step", SETUP):
        response = client.get(path)
    else:
        response = client.post(path, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_every_change_is_a_post(client, auth, make_user):
    auth.login(make_user())
    for path in ("/account/two-step/recovery-codes", "/account/two-step/disable", "/staff/1/two-step/reset"):
        assert client.get(path).status_code == 405, path


def test_a_form_without_its_csrf_token_is_refused(app, client, auth, make_user, clock):
    user = make_user()
    auth.login(user)
    secret = secret_on_page(client.get(SETUP).get_data(as_text=True))
    response = client.post(SETUP, data={"code": code_at(secret, clock.now), "password": PASSWORD})
    assert response.status_code == 400 and user_row(app, user.id).totp_enabled_at is None


def test_two_requests_racing_with_one_code_cannot_both_succeed(app, client, auth, make_user, clock):
    """The second request read the user before the first stored the step: the conditional UPDATE
    still refuses it."""
    user, secret, _ = enrolled(client, auth, make_user, clock)
    code = code_at(secret, clock.now)
    with app.app_context():
        stale = db.session.get(User, user.id)
        assert stale.totp_last_step == step_of(clock.now) - 1
        with db.engine.begin() as other_request:
            other_request.execute(update(User).where(User.id == user.id).values(totp_last_step=step_of(clock.now)))
        outcome = mfa.verify_code(user.id, code, since=utcnow(), ip_address="")
        assert outcome.user is None and not outcome.locked


@pytest.mark.parametrize(("fallbacks", "works"), [(["test secret key"], True), ([], False)])
def test_changing_secret_key_needs_the_old_key_as_a_fallback(app, client, auth, make_user, clock, fallbacks, works):
    user, secret, _ = enrolled(client, auth, make_user, clock)
    app.config["SECRET_KEY"] = "a new secret key"
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks
    response = sign_in(client, auth, user, secret, clock)
    assert (response.status_code == 302) is works
    assert signed_in(client) is works


def test_fallback_secret_keys_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", " old-key-one, old-key-two ,")
    assert load_config(str(tmp_path), {"SECRET_KEY": "x"})["SECRET_KEY_FALLBACKS"] == ["old-key-one", "old-key-two"]
