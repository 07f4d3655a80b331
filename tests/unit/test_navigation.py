"""The information architecture as data (training/navigation.py), without an app."""

import pytest

from training.navigation import SECTIONS, Link, site_navigation

ROLES = ("staff", "manager", "hr", "author", "admin")


def current(links) -> list[tuple[str, str]]:
    return [(link.name, link.current) for link in links if link.current]


def test_every_page_has_one_name_and_every_name_one_page():
    pages = [page for section in SECTIONS for page in section.pages]
    assert len({page.name for page in pages}) == len(pages)
    assert len({page.endpoint for page in pages}) == len(pages)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_my_training_first_and_no_empty_section(role):
    main = site_navigation(role, "courses.home").main
    assert main[0] == Link("My training", "courses.home", "page" if role == "staff" else "true")
    assert all(link.endpoint for link in main)


def test_a_person_with_one_section_gets_its_pages_in_the_header():
    navigation = site_navigation("staff", "policies.show")
    assert [link.name for link in navigation.main] == ["My training", "Transcript", "Policies"]
    assert current(navigation.main) == [("Policies", "true")] and navigation.section == ()


def test_a_section_links_to_the_first_page_the_role_may_open():
    hr = {link.name: link.endpoint for link in site_navigation("hr", "courses.home").main}
    admin = {link.name: link.endpoint for link in site_navigation("admin", "courses.home").main}
    assert hr["Content"] == "policies.manage" and admin["Content"] == "authoring.index"
    assert hr["Settings"] == admin["Settings"] == "api_tokens.index"


def test_the_managers_compliance_pages_are_the_three_they_may_open():
    navigation = site_navigation("manager", "compliance.person")
    assert [link.name for link in navigation.section] == ["Overview", "People", "Audit packet"]
    assert current(navigation.section) == [("People", "true")]


def test_an_exact_page_wins_over_a_page_that_holds_its_blueprint():
    """Authoring holds every authoring.* page, but the activity page is its own for admins."""
    navigation = site_navigation("admin", "authoring.activity")
    assert current(navigation.section) == [("Authoring activity", "page")]
    assert current(site_navigation("admin", "authoring.bank").section) == [("Authoring", "true")]


def test_a_page_may_say_where_it_belongs():
    own = site_navigation("hr", "certificates.detail", here="courses.transcript")
    assert current(own.main) == [("My training", "true")] and current(own.section) == [("Transcript", "true")]
    assert current(site_navigation("hr", "certificates.detail").main) == []


def test_a_job_page_belongs_to_compliance_without_a_page():
    navigation = site_navigation("hr", "reports.export_job")
    assert current(navigation.main) == [("Compliance", "true")] and current(navigation.section) == []


def test_pages_outside_every_section_mark_nothing():
    for endpoint in ("account.index", "certificates.lookup", None):
        navigation = site_navigation("admin", endpoint)
        assert current(navigation.main) == [] and navigation.section == ()
