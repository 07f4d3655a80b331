"""Signing in with the organisation's account in Chromium, through a real OpenID provider's own sign-in page
(panva's oidc-provider, tests/oidc_provider.py), and landing on My training."""

import pytest
from playwright.sync_api import expect

from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider

BUTTON = "Sign in with your organization account"


@pytest.fixture(scope="module")
def provider():
    running = OidcProvider([], [])
    yield running
    running.stop()


@pytest.fixture
def app_config(provider):
    return {"OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET}


def test_sso_oidc_journey(page, live_server, provider, make_user, check_page):
    provider.register_redirect(f"{live_server}/sso/oidc/callback", f"{live_server}/login")
    make_user(name="Nora Nurse", employee_id="E1001")
    page.goto("/login")
    check_page(page, "sign-in")
    page.get_by_role("link", name=BUTTON).click()

    page.wait_for_url(f"{provider.issuer}/interaction/**")  # the provider's own sign-in page
    page.locator("input[name=login]").fill("a8f2-nurse")
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()

    expect(page.get_by_role("heading", level=1, name="My training")).to_be_visible()
    assert page.url == f"{live_server}/"
    expect(page.get_by_text("Nora Nurse").first).to_be_visible()
    check_page(page, "my-training")
