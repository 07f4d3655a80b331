"""Sessions (ASVS 7.x) through HTTP and the CLI: idle timeout, absolute lifetime, remember me, ending
sessions (sign-out, deactivation, password change, the sessions page, HR and admins), the account pages.

Time is moved by editing `last_seen_at`, `created_at` and `expires_at` in the database, never by sleeping.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.conftest import PASSWORD, Auth, csrf_token
from training.audit.models import AuditEvent
from training.auth.models import User, UserSession
from training.auth.passwords import verify_password
from training.db import utcnow
from training.extensions import db

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
NEW_PASSWORD = "a quite different passphrase"


@dataclass(frozen=True)
class Row:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    ended_reason: str
    remember: bool


def rows(app, user_id=None) -> list[Row]:
    with app.app_context():
        query = select(UserSession).order_by(UserSession.id)
        if user_id is not None:
            query = query.where(UserSession.user_id == user_id)
        return [
            Row(r.id, r.user_id, r.created_at, r.last_seen_at, r.expires_at, r.ended_at, r.ended_reason, r.remember)
            for r in db.session.execute(query).scalars()
        ]


def newest(app, user_id) -> Row:
    return rows(app, user_id)[-1]


def move(app, session_id, **values) -> None:
    """Set a session's times, as if the clock had moved on."""
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.id == session_id).values(**values))
        db.session.commit()


def events(app, action) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars()
        )


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def browser(app, user_agent=None) -> tuple[FlaskClient, Auth]:
    """Another browser (its own cookies), optionally with its own User-Agent."""
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client, Auth(client)


def sign_in(auth, user, remember=False):
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(auth.client, "/login")}
    if remember:
        data["remember"] = "y"
    return auth.client.post("/login", data=data)


def set_cookie_header(response) -> str:
    return next((h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")), "")


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


# --- Idle timeout and absolute lifetime -----------------------------------------------------------


def test_an_idle_session_ends_and_the_sign_in_page_says_why(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    session = newest(app, user.id)
    move(app, session.id, last_seen_at=utcnow() - timedelta(minutes=31))

    response = client.get("/transcript")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session ended after 30 minutes without activity. Please sign in again." in page
    assert "Please sign in to continue." not in page
    ended = newest(app, user.id)
    assert ended.ended_reason == "idle"
    assert ended.ended_at == ended.last_seen_at + timedelta(minutes=30)
    assert client.get("/").status_code == 302


def test_activity_within_the_idle_timeout_keeps_the_session(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    session = newest(app, user.id)
    before = utcnow()
    move(app, session.id, last_seen_at=before - timedelta(minutes=29))
    assert client.get("/").status_code == 200
    after = newest(app, user.id)
    assert after.ended_at is None and after.last_seen_at >= before


def test_last_activity_is_written_at_most_once_a_minute(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    session = newest(app, user.id)
    recent = utcnow() - timedelta(seconds=20)
    move(app, session.id, last_seen_at=recent)
    assert client.get("/").status_code == 200
    assert newest(app, user.id).last_seen_at == recent
    older = utcnow() - timedelta(minutes=2)
    move(app, session.id, last_seen_at=older)
    assert client.get("/").status_code == 200
    assert newest(app, user.id).last_seen_at > older + timedelta(minutes=1)


def test_the_absolute_lifetime_ends_even_an_active_session(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    session = newest(app, user.id)
    now = utcnow()
    move(app, session.id, created_at=now - timedelta(hours=12, minutes=1), expires_at=now - timedelta(minutes=1))
    move(app, session.id, last_seen_at=now)

    response = client.get("/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session reached its time limit of 12 hours after signing in. Please sign in again." in page
    assert newest(app, user.id).ended_reason == "expired"
    assert newest(app, user.id).ended_at == now - timedelta(minutes=1)


def test_a_new_session_ends_after_the_configured_hours(app, auth, make_user):
    app.config.update(SESSION_MAX_HOURS=8, SESSION_IDLE_MINUTES=15)
    user = make_user()
    auth.login(user)
    session = newest(app, user.id)
    assert session.expires_at - session.created_at == timedelta(hours=8)
    assert session.remember is False
    move(app, session.id, last_seen_at=utcnow() - timedelta(minutes=16))
    page = auth.client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Your session ended after 15 minutes without activity." in page


# --- Remember me ----------------------------------------------------------------------------------


def test_the_sign_in_form_offers_remember_me_with_a_warning(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<input aria-describedby="remember-hint" id="remember" name="remember" type="checkbox"' in html
    assert '<label for="remember">Keep me signed in on this device for 14 days</label>' in html
    assert '<p class="hint" id="remember-hint">Not on a shared computer' in html


def test_without_remember_me_the_cookie_ends_with_the_browser(app, client, auth, make_user):
    user = make_user()
    cookie = set_cookie_header(auth.login(user))
    assert cookie and "Expires=" not in cookie and "Max-Age" not in cookie
    assert newest(app, user.id).remember is False
    cookie = set_cookie_header(client.get("/"))
    assert "Expires=" not in cookie


def test_with_remember_me_the_cookie_expires_with_its_server_record(app, client, auth, make_user):
    user = make_user()
    cookie = set_cookie_header(sign_in(auth, user, remember=True))
    session = newest(app, user.id)
    assert session.remember is True
    assert session.expires_at - session.created_at == timedelta(days=14)
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert abs(expires - session.expires_at) < timedelta(seconds=1)

    # A later response sends the cookie again with the same end: it never outlives the server record.
    move(app, session.id, expires_at=session.expires_at - timedelta(days=3))
    later = set_cookie_header(client.get("/"))
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", later).group(1))
    assert abs(expires - (session.expires_at - timedelta(days=3))) < timedelta(seconds=1)


def test_remember_me_skips_the_idle_timeout_but_not_the_absolute_end(app, client, auth, make_user):
    user = make_user()
    sign_in(auth, user, remember=True)
    session = newest(app, user.id)
    move(app, session.id, last_seen_at=utcnow() - timedelta(hours=30))
    assert client.get("/").status_code == 200

    now = utcnow()
    move(app, session.id, created_at=now - timedelta(days=14), expires_at=now - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "time limit of 14 days" in page
    assert newest(app, user.id).ended_reason == "expired"
    assert "Expires=" not in set_cookie_header(client.get("/login"))


def test_remember_me_is_not_offered_or_honoured_when_switched_off(app, client, auth, make_user):
    app.config["REMEMBER_ME_DAYS"] = 0
    assert 'name="remember"' not in client.get("/login").get_data(as_text=True)
    user = make_user()
    cookie = set_cookie_header(sign_in(auth, user, remember=True))
    session = newest(app, user.id)
    assert session.remember is False and session.expires_at - session.created_at == timedelta(hours=12)
    assert "Expires=" not in cookie


# --- A new session at sign-in; ending sessions ----------------------------------------------------


def test_signing_in_gives_a_new_session_id_and_the_old_one_stays_ended(app, client, auth, make_user):
    user = make_user()
    client.get("/login")
    before = client.get_cookie("session").value
    auth.login(user)
    first = client.get_cookie("session").value
    assert first != before
    with client.session_transaction() as cookie_session:
        first_token = cookie_session["_user_id"]

    auth.logout()
    auth.login(user)
    with client.session_transaction() as cookie_session:
        assert cookie_session["_user_id"] != first_token
    assert client.get_cookie("session").value != first
    old, new = rows(app, user.id)
    assert (old.ended_reason, new.ended_at) == ("signed_out", None)

    thief, _ = browser(app)
    thief.set_cookie("session", first)
    assert not signed_in(thief)
    assert signed_in(client)


def test_signing_in_marks_the_sessions_that_lapsed_unseen(app, make_user):
    user = make_user()
    _, laptop_auth = browser(app)
    _, phone_auth = browser(app)
    laptop_auth.login(user)
    laptop_session = newest(app, user.id)
    move(app, laptop_session.id, last_seen_at=utcnow() - timedelta(hours=2))
    phone_auth.login(user)
    ended = rows(app, user.id)[0]
    assert ended.ended_reason == "idle" and ended.ended_at == ended.last_seen_at + timedelta(minutes=30)


def test_sign_out_ends_the_session_and_a_copied_cookie_stops_working(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    copied = client.get_cookie("session").value
    auth.logout()
    assert newest(app, user.id).ended_reason == "signed_out"
    thief, _ = browser(app)
    thief.set_cookie("session", copied)
    assert not signed_in(thief)


def test_deactivation_by_hr_ends_every_session_with_its_reason(app, client, auth, make_user):
    nurse = make_user(department="Ward 1")
    nurse_client, nurse_auth = browser(app)
    nurse_auth.login(nurse)
    copied = nurse_client.get_cookie("session").value
    auth.login(make_user(role="hr"))
    assert auth.post(f"/staff/{nurse.id}/deactivate", token_from="/staff").status_code == 302
    assert [r.ended_reason for r in rows(app, nurse.id)] == ["deactivated"]
    thief, _ = browser(app)
    thief.set_cookie("session", copied)
    assert not signed_in(thief) and not signed_in(nurse_client)


def test_deactivation_and_a_new_password_from_the_cli_end_sessions_with_their_reasons(app, runner, make_user):
    first, second = make_user(), make_user()
    for user in (first, second):
        _, user_auth = browser(app)
        user_auth.login(user)
    assert runner.invoke(args=["users", "deactivate", first.email]).exit_code == 0
    result = runner.invoke(args=["users", "set-password", second.email], input=f"{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert [r.ended_reason for r in rows(app, first.id)] == ["deactivated"]
    assert [r.ended_reason for r in rows(app, second.id)] == ["password_changed"]
    with app.app_context():
        assert db.session.get(User, second.id).password_changed_at is not None


# --- Changing the password ------------------------------------------------------------------------


def change_password(auth, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    data = {"current_password": current, "new_password": new, "confirm": new if confirm is None else confirm}
    return auth.post("/account/password", data, token_from="/account/password")


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    other, other_auth = browser(app, ANDROID_CHROME)
    other_auth.login(user)
    page = client.get("/account/password").get_data(as_text=True)
    assert '<label for="current_password">Current password</label>' in page
    assert 'autocomplete="new-password"' in page

    response = change_password(auth)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    account = client.get("/account").get_data(as_text=True)
    assert "Your password is changed. 1 other session was signed out." in account
    assert "Last changed" in account
    assert signed_in(client) and not signed_in(other)
    mine, theirs = rows(app, user.id)
    assert mine.ended_at is None and theirs.ended_reason == "password_changed"
    with app.app_context():
        person = db.session.get(User, user.id)
        assert verify_password(person.password_hash, NEW_PASSWORD) and person.password_changed_at is not None
    (event,) = events(app, "password.changed")
    assert (event.actor_id, event.subject_id, event.details) == (user.id, str(user.id), {"other_sessions_ended": 1})

    auth.logout()
    assert auth.login(user).status_code == 401
    assert auth.login(user, NEW_PASSWORD).status_code == 302


def test_a_wrong_current_password_is_shown_beside_that_field_and_changes_nothing(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    _, other_auth = browser(app)
    other_auth.login(user)
    response = change_password(auth, current="not my password at all")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="field-error" id="current_password-error">That is not your password.</p>' in html
    assert 'aria-describedby="current_password-error"' in html
    with app.app_context():
        person = db.session.get(User, user.id)
        assert verify_password(person.password_hash, PASSWORD) and person.password_changed_at is None
    assert all(r.ended_at is None for r in rows(app, user.id))
    assert events(app, "password.changed") == []


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("too short", None, "new_password", "Password must be at least 12 characters."),
        ("x" * 129, None, "new_password", "Password must be at most 128 characters."),
        (NEW_PASSWORD, "something else entirely", "confirm", "The two new passwords are not the same."),
        ("", "", "new_password", "Enter a new password."),
    ],
)
def test_the_new_password_must_follow_the_rules(app, auth, make_user, new, confirm, field, message):
    user = make_user()
    auth.login(user)
    response = change_password(auth, new=new, confirm=confirm)
    assert response.status_code == 422
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in response.get_data(as_text=True)
    with app.app_context():
        assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


def test_password_attempts_are_limited_per_person(app, auth, make_user):
    app.config["ACCOUNT_PASSWORD_RATE_LIMIT"] = "2 per 15 minutes"
    user = make_user()
    auth.login(user)
    assert [change_password(auth, current="wrong guess number").status_code for _ in range(2)] == [422, 422]
    limited = change_password(auth)
    assert limited.status_code == 429
    assert "You have entered your password too many times. Wait 15 minutes" in limited.get_data(as_text=True)
    with app.app_context():
        assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)
    assert auth.client.get("/account/password").status_code == 200, "showing the form is not limited"

    _, other_auth = browser(app)
    other_auth.login(make_user())
    assert change_password(other_auth).status_code == 302, "another person has their own allowance"


# --- The sessions page ----------------------------------------------------------------------------


def test_the_sessions_page_lists_my_sessions_only(app, make_user):
    me, someone = make_user(), make_user()
    client, my_auth = browser(app, WINDOWS_FIREFOX)
    my_auth.login(me)
    _, phone_auth = browser(app, ANDROID_CHROME)
    phone_auth.login(me)
    _, their_auth = browser(app, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0")
    their_auth.login(someone)

    html = client.get("/account/sessions").get_data(as_text=True)
    live = html.split('id="live-heading"')[1].split('id="ended-heading"')[0]
    assert "Firefox on Windows" in live and "Chrome on Android" in live
    assert "macOS" not in html
    assert live.count("This device") == 1
    assert live.index("Firefox on Windows") < live.index("This device") < live.index("Chrome on Android")
    phone_session = newest(app, me.id)
    assert f"/account/sessions?end={phone_session.id}#confirm" in live
    assert "No ended sessions yet." in html


def test_recently_ended_sessions_say_why_and_lapsed_ones_are_shown_without_a_write(app, make_user):
    me = make_user()
    _, old_auth = browser(app)
    old_auth.login(me)
    old_auth.logout()
    _, idle_auth = browser(app, ANDROID_CHROME)
    idle_auth.login(me)
    idle = newest(app, me.id)
    client, my_auth = browser(app, WINDOWS_FIREFOX)
    my_auth.login(me)
    move(app, idle.id, last_seen_at=utcnow() - timedelta(hours=2))

    html = client.get("/account/sessions").get_data(as_text=True)
    ended = html.split('id="ended-heading"')[1]
    assert "Signed out" in ended
    assert "Chrome on Android" in ended and "No activity for too long" in ended
    assert "Chrome on Android" not in html.split('id="ended-heading"')[0]
    assert next(r for r in rows(app, me.id) if r.id == idle.id).ended_at is None


def end_one(auth, session_id, password=PASSWORD):
    return auth.post(f"/account/sessions/{session_id}/end", {"password": password}, token_from="/account/sessions")


def end_others(auth, password=PASSWORD):
    return auth.post("/account/sessions/end-others", {"password": password}, token_from="/account/sessions")


def test_ending_one_of_my_other_sessions_asks_my_password_and_signs_that_device_out(app, make_user):
    me = make_user()
    phone, phone_auth = browser(app, ANDROID_CHROME)
    phone_auth.login(me)
    phone_session = newest(app, me.id)
    client, my_auth = browser(app, WINDOWS_FIREFOX)
    my_auth.login(me)

    confirm = client.get(f"/account/sessions?end={phone_session.id}").get_data(as_text=True)
    assert "End the session on Chrome on Android?" in confirm
    assert f'action="/account/sessions/{phone_session.id}/end"' in confirm
    assert '<label for="password">Your password</label>' in confirm

    wrong = end_one(my_auth, phone_session.id, "not my password at all")
    assert wrong.status_code == 422
    assert '<p class="field-error" id="password-error">That is not your password.</p>' in wrong.get_data(as_text=True)
    assert signed_in(phone)

    response = end_one(my_auth, phone_session.id)
    assert response.status_code == 302 and response.headers["Location"] == "/account/sessions"
    assert "The session on Chrome on Android is ended." in client.get("/account/sessions").get_data(as_text=True)
    assert not signed_in(phone) and signed_in(client)
    assert next(r for r in rows(app, me.id) if r.id == phone_session.id).ended_reason == "revoked"
    (event,) = events(app, "session.revoked")
    assert (event.actor_id, event.subject_id) == (me.id, str(me.id))
    assert event.details["scope"] == "one" and event.details["count"] == 1
    assert event.details["sessions"][0]["id"] == phone_session.id
    assert event.details["sessions"][0]["device"] == "Chrome on Android"

    again = end_one(my_auth, phone_session.id)
    assert again.status_code == 302
    assert "had already ended" in client.get("/account/sessions").get_data(as_text=True)
    assert len(events(app, "session.revoked")) == 1


def test_another_persons_session_id_is_not_found_and_nothing_changes(app, make_user):
    me, someone = make_user(), make_user()
    theirs, their_auth = browser(app)
    their_auth.login(someone)
    their_session = newest(app, someone.id)
    client, my_auth = browser(app)
    my_auth.login(me)
    before, events_before = rows(app), audit_count(app)

    for path in (f"/account/sessions/{their_session.id}/end", "/account/sessions/2147483647/end"):
        response = my_auth.post(path, {"password": PASSWORD}, token_from="/account/sessions")
        assert response.status_code == 404
        assert "There is no such session." in response.get_data(as_text=True)
    page = client.get(f"/account/sessions?end={their_session.id}").get_data(as_text=True)
    assert "End the session on" not in page
    assert signed_in(theirs)
    assert [(r.id, r.ended_at) for r in rows(app)] == [(r.id, r.ended_at) for r in before]
    assert audit_count(app) == events_before


def test_the_current_session_is_not_ended_from_the_sessions_page(app, client, auth, make_user):
    me = make_user()
    auth.login(me)
    current = newest(app, me.id)
    response = end_one(auth, current.id)
    assert response.status_code == 400
    assert "To end it, sign out." in response.get_data(as_text=True)
    assert signed_in(client) and newest(app, me.id).ended_at is None


def test_ending_all_other_sessions_keeps_the_current_one(app, make_user):
    me, someone = make_user(), make_user()
    others = []
    for agent in (ANDROID_CHROME, WINDOWS_FIREFOX):
        other, other_auth = browser(app, agent)
        other_auth.login(me)
        others.append(other)
    theirs, their_auth = browser(app)
    their_auth.login(someone)
    client, my_auth = browser(app)
    my_auth.login(me)

    confirm = client.get("/account/sessions?end=others").get_data(as_text=True)
    assert "End your 2 other sessions?" in confirm
    assert end_others(my_auth, "wrong password here").status_code == 422
    assert all(signed_in(other) for other in others)

    response = end_others(my_auth)
    assert response.status_code == 302
    assert "2 other sessions are ended. You are still signed in here." in client.get("/account").get_data(as_text=True)
    assert signed_in(client) and signed_in(theirs)
    assert not any(signed_in(other) for other in others)
    assert [r.ended_reason for r in rows(app, me.id)] == ["revoked", "revoked", ""]
    (event,) = events(app, "session.revoked")
    assert event.details["scope"] == "others" and event.details["count"] == 2
    assert {s["device"] for s in event.details["sessions"]} == {"Chrome on Android", "Firefox on Windows"}

    assert end_others(my_auth).status_code == 302
    assert "No other session was open." in client.get("/account").get_data(as_text=True)
    assert len(events(app, "session.revoked")) == 1


def test_get_requests_never_change_sessions(app, make_user):
    me = make_user()
    _, other_auth = browser(app)
    other_auth.login(me)
    other = newest(app, me.id)
    client, my_auth = browser(app)
    my_auth.login(me)
    before, events_before = rows(app), audit_count(app)
    for path in (
        "/account",
        "/account/sessions",
        f"/account/sessions?end={other.id}",
        "/account/sessions?end=others",
        "/account/password",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/account/sessions/{other.id}/end").status_code == 405
    assert client.get("/account/sessions/end-others").status_code == 405
    assert rows(app) == before and audit_count(app) == events_before


def test_account_posts_need_a_csrf_token(app, client, auth, make_user):
    me = make_user()
    _, other_auth = browser(app)
    other_auth.login(me)
    other = newest(app, me.id)
    auth.login(me)
    before = rows(app)
    assert client.post(f"/account/sessions/{other.id}/end", data={"password": PASSWORD}).status_code == 400
    assert client.post("/account/sessions/end-others", data={"password": PASSWORD}).status_code == 400
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/account/password", data=data).status_code == 400
    assert [(r.id, r.ended_at) for r in rows(app)] == [(r.id, r.ended_at) for r in before]


# --- The account page -----------------------------------------------------------------------------


def test_the_account_page_shows_my_details_and_is_linked_from_my_name(client, auth, make_user):
    me = make_user(role="manager", name="Mara Quinn", department="Ward 4")
    auth.login(me)
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/account" ><span class="visually-hidden">Your account: </span>Mara Quinn</a>' in home
    html = client.get("/account").get_data(as_text=True)
    for text in ("Mara Quinn", me.email, "Manager", "Ward 4", 'href="/account/sessions"', 'href="/account/password"'):
        assert text in html
    assert '<a href="/account" aria-current="page">' in html


@pytest.mark.parametrize(
    "path", ["/", "/transcript", "/policies", "/account", "/account/sessions", "/account/password", "/no/such/page"]
)
def test_signed_in_pages_offer_sign_out(client, auth, make_user, path):
    auth.login(make_user())
    html = client.get(path).get_data(as_text=True)
    assert 'action="/logout"' in html and "Sign out" in html


# --- HR and admins sign a person out everywhere ---------------------------------------------------


def sign_out_everywhere(auth, person_id):
    return auth.post(f"/staff/{person_id}/sign-out", token_from="/staff")


def test_hr_signs_a_person_out_everywhere(app, client, auth, make_user):
    nurse = make_user(name="Nia Okafor")
    devices = []
    for agent in (ANDROID_CHROME, WINDOWS_FIREFOX):
        device, device_auth = browser(app, agent)
        device_auth.login(nurse)
        devices.append(device)
    hr = make_user(role="hr")
    auth.login(hr)
    page = client.get(f"/staff/{nurse.id}/edit").get_data(as_text=True)
    assert "Nia Okafor is signed in on 2 devices now." in page
    assert f'action="/staff/{nurse.id}/sign-out"' in page

    response = sign_out_everywhere(auth, nurse.id)
    assert response.status_code == 302 and response.headers["Location"] == f"/staff/{nurse.id}/edit"
    page = client.get(f"/staff/{nurse.id}/edit").get_data(as_text=True)
    assert "Nia Okafor is signed out everywhere (2 open sessions ended)." in page
    assert "Nia Okafor is not signed in anywhere now." in page
    assert not any(signed_in(device) for device in devices)
    assert [r.ended_reason for r in rows(app, nurse.id)] == ["revoked", "revoked"]
    (event,) = events(app, "session.revoked_all")
    assert (event.actor_id, event.subject_id, event.details) == (hr.id, str(nurse.id), {"sessions_ended": 2})
    assert signed_in(client)


@pytest.mark.parametrize("role", ["hr", "author", "admin"])
def test_only_an_admin_signs_out_hr_author_and_admin_accounts(app, client, auth, make_user, role):
    target = make_user(role=role)
    device, device_auth = browser(app)
    device_auth.login(target)
    auth.login(make_user(role="hr"))
    assert sign_out_everywhere(auth, target.id).status_code == 403
    assert signed_in(device) and events(app, "session.revoked_all") == []

    auth.logout()
    auth.login(make_user(role="admin"))
    assert sign_out_everywhere(auth, target.id).status_code == 302
    assert not signed_in(device)


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_staff_and_managers_cannot_sign_others_out(app, auth, make_user, role):
    target = make_user()
    device, device_auth = browser(app)
    device_auth.login(target)
    auth.login(make_user(role=role))
    assert sign_out_everywhere(auth, target.id).status_code == 403
    assert signed_in(device)


def test_nobody_signs_themselves_out_from_the_staff_pages(app, client, auth, make_user):
    hr = make_user(role="hr")
    auth.login(hr)
    assert "Sign this person out everywhere" not in client.get(f"/staff/{hr.id}/edit").get_data(as_text=True)
    response = sign_out_everywhere(auth, hr.id)
    assert response.status_code == 403
    assert signed_in(client)
    assert sign_out_everywhere(auth, 99999).status_code == 404


def test_the_cli_signs_one_person_or_everybody_out(app, runner, make_user):
    first, second = make_user(), make_user()
    clients = {}
    for user in (first, second):
        device, device_auth = browser(app)
        device_auth.login(user)
        clients[user.id] = device
    result = runner.invoke(args=["users", "sign-out", first.email])
    assert result.exit_code == 0 and "Ended 1 open session." in result.output
    assert not signed_in(clients[first.id]) and signed_in(clients[second.id])

    result = runner.invoke(args=["users", "sign-out", "--everyone"])
    assert result.exit_code == 0 and "Ended 1 open session." in result.output
    assert not signed_in(clients[second.id])
    assert [r.ended_reason for r in rows(app)] == ["revoked", "revoked"]
    assert [e.details for e in events(app, "session.revoked_all")] == [
        {"sessions_ended": 1},
        {"everyone": True, "sessions_ended": 1},
    ]
    assert runner.invoke(args=["users", "sign-out"]).exit_code != 0
    assert "No user with email" in runner.invoke(args=["users", "sign-out", "nobody@example.org"]).output
