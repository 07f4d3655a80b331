"""The Nu HTML Checker for the end-to-end tests: vnu.jar (npm package vnu-jar, tests/peers/vnu) run as its own
web service on loopback with the machine's Java, so that one start serves every page of a test run.

`PageSources` keeps the HTML the app serves to the test's browser, page by page; `HtmlChecker.problems` sends
each page to the checker and returns its errors with the page's address.
"""

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import requests
from werkzeug.datastructures import Headers
from werkzeug.wsgi import get_current_url

from tests.helpers import stop_process

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "vnu"
VNU_JAR = PEER_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
START_TIMEOUT = 300  # seconds; the checker reads its schemas at start, a minute or more on a busy machine
ERROR_TYPES = {"error", "non-document-error"}


def java_and_jar() -> tuple[str, Path]:
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.fail(
            "The end-to-end tests check every page with the Nu HTML Checker: they need Java "
            "(apt-get install default-jre-headless) and vnu-jar (`make peers`: npm ci in tests/peers/vnu)."
        )
    return java, VNU_JAR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HtmlChecker:
    """The checker's web service (nu.validator.servlet.Main) on a free port of 127.0.0.1, until `stop()`."""

    def __init__(self) -> None:
        java, jar = java_and_jar()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        loopback_only = "-Dnu.validator.servlet.bind-address=127.0.0.1"
        self.process = subprocess.Popen(
            [java, loopback_only, "-cp", str(jar), "nu.validator.servlet.Main", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the Nu HTML Checker stopped at start (exit status {self.process.returncode})")
            try:
                requests.get(self.url, timeout=30)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still warming up
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"the Nu HTML Checker did not answer on {self.url} within {START_TIMEOUT} s")

    def errors(self, html: bytes) -> list[dict]:
        """The checker's error messages for one document (warnings and notes left out)."""
        response = requests.post(
            self.url,
            params={"out": "json"},
            data=html,
            headers={"Content-Type": "text/html; charset=utf-8"},
            timeout=120,
        )
        response.raise_for_status()
        return [m for m in response.json()["messages"] if m["type"] in ERROR_TYPES]

    def problems(self, sources: "PageSources") -> list[str]:
        """Each error of each page, as a line a person can act on: address, line, message and the extract."""
        lines = []
        for url, html in sources.pages:
            for message in self.errors(html):
                extract = " ".join(message.get("extract", "").split())
                lines.append(f"- {url} line {message.get('lastLine', '?')}: {message['message']}\n    {extract}")
        return lines

    def stop(self) -> None:
        stop_process(self.process)


class PageSources:
    """The HTML of every page the browser opened while a test ran (a document it navigated to, answered with
    HTML and not a redirect, error pages too), as (method and address, source), each distinct source once.
    `recording(app)` is the app with a WSGI layer that keeps them: the server's own answer, whatever the
    browser did next."""

    def __init__(self) -> None:
        self.pages: list[tuple[str, bytes]] = []
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def recording(self, app: Callable) -> Callable:
        def recorded(environ: dict, start_response: Callable) -> Iterable[bytes]:
            answer: dict = {}

            def keep_start(status: str, headers: list, exc_info=None):
                answer.update(status=int(status.split()[0]), headers=Headers(headers))
                return start_response(status, headers, exc_info)

            body = app(environ, keep_start)
            if environ.get("HTTP_SEC_FETCH_DEST") != "document" or not _is_page(answer):
                return body
            try:
                html = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
            self.keep(f"{environ['REQUEST_METHOD']} {get_current_url(environ)}", html)
            return [html]

        return recorded

    def keep(self, address: str, html: bytes) -> None:
        with self._lock:
            if html not in self._seen:
                self._seen.add(html)
                self.pages.append((address, html))


def _is_page(answer: dict) -> bool:
    if not answer or 300 <= answer["status"] < 400:
        return False
    return answer["headers"].get("Content-Type", "").startswith("text/html")
