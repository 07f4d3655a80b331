"""Fixtures for the end-to-end tests: the app behind a real HTTP server on 127.0.0.1, a Chromium
browser shared by the package's tests, and a fresh browser context (cookies, downloads) per person.

Each test still gets the `app` fixture's fresh database, on SQLite and, with TEST_DATABASE_URL, on
PostgreSQL, loaded with the shipped courses from modules/ and quizzes/.
"""

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.e2e.browser import PageChecker
from tests.e2e.html_checker import HtmlChecker, PageSources
from training.config import PROJECT_ROOT
from training.content.loader import load_content
from training.content.sync import sync_content

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
NO_CHROMIUM = "Chromium is not installed: apt-get install chromium (Debian's package; the end-to-end tests drive it)"
# Headless Chromium on a machine without network access: no GPU, no sandbox (containers), and none
# of the background connections (updates, sync, QUIC) that a closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOT_DIR = Path(os.environ.get("E2E_SCREENSHOT_DIR", PROJECT_ROOT / "artifacts" / "screenshots"))


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all the end-to-end tests, closed when the last of them has run (not kept
    open for the rest of the suite)."""
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shipped_content(app):
    """The courses we ship, loaded as `flask content sync` loads them."""
    with app.app_context():
        report = sync_content(load_content(PROJECT_ROOT / "modules", PROJECT_ROOT / "quizzes", root=PROJECT_ROOT))
    assert report.courses_created


@pytest.fixture
def live_server(app, shipped_content, page_sources):
    """The app served over HTTP on a free port of 127.0.0.1 in a thread; its base URL. The HTML of each page it
    serves is kept for the Nu HTML Checker."""
    server = make_server("127.0.0.1", 0, read_whole(page_sources.recording(app)), threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base_url  # certificates' verification links point here
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield base_url
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def read_whole(app):
    """Each response read whole, and its iterable closed, before the test server writes it. Werkzeug's development
    server closes an iterable only once it has written all of it: a static file whose browser dropped the
    connection midway (a page left for the next) stayed open, a ResourceWarning that failed a later test.
    Gunicorn, which serves the app in production, closes it in any case."""

    def whole(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return whole


@pytest.fixture(scope="package")
def html_checker():
    """One Nu HTML Checker service for all the end-to-end tests of a worker (it takes a while to start)."""
    checker = HtmlChecker()
    yield checker
    checker.stop()


@pytest.fixture
def page_sources(html_checker):
    """The HTML of every page the app serves during the test; after it, the Nu HTML Checker must find no error
    in any of them."""
    sources = PageSources()
    yield sources
    problems = html_checker.problems(sources)
    assert not problems, "the Nu HTML Checker found errors:\n" + "\n".join(problems)


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a new browser context: one per person, so cookies never mix."""
    contexts = []

    def open_page():
        context = browser.new_context(base_url=live_server, accept_downloads=True, viewport=DESKTOP)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def check_page(request, backend):
    """`check_page(page, name)`: axe-core at 375 and 1280 px, and a full-page screenshot at each
    (SQLite run only, so the two backends do not overwrite each other's files)."""
    journey = request.node.originalname.removeprefix("test_").removesuffix("_journey").replace("_", "-")
    return PageChecker(journey, SCREENSHOT_DIR if backend == "sqlite" else None)
