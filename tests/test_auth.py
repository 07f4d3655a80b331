"""Sign-in, sign-out and sessions through the real /login form."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.conftest import PASSWORD, csrf_token
from training.auth.models import User, UserSession
from training.extensions import db

pytestmark = pytest.mark.smoke  # part of `make test-fast`


def test_login_page_has_labelled_fields_and_sign_in_button(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html
    assert 'value="Sign in"' in html


def test_sign_in_then_home_shows_my_training(client, auth, make_user):
    user = make_user(name="Dana Whitfield")
    response = auth.login(user)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "My training" in page.get_data(as_text=True) and "Dana" in page.get_data(as_text=True)


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/courses/anything")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "email, password",
    [("known", "wrong password here"), ("nobody@example.org", PASSWORD), ("KNOWN", "")],
)
def test_every_failed_sign_in_says_the_same_thing(client, auth, make_user, email, password):
    user = make_user()
    email = user.email if email == "known" else (user.email.upper() if email == "KNOWN" else email)
    response = auth.login(email, password)
    assert response.status_code in (401, 422)
    html = response.get_data(as_text=True)
    if password:
        assert "Email or password is incorrect." in html
    assert client.get("/").status_code == 302


def test_email_is_matched_case_insensitively(client, auth, make_user):
    make_user(email="mixed@example.org")
    assert auth.login("  MIXED@Example.org ").status_code == 302


def test_deactivated_user_cannot_sign_in(client, auth, make_user):
    user = make_user(active=False)
    response = auth.login(user)
    assert response.status_code == 401
    assert "Email or password is incorrect." in response.get_data(as_text=True)


def test_deactivating_ends_open_sessions(app, client, auth, make_user, runner):
    user = make_user()
    auth.login(user)
    assert client.get("/").status_code == 200
    result = runner.invoke(args=["users", "deactivate", user.email])
    assert result.exit_code == 0, result.output
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_replayed_cookie_after_sign_out_is_refused(app, client, auth, make_user):
    auth.login(make_user())
    stolen = client.get_cookie("session").value
    assert auth.logout().status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_out_ends_the_session_record(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    auth.logout()
    with app.app_context():
        sessions = db.session.execute(select(UserSession).where(UserSession.user_id == user.id)).scalars().all()
        assert len(sessions) == 1 and sessions[0].ended_at is not None


def test_session_cookie_does_not_carry_the_user_id_alone(client, auth, make_user):
    user = make_user()
    auth.login(user)
    with client.session_transaction() as session:
        assert session["_user_id"] != str(user.id)
        assert len(session["_user_id"]) >= 40


def test_sign_out_needs_post_and_csrf(client, auth, make_user):
    auth.login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "form has expired or was not sent by this site" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_path, expected", [("/courses/x", "/courses/x"), ("https://evil.example/", "/"), ("//evil.example", "/")]
)
def test_next_redirects_only_to_our_own_paths(auth, make_user, next_path, expected):
    response = auth.login(make_user(), next_path=next_path)
    assert response.headers["Location"] == expected


def test_passwords_are_argon2id_with_owasp_parameters(app, runner):
    app.config["PASSWORD_HASHING_FOR_TESTS_ONLY"] = False  # as in every app not made by the tests
    result = runner.invoke(
        args=["users", "create", "fresh@example.org", "--name", "Fresh"], input="a long enough password\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "fresh@example.org")).scalar_one()
    assert user.password_hash.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in user.password_hash
    assert "a long enough password" not in user.password_hash


def test_a_new_session_is_recorded_on_each_sign_in(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    auth.logout()
    auth.login(user)
    with app.app_context():
        rows = db.session.execute(select(UserSession).where(UserSession.user_id == user.id)).scalars().all()
        assert len(rows) == 2 and len({r.token_hash for r in rows}) == 2


def test_csrf_token_is_on_every_form(client, auth, make_user):
    auth.login(make_user())
    assert csrf_token(client, "/")


def test_user_roles_are_constrained_in_the_schema(app, make_user):
    record = make_user()
    with app.app_context():
        db.session.get(User, record.id).role = "superuser"
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(User, record.id).role == "staff"
