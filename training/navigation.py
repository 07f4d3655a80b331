"""The site's information architecture: its sections, their pages, who sees which, and where a page belongs.

The header lists the sections a person's role opens (a person with one section sees its pages instead);
the current section lists its own pages under the header. docs/navigation.md describes the same map.
"""

from dataclasses import dataclass

EVERYONE = frozenset({"staff", "manager", "hr", "author", "admin"})
VIEWERS = frozenset({"manager", "hr", "admin"})
HR = frozenset({"hr", "admin"})
AUTHORS = frozenset({"author", "admin"})
ADMIN = frozenset({"admin"})
STATISTICS = HR | AUTHORS


@dataclass(frozen=True)
class Page:
    """A page in a section. `within` holds the endpoints of the pages reached from it (records, forms),
    as endpoint names or blueprint prefixes ending in a dot, which show it as where the person is."""

    name: str
    endpoint: str
    roles: frozenset[str]
    within: tuple[str, ...] = ()

    def holds(self, endpoint: str) -> bool:
        return endpoint == self.endpoint or any(_matches(endpoint, pattern) for pattern in self.within)


@dataclass(frozen=True)
class Section:
    """A top-level section; `within` holds endpoints that belong to it without being one of its pages."""

    name: str
    pages: tuple[Page, ...]
    within: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """One link of a navigation: `current` is "page" for the page itself, "true" for a page or section
    that holds it, None otherwise (the value of its aria-current attribute)."""

    name: str
    endpoint: str
    current: str | None


@dataclass(frozen=True)
class Navigation:
    """What base.html draws: the header's links and, inside a section, that section's own links."""

    main: tuple[Link, ...]
    section_name: str | None
    section: tuple[Link, ...]


SECTIONS = (
    Section(
        "My training",
        (
            Page(
                "My training",
                "courses.home",
                EVERYONE,
                ("courses.course", "courses.module", "courses.attempts", "quizzes."),
            ),
            Page("Transcript", "courses.transcript", EVERYONE),
            Page("Policies", "policies.index", EVERYONE, ("policies.show",)),
        ),
    ),
    Section(
        "Compliance",
        (
            Page("Overview", "compliance.dashboard", VIEWERS),
            Page("People", "compliance.people", VIEWERS, ("compliance.person",)),
            Page("Requirements", "compliance.requirements", HR),
            Page("Reminders", "reminders.index", HR),
            Page("Certificates", "certificates.index", HR),
            Page("Audit packet", "reports.audit_packet", VIEWERS),
        ),
        within=("reports.export_job",),
    ),
    Section(
        "Staff",
        (
            Page("Staff", "staff.index", HR, ("staff.edit", "staff.deactivate")),
            Page("Add a person", "staff.new", HR),
            Page("Departments", "staff.departments", HR),
            Page("Import CSV", "staff.import_staff", HR),
        ),
    ),
    Section(
        "Content",
        (
            Page("Authoring", "authoring.index", AUTHORS, ("authoring.", "authoring_courses.", "authoring_transfer.")),
            Page(
                "Manage policies",
                "policies.manage",
                HR,
                ("policies.new", "policies.detail", "policies.publish", "policies.version"),
            ),
            Page("Question statistics", "authoring_stats.index", STATISTICS, ("authoring_stats.",)),
            Page("Authoring activity", "authoring.activity", ADMIN),
        ),
    ),
    Section(
        "Settings",
        (
            Page("API tokens", "api_tokens.index", HR),
            Page("Sign-in and provisioning", "integrations.index", ADMIN),
            Page("SCIM tokens", "scim_tokens.index", ADMIN),
            Page("Audit record", "audit.index", ADMIN),
        ),
    ),
)


def _matches(endpoint: str, pattern: str) -> bool:
    return endpoint.startswith(pattern) if pattern.endswith(".") else endpoint == pattern


def _pages_for(section: Section, role: str) -> tuple[Page, ...]:
    return tuple(page for page in section.pages if role in page.roles)


def _current_page(pages: tuple[Page, ...], endpoint: str) -> Page | None:
    """The page that holds the endpoint; an exact match wins over a page that only holds it."""
    exact = [page for page in pages if page.endpoint == endpoint]
    return (exact or [page for page in pages if page.holds(endpoint)] or [None])[0]


def _page_links(pages: tuple[Page, ...], where: str, endpoint: str) -> tuple[Link, ...]:
    """The links to these pages; the one holding `where` is current, as "page" if it is the `endpoint` shown."""
    here = _current_page(pages, where)
    return tuple(
        Link(page.name, page.endpoint, None if page is not here else "page" if page.endpoint == endpoint else "true")
        for page in pages
    )


def _section_of(sections: list[tuple[Section, tuple[Page, ...]]], endpoint: str) -> int | None:
    for index, (section, pages) in enumerate(sections):
        if _current_page(pages, endpoint) or any(_matches(endpoint, pattern) for pattern in section.within):
            return index
    return None


def site_navigation(role: str, endpoint: str | None, here: str | None = None) -> Navigation:
    """The navigation of a page for a person of `role`; `here` names the endpoint the page belongs to when
    that is not its own (a certificate is part of the learner's transcript for its owner, of Compliance for HR)."""
    endpoint = endpoint or ""
    where = here or endpoint
    sections = [(section, pages) for section in SECTIONS if (pages := _pages_for(section, role))]
    if len(sections) == 1:
        return Navigation(_page_links(sections[0][1], where, endpoint), None, ())
    current = _section_of(sections, where)
    main = tuple(
        Link(section.name, pages[0].endpoint, "true" if index == current else None)
        for index, (section, pages) in enumerate(sections)
    )
    if current is None or len(sections[current][1]) < 2:
        return Navigation(main, None, ())
    section, pages = sections[current]
    return Navigation(main, section.name, _page_links(pages, where, endpoint))
