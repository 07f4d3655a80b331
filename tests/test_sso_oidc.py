"""OpenID Connect sign-in (issue 18 item 1) through a real OpenID provider, panva's oidc-provider.

The app is driven with the Flask test client; the person's browser at the provider is `requests`
(tests/oidc_provider.py), which fills in the provider's own sign-in page and brings back the callback
address. Forged and altered ID tokens are signed here (with the provider's own key, so that only the
claim under test is wrong, or with a key it does not publish) and delivered by the real provider in
place of its own through its test-only hook, after the real code exchange: the callback, state, PKCE
verifier, one-time code and the app's checks all run as in production.
"""

import base64
import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_SETTINGS, csrf_token
from tests.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    OidcProvider,
    ProviderBrowser,
    new_signing_key,
    path_and_query,
)
from training import create_app
from training.audit.models import AuditEvent
from training.auth.models import User, UserSession
from training.config import load_config
from training.extensions import db
from training.sso.models import SsoIdentity
from training.sso.settings import sso_rules

BASE_URL = "https://training.example.org"
CALLBACK = f"{BASE_URL}/sso/oidc/callback"
CONTACT = "the training desk (extension 4242)"


@pytest.fixture(scope="module")
def provider():
    running = OidcProvider([CALLBACK], [f"{BASE_URL}/login"])
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _provider_delivers_its_own_tokens(provider):
    yield
    provider.deliver_id_token(None)


@pytest.fixture
def app_config(provider):
    return {
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "SSO_CONTACT": CONTACT,
    }


def use_rules(app, **settings: str) -> None:
    """Sign-in rules for the rest of the test, as the SSO_* environment variables would set them."""
    app.config.update(settings)
    app.config["SSO_RULES"] = sso_rules(app.config)


def at_provider(client, login: str, next_path: str | None = None) -> tuple[str, str]:
    """Start our sign-in and sign in at the provider as `login`: (the authorization URL, the callback URL)."""
    response = client.get("/sso/oidc/login" + (f"?next={next_path}" if next_path else ""))
    assert response.status_code == 302, response.get_data(as_text=True)
    authorization_url = response.headers["Location"]
    return authorization_url, ProviderBrowser(CALLBACK).sign_in(authorization_url, login)


def sign_in(client, login: str, next_path: str | None = None):
    """The whole round trip; the response to our callback."""
    _, callback = at_provider(client, login, next_path)
    return client.get(path_and_query(callback))


def nonce_of(authorization_url: str) -> str:
    return parse_qs(urlsplit(authorization_url).query)["nonce"][0]


def links(app) -> list[tuple[str, str, str, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(SsoIdentity.protocol, SsoIdentity.issuer, SsoIdentity.subject, User.id).join(User)
        )
        return [tuple(row) for row in rows]


def count_of(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(app, action: str) -> list[dict]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == action)))


def signed_out(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def assert_nothing_changed(app, client) -> None:
    """No session for anyone, no link, no sign-in recorded."""
    assert signed_out(client)
    assert count_of(app, UserSession) == 0
    assert links(app) == []
    assert events(app, "user.signed_in") == []


def test_the_sign_in_page_offers_the_organisations_account(client):
    page = client.get("/login?next=/transcript").get_data(as_text=True)
    assert "Sign in with your organization account" in page
    assert 'href="/sso/oidc/login?next=/transcript"' in page


def test_a_linked_person_signs_in_and_lands_on_my_training_with_their_obligations(
    app, client, provider, make_user, course, make_requirement
):
    nurse = make_user(name="Nora Nurse", employee_id="OLD-ID")
    make_requirement(course)
    with app.app_context():
        db.session.add(SsoIdentity(user_id=nurse.id, protocol="oidc", issuer=provider.issuer, subject="a8f2-nurse"))
        db.session.commit()
    response = sign_in(client, "a8f2-nurse")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "<h1>My training</h1>" in page and "Test Course" in page and "Nora Nurse" in page
    assert count_of(app, UserSession, UserSession.user_id == nurse.id) == 1
    [signed_in] = events(app, "user.signed_in")
    assert signed_in["method"] == "oidc"
    assert signed_in["two_step"] is False  # the provider vouched; how it did is in authn_context (this one sends none)


def test_the_first_sign_in_links_the_person_by_employee_id_and_goes_where_they_were_going(
    app, client, provider, make_user
):
    pharmacist = make_user(email="someone.else@example.org", employee_id="E2002")
    response = sign_in(client, "b7c1-newcomer", next_path="/transcript")
    assert response.status_code == 302 and response.headers["Location"] == "/transcript"
    assert links(app) == [("oidc", provider.issuer, "b7c1-newcomer", pharmacist.id)]
    assert client.get("/transcript").status_code == 200


def test_an_unknown_person_is_refused_with_whom_to_contact(app, client, make_user, caplog):
    make_user(email="nora.nurse@hospital.example")  # same email, but SSO_LINK_BY_EMAIL is off
    with caplog.at_level(logging.WARNING, logger="training.security"):
        response = sign_in(client, "d4e0-stranger")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "no training record for you" in page and CONTACT in page
    assert_nothing_changed(app, client)
    assert [e["reason"] for e in events(app, "user.sso_refused")] == ["unknown_person"]
    assert any("sso_refused" in record.getMessage() for record in caplog.records)


def test_with_account_creation_an_unknown_person_gets_a_staff_account(app, client, provider):
    use_rules(app, SSO_CREATE_ACCOUNTS="1")
    response = sign_in(client, "d4e0-stranger")
    assert response.status_code == 302
    with app.app_context():
        person = db.session.execute(select(User).where(User.email == "sam.stranger@hospital.example")).scalar_one()
        made = (person.name, person.role, person.employee_id, person.department.name, person.job_title)
    assert made == ("Sam Stranger", "staff", "E9999", "Facilities", "Porter")
    assert links(app) == [("oidc", provider.issuer, "d4e0-stranger", person.id)]
    assert client.get("/").status_code == 200


def test_a_deactivated_person_is_refused(app, client, make_user):
    make_user(employee_id="E1001", active=False)
    response = sign_in(client, "a8f2-nurse")
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)
    assert_nothing_changed(app, client)


@pytest.mark.parametrize(("role_groups", "role"), [("", "staff"), ("hr=Training-HR", "hr")])
def test_roles_come_only_from_the_mapped_groups(app, client, make_user, role_groups, role):
    person = make_user(employee_id="E3003")
    use_rules(app, SSO_ROLE_GROUPS=role_groups)
    assert sign_in(client, "c3d9-hr").status_code == 302
    with app.app_context():
        assert db.session.get(User, person.id).role == role


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"state": "not-the-state-we-sent"}, "state"),
        ({"iss": "https://another-provider.example"}, "issuer_mismatch"),
    ],
)
def test_a_callback_that_does_not_answer_our_request_is_refused(app, client, make_user, caplog, change, reason):
    make_user(employee_id="E1001")
    _, callback = at_provider(client, "a8f2-nurse")
    query = {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()} | change
    with caplog.at_level(logging.WARNING, logger="training.security"):
        response = client.get("/sso/oidc/callback", query_string=query)
    assert response.status_code == 400
    assert "Sign-in did not complete" in response.get_data(as_text=True)
    assert_nothing_changed(app, client)
    assert any("sso_rejected" in r.getMessage() and f'reason="{reason}"' in r.getMessage() for r in caplog.records)


def test_a_replayed_callback_is_refused(app, client, make_user):
    make_user(employee_id="E1001")
    _, callback = at_provider(client, "a8f2-nurse")
    cookie_before = client.get_cookie("session").value
    assert client.get(path_and_query(callback)).status_code == 302
    assert client.get(path_and_query(callback)).status_code == 400  # the state was spent

    replayer = app.test_client()  # the cookie from before the callback, which still holds the state
    replayer.set_cookie("session", cookie_before)
    response = replayer.get(path_and_query(callback))
    assert response.status_code == 400  # the provider refuses the code a second time
    assert signed_out(replayer)
    assert count_of(app, UserSession) == 1
    assert len(events(app, "user.signed_in")) == 1


def test_an_id_token_from_an_earlier_sign_in_is_refused(app, client, provider, make_user):
    make_user(employee_id="E1001")
    assert sign_in(client, "a8f2-nurse").status_code == 302
    with client.session_transaction() as session:
        earlier_id_token = session["sso_logout"]["id_token"]
    other = app.test_client()
    _, callback = at_provider(other, "a8f2-nurse")
    provider.deliver_id_token(earlier_id_token)  # signed by the provider, for us, but for another nonce
    response = other.get(path_and_query(callback))
    assert response.status_code == 400
    assert signed_out(other)
    assert count_of(app, UserSession) == 1


def unsigned(claims: dict, kid: str) -> str:
    """A JWT with `alg: none` and no signature."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': kid})}.{part(claims)}."


FORGERIES = {
    "signed_with_a_key_the_provider_does_not_publish": lambda p, c: p.id_token(
        c, key=new_signing_key(kid=p.signing_key.kid)
    ),
    "alg_none": lambda p, c: unsigned(c, p.signing_key.kid),
    "another_audience": lambda p, c: p.id_token(c | {"aud": "another-app", "azp": CLIENT_ID}),
    "expired": lambda p, c: p.id_token(c | {"iat": int(time.time()) - 400, "exp": int(time.time()) - 120}),
    "another_issuer": lambda p, c: p.id_token(c | {"iss": "https://another-provider.example"}),
    "issued_an_hour_ago": lambda p, c: p.id_token(c | {"iat": int(time.time()) - 3600}),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_an_id_token_that_fails_a_check_is_refused_and_changes_nothing(app, client, provider, make_user, forgery):
    make_user(employee_id="E1001")
    authorization_url, callback = at_provider(client, "a8f2-nurse")
    claims = provider.claims(sub="a8f2-nurse", nonce=nonce_of(authorization_url))
    provider.deliver_id_token(FORGERIES[forgery](provider, claims))
    response = client.get(path_and_query(callback))
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)
    assert_nothing_changed(app, client)


def test_the_same_delivery_with_a_correct_token_signs_in(app, client, provider, make_user):
    """The control for the forgeries above: a token made the same way, with nothing wrong, is accepted."""
    make_user(employee_id="E1001")
    authorization_url, callback = at_provider(client, "a8f2-nurse")
    provider.deliver_id_token(provider.id_token(provider.claims(sub="a8f2-nurse", nonce=nonce_of(authorization_url))))
    assert client.get(path_and_query(callback)).status_code == 302
    assert client.get("/").status_code == 200


def test_sign_in_goes_on_after_the_provider_rotates_its_signing_key(app, client, provider, make_user):
    make_user(employee_id="E1001")
    assert sign_in(client, "a8f2-nurse").status_code == 302  # the app now holds the provider's keys
    new_key = provider.rotate_keys()
    again = app.test_client()
    response = sign_in(again, "a8f2-nurse")
    assert response.status_code == 302
    with again.session_transaction() as session:
        header = session["sso_logout"]["id_token"].split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["kid"] == new_key.kid


def test_signing_out_ends_our_session_and_the_providers(app, client, provider, make_user):
    make_user(employee_id="E1001")
    assert sign_in(client, "a8f2-nurse").status_code == 302
    with client.session_transaction() as session:
        id_token = session["sso_logout"]["id_token"]
        assert session["sso_logout"] == {"protocol": "oidc", "id_token": id_token}  # no access or refresh token
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    logout_url = response.headers["Location"]
    assert logout_url.startswith(f"{provider.issuer}/session/end?")
    query = parse_qs(urlsplit(logout_url).query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == [f"{BASE_URL}/login"]
    assert signed_out(client)
    with app.app_context():
        assert db.session.scalar(select(UserSession.ended_reason)) == "signed_out"
    assert ProviderBrowser(f"{BASE_URL}/login").sign_out(logout_url).startswith(f"{BASE_URL}/login")


def test_a_provider_whose_discovery_names_another_issuer_is_not_used(app, client, provider):
    app.config["OIDC_ISSUER"] = provider.issuer + "/"
    response = client.get("/sso/oidc/login")
    assert response.status_code == 502
    assert "configuration could not be used" in response.get_data(as_text=True)


def test_an_unreachable_provider_is_a_clear_page_not_an_error(app_config, tmp_path):
    settings = TEST_SETTINGS | app_config | {"OIDC_ISSUER": "http://127.0.0.1:9", "TRAINING_ENV": "development"}
    app = create_app(settings | {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db'}"})
    response = app.test_client().get("/sso/oidc/login")
    assert response.status_code == 502
    assert "could not be reached" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"OIDC_ISSUER": "http://login.hospital.example"}, "OIDC_ISSUER must be an https:// address"),
        ({"OIDC_ISSUER": "http://127.0.0.1:8080"}, "OIDC_ISSUER must be an https:// address"),
        ({"OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_SECRET must be set"),
        ({"OIDC_SCOPES": "email profile"}, "OIDC_SCOPES must include openid"),
    ],
)
def test_production_settings_that_cannot_work_stop_the_start(tmp_path, settings, message):
    configured = {
        "SECRET_KEY": "k",
        "TRAINING_ENV": "production",
        "OIDC_ISSUER": "https://login.hospital.example",
        "OIDC_CLIENT_ID": "training",
        "OIDC_CLIENT_SECRET": "secret",
    }
    with pytest.raises(ValueError, match=message):
        load_config(str(tmp_path), configured | settings)
