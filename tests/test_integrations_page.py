"""The admin's page of how the site is connected: single sign-on, SCIM and the HR feed (issue 18, item 7)."""

import pytest

from tests.conftest import Auth
from tests.test_scim import SCIM, create_scim_token
from tests.test_staff import HEADER, csv_bytes

PAGE = "/admin/integrations"
SECRET = "client-secret-never-shown-4f1c"


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


def admin_page(app, make_user, client=None):
    client = client or app.test_client()
    admin = make_user(role="admin", email="ada@example.org")
    Auth(client).login(admin)
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_with_nothing_configured_the_page_says_what_turns_each_part_on(app, make_user):
    page = admin_page(app, make_user)
    assert page.count("Off</span>") == 2
    assert "Set <code>OIDC_ISSUER</code>" in page and "Set <code>SAML_IDP_METADATA</code>" in page
    assert "0 working tokens · last SCIM call never" in page
    assert "The feed has not run yet" in page
    assert "Password sign-in (PASSWORD_SIGN_IN)</dt><dd>everyone" in page


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "OIDC_ISSUER": "https://login.hospital.example/tenant",
            "OIDC_CLIENT_ID": "training-app",
            "OIDC_CLIENT_SECRET": SECRET,
            "SSO_ROLE_GROUPS": "hr=Training-HR",
            "PASSWORD_SIGN_IN": "admins-only",
            "PASSWORD_SIGN_IN_ACCOUNTS": "glass@example.org",
        }
    ],
    indirect=True,
)
def test_the_openid_connect_settings_are_shown_without_the_secret(app, make_user):
    page = admin_page(app, make_user)
    assert "https://login.hospital.example/tenant" in page and "training-app" in page
    assert "Client secret (OIDC_CLIENT_SECRET)</dt><dd>set" in page
    assert SECRET not in page
    assert "hr from Training-HR" in page
    assert "admins and 1 named account only" in page


def test_the_last_scim_call_and_the_last_feed_run_are_shown(app, client, runner, make_user, tmp_path):
    admin = make_user(role="admin", email="root@example.org")
    token = create_scim_token(app, client, admin.email, name="Okta provisioning")
    assert client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    make_user(email="alice@example.org", name="Alice Adams", department="Pharmacy", employee_id="E1")
    feed = tmp_path / "hr-export.csv"
    feed.write_bytes(csv_bytes("E1,Alice Adams,alice@example.org,Pharmacy,Charge Nurse,,", header=HEADER))
    assert runner.invoke(args=["staff", "sync", str(feed)]).exit_code == 0

    page = admin_page(app, make_user)
    assert "1 working token · last SCIM call " in page and "(token “Okta provisioning”)" in page
    assert "last SCIM call never" not in page
    assert "<strong>applied</strong>, file <code>hr-export.csv</code>" in page
    assert "<dt>Updated</dt><dd>1</dd>" in page


def test_hr_cannot_see_the_page(app, client, auth, make_user):
    auth.login(make_user(role="hr"))
    assert client.get(PAGE).status_code == 403
