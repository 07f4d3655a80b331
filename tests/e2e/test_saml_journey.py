"""Signing in with SAML in Chromium: our sign-in page, SimpleSAMLphp's login page, back on My training.

The IdP is Debian's SimpleSAMLphp on loopback (tests/simplesamlphp.py); its page auto-posts the
SAMLResponse to our ACS with its own JavaScript, as it would for any browser.
"""

import pytest
import requests
from playwright.sync_api import expect

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


def test_saml_sign_in_journey(page, live_server, idp, make_user, check_page):
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
