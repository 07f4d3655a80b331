"""Signing in with SAML in Chromium: our sign-in page, SimpleSAMLphp's login page, back on My training.

The IdP is Debian's SimpleSAMLphp on loopback (tests/simplesamlphp.py); its page auto-posts the
SAMLResponse to our ACS with its own JavaScript, as it would for any browser.
"""

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser import sign_in
from tests.simplesamlphp import IDP_PASSWORD, SimpleSamlPhp, make_key_pair


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SimpleSamlPhp(tmp_path_factory.mktemp("simplesamlphp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(idp, tmp_path):
    keys = make_key_pair(tmp_path, "sp", "e2e SAML signing")
    metadata = tmp_path / "idp-metadata.xml"
    metadata.write_bytes(idp.metadata())
    return {"SAML_IDP_METADATA": str(metadata), "SAML_SP_KEY": str(keys.key), "SAML_SP_CERT": str(keys.cert)}


def test_saml_sign_in_journey(page, new_page, live_server, idp, make_user, check_page):
    idp.register_sp(requests.get(live_server + "/sso/saml/metadata", timeout=10).content)
    make_user(employee_id="E1004", name="Bea Browser")
    page.goto("/login")
    check_page(page, "sign-in-choices")
    page.get_by_role("link", name="Sign in with your organization account").click()
    page.wait_for_url(idp.base_url + "**")
    page.locator("input[name=username]").fill("browser")
    page.locator("input[name=password]").fill(IDP_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(live_server + "/")
    expect(page.get_by_role("heading", name="My training")).to_be_visible()
    expect(page.get_by_text("Hello Bea")).to_be_visible()
    check_page(page, "my-training")

    admin_page = new_page()
    sign_in(admin_page, make_user("admin", name="Ada Admin").email, check_page, screenshot=False)
    admin_page.goto("/admin/integrations")
    saml = admin_page.get_by_role("region", name="SAML 2.0 sign-in")
    expect(saml).to_contain_text("1 person linked")
    expect(saml).to_contain_text("Metadata read again after")
    check_page(admin_page, "sign-in-and-provisioning")
    admin_page.goto("/staff")
    admin_page.get_by_role("link", name="Bea Browser").first.click()
    links = admin_page.get_by_role("region", name="Organization sign-in")
    expect(links).to_contain_text("SAML")
    check_page(admin_page, "person-with-sso-link")
    links.get_by_role("button", name="Remove this link").click()
    expect(admin_page.get_by_text("The sign-in link of Bea Browser")).to_be_visible()
    expect(admin_page.get_by_role("region", name="Organization sign-in")).to_have_count(0)

    admin_page.goto("/settings/scim-tokens")
    admin_page.get_by_label("Name").fill("Entra ID provisioning")
    admin_page.get_by_role("button", name="Create token").click()
    expect(admin_page.get_by_text("Entra ID provisioning").first).to_be_visible()
    check_page(admin_page, "scim-token-created")


def test_someone_without_a_training_record_is_told_whom_to_contact(page, live_server, idp, check_page):
    idp.register_sp(requests.get(live_server + "/sso/saml/metadata", timeout=10).content)
    page.goto("/login")
    page.get_by_role("link", name="Sign in with your organization account").click()
    page.wait_for_url(idp.base_url + "**")
    page.locator("input[name=username]").fill("stranger")
    page.locator("input[name=password]").fill(IDP_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page.get_by_role("heading", name="You cannot sign in here yet")).to_be_visible()
    expect(page.get_by_text("Contact your HR or training team")).to_be_visible()
    check_page(page, "sso-refused")
