"""The Nu HTML Checker of the end-to-end tests: it keeps the HTML of every page a journey opens, error pages
too, and reports each error with the page's address and the checker's message."""

from tests.e2e.html_checker import PageSources

MICROSECONDS = b"""<!doctype html><html lang="en"><head><title>Audit</title></head>
<body><p><time datetime="2026-12-06T10:00:00.123456+00:00">6 Dec 2026</time></p></body></html>"""


def test_an_error_is_reported_with_the_page_the_line_and_the_message(html_checker):
    sources = PageSources()
    sources.keep("GET http://127.0.0.1/audit", MICROSECONDS)
    sources.keep("GET http://127.0.0.1/audit?page=1", MICROSECONDS)  # the same source is checked once

    problems = html_checker.problems(sources)

    assert len(problems) == 1
    assert problems[0].startswith("- GET http://127.0.0.1/audit line 2: Bad value")
    assert "A fraction of a second must be one, two, or three digits" in problems[0]


def test_the_pages_a_journey_opens_are_kept_error_pages_too(page, page_sources, live_server):
    page.goto("/login")
    page.goto("/compliance")  # answers with a redirect to the sign-in page: the redirect itself has no page
    page.goto("/no-such-page")

    addresses = [address for address, _ in page_sources.pages]

    assert addresses == [
        f"GET {live_server}/login",
        f"GET {live_server}/login?next=/compliance",
        f"GET {live_server}/no-such-page",
    ]
    assert all(html.lstrip().lower().startswith(b"<!doctype html>") for _, html in page_sources.pages)
