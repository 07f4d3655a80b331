"""The header and section navigation of every role, through HTTP: each page it links opens for that person,
each page is linked and named once, and exactly one link says where the person is (docs/navigation.md)."""

from collections import defaultdict

import lxml.html
import pytest

ROLES = ("staff", "manager", "hr", "author", "admin")
# The sections each role sees in the header (staff have one, so the header lists its pages instead).
SECTIONS = {
    "staff": ["My training", "Transcript", "Policies"],
    "manager": ["My training", "Compliance"],
    "hr": ["My training", "Compliance", "Staff", "Content", "Settings"],
    "author": ["My training", "Content"],
    "admin": ["My training", "Compliance", "Staff", "Content", "Settings"],
}


def nav_links(html: str, label: str) -> list[tuple[str, str, str | None]]:
    """(name, href, aria-current) of each link in the navigation landmark with this label."""
    tree = lxml.html.fromstring(html)
    return [
        (" ".join(a.text_content().split()), a.get("href"), a.get("aria-current"))
        for nav in tree.xpath("//nav[@aria-label=$label]", label=label)
        for a in nav.iter("a")
    ]


def section_nav(html: str) -> tuple[str | None, list[tuple[str, str, str | None]]]:
    tree = lxml.html.fromstring(html)
    found = tree.xpath("//nav[@class='section-nav']")
    assert len(found) <= 1
    return (found[0].get("aria-label"), nav_links(html, found[0].get("aria-label"))) if found else (None, [])


def header_sections(html: str) -> list[tuple[str, str, str | None]]:
    """The Main navigation's section links, without the account link (the person's name)."""
    return [link for link in nav_links(html, "Main") if link[1] != "/account"]


def walk(client) -> dict[str, str]:
    """Every page the navigation links for the signed-in person, from My training: path -> HTML."""
    pages, queue = {}, ["/"]
    while queue:
        path = queue.pop()
        if path in pages:
            continue
        response = client.get(path)
        assert response.status_code == 200, f"{path} is linked but answers {response.status_code}"
        pages[path] = response.get_data(as_text=True)
        queue += [href for _, href, _ in header_sections(pages[path]) + section_nav(pages[path])[1]]
    return pages


def assert_one_each(links, where):
    names, hrefs = [name for name, _, _ in links], [href for _, href, _ in links]
    assert len(set(names)) == len(names) and len(set(hrefs)) == len(hrefs), f"{where}: {links}"


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_navigation_links_its_pages_once_and_marks_one_current(client, auth, make_user, course, role):
    auth.login(make_user(role=role, department="Ward 1"))
    pages = walk(client)
    names = defaultdict(set)
    for path, html in pages.items():
        main, (label, section) = header_sections(html), section_nav(html)
        assert [name for name, _, _ in main] == SECTIONS[role], path
        assert_one_each(main, f"header of {path}")
        assert_one_each(section, f"section navigation of {path}")
        if section:
            assert [link for link in section if link[2]] == [(*_named(section, path), "page")], path
            assert [name for name, _, current in main if current] == [label], path
        else:
            assert len([link for link in main if link[2]]) == 1, path
        for name, href, _ in section or main:
            names[name].add(href)
    assert all(len(hrefs) == 1 for hrefs in names.values()), names


def _named(links, path):
    matches = [(name, href) for name, href, _ in links if href == path]
    assert len(matches) == 1, f"{path} is not in its section's navigation: {links}"
    return matches[0]


def test_one_page_is_called_people(client, auth, make_user, course):
    """The compliance list of people is "People"; HR's staff records are "Staff" (issue 21)."""
    auth.login(make_user(role="hr"))
    people = [(name, href) for name, href, _ in section_nav(client.get("/compliance").get_data(as_text=True))[1]]
    staff = [(name, href) for name, href, _ in section_nav(client.get("/staff").get_data(as_text=True))[1]]
    assert ("People", "/compliance/people") in people and ("Staff", "/staff") in staff
    assert "People" not in [name for name, _ in staff]


@pytest.mark.parametrize(
    ("role", "path", "section", "current"),
    [
        ("hr", "/staff/{hr}/edit", "Staff", "Staff"),
        ("hr", "/compliance/people/{hr}", "Compliance", "People"),
        ("hr", "/policies/manage/new", "Content", "Manage policies"),
        ("hr", "/authoring/courses/test-course/statistics", "Content", "Question statistics"),
        ("admin", "/authoring/courses/test-course/questions", "Content", "Authoring"),
        ("author", "/authoring/courses/test-course/statistics", "Content", "Question statistics"),
        ("manager", "/courses/test-course", "My training", "My training"),
    ],
)
def test_a_page_below_a_section_page_marks_both(client, auth, make_user, course, role, path, section, current):
    """A record or form shows its section in the header and the page it came from as "true", not "page"."""
    person = make_user(role=role, department="Ward 1")
    auth.login(person)
    html = client.get(path.format(hr=person.id)).get_data(as_text=True)
    assert [(name, value) for name, _, value in header_sections(html) if value] == [(section, "true")]
    label, links = section_nav(html)
    assert label == section and [(name, value) for name, _, value in links if value] == [(current, "true")]


def test_a_section_with_one_page_for_the_role_has_no_second_menu(client, auth, make_user):
    """HR's Settings hold only API tokens: the header link is enough."""
    auth.login(make_user(role="hr"))
    html = client.get("/settings/api-tokens").get_data(as_text=True)
    assert section_nav(html) == (None, [])
    assert [(name, value) for name, _, value in header_sections(html) if value] == [("Settings", "true")]


def test_the_account_pages_mark_the_name_in_the_header(client, auth, make_user):
    auth.login(make_user(role="hr", name="Hana Hr"))
    for path, current in (("/account", "page"), ("/account/sessions", "true"), ("/account/two-step", "true")):
        html = client.get(path).get_data(as_text=True)
        account = [link for link in nav_links(html, "Main") if link[1] == "/account"]
        assert account == [("Your account: Hana Hr", "/account", current)], path
        assert not [link for link in header_sections(html) if link[2]], path
