"""The single sign-on settings, read and checked at start-up."""

import pytest

from training.sso.identity import role_from_groups
from training.sso.settings import parse_role_groups, sso_rules


def test_role_groups_map_roles_to_the_providers_groups():
    assert parse_role_groups("hr=Training-HR; author=Training-Authors,Content Team;") == {
        "hr": ("Training-HR",),
        "author": ("Training-Authors", "Content Team"),
    }
    assert parse_role_groups("") == {}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("boss=Chiefs", "'boss' is not a role"), ("staff=Everyone", "'staff' is not a role"), ("hr=", "name the groups")],
)
def test_a_role_groups_setting_that_cannot_be_followed_stops_the_start(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_role_groups(raw)


def test_the_most_powerful_mapped_role_wins():
    mapping = {"hr": ("HR",), "author": ("Authors",), "admin": ("Admins",)}
    assert role_from_groups({"Authors", "HR"}, mapping) == "hr"
    assert role_from_groups({"Authors", "Admins"}, mapping) == "admin"
    assert role_from_groups({"Nurses"}, mapping) is None


def test_defaults_read_both_protocols_names_and_keep_passwords_on():
    rules = sso_rules({})
    assert rules.employee_id_attributes == ("employee_id", "employeeNumber")
    assert rules.job_title_attributes == ("job_title", "title")
    assert (rules.link_by_email, rules.create_accounts, rules.two_step) == (False, False, False)
    assert rules.password_allowed("nurse@example.org", "staff")


def test_admins_only_keeps_passwords_for_admins_and_named_break_glass_accounts():
    rules = sso_rules({"PASSWORD_SIGN_IN": "admins-only", "PASSWORD_SIGN_IN_ACCOUNTS": " Glass@Example.org , x@y.z"})
    assert rules.password_allowed("root@example.org", "admin")
    assert rules.password_allowed("glass@example.org", "hr")
    assert not rules.password_allowed("nurse@example.org", "staff")
    assert not rules.password_allowed("hr@example.org", "hr")


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"PASSWORD_SIGN_IN": "off"}, "PASSWORD_SIGN_IN"),
        ({"SSO_CREATE_ACCOUNTS": "yes"}, "SSO_CREATE_ACCOUNTS"),
        ({"SSO_LINK_BY_EMAIL": "2"}, "SSO_LINK_BY_EMAIL"),
        ({"SSO_TWO_STEP": "true"}, "SSO_TWO_STEP"),
    ],
)
def test_a_wrong_value_names_its_setting(settings, name):
    with pytest.raises(ValueError, match=name):
        sso_rules(settings)
