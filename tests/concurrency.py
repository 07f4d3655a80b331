"""Many browsers sending the same request at the same moment: the harness of tests/test_races.py.

Each request comes from its own Flask test client, carrying a copy of one signed-in browser's
cookies (as twenty tabs, or twenty clicks, of one person would). The test client runs every request
in its own app context, so each has its own SQLAlchemy session and its own pooled connection; the
threads are released together by a barrier, so the requests really overlap in the database.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.test import TestResponse

from training.extensions import db

CLIENTS = 20
ROUNDS = 3
POOL = {"pool_size": CLIENTS, "max_overflow": 10, "pool_timeout": 60}


@dataclass(frozen=True)
class Outcome:
    """What one request got back. `error` is an exception the app did not handle: a 500 in production."""

    status: int
    location: str = ""
    text: str = ""
    error: str = ""

    @property
    def label(self) -> str:
        return f"{self.status} {self.error}".strip()


@dataclass(frozen=True)
class Round:
    outcomes: list[Outcome]
    seconds: float
    peak_connections: int

    def tally(self) -> Counter:
        return Counter(outcome.status for outcome in self.outcomes)

    def errors(self) -> list[str]:
        return [outcome.label for outcome in self.outcomes if outcome.status >= 500]

    def with_status(self, status: int) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == status]


def copies(app: Flask, browser: FlaskClient, count: int = CLIENTS) -> list[FlaskClient]:
    """`count` test clients holding the same session cookie as `browser` (signed in, CSRF token issued)."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = browser.get_cookie(name)
    assert cookie is not None, "the browser to copy has no session cookie: sign in first"
    clients = []
    for _ in range(count):
        client = app.test_client()
        client.set_cookie(name, cookie.value)
        clients.append(client)
    return clients


class PoolWatch:
    """Counts the engine's connections in use, to show that the requests held theirs at the same time."""

    def __init__(self, engine):
        self.pool = engine.pool
        self.lock = threading.Lock()
        self.in_use = self.peak = 0

    def __enter__(self):
        event.listen(self.pool, "checkout", self._checkout)
        event.listen(self.pool, "checkin", self._checkin)
        return self

    def __exit__(self, *exc):
        event.remove(self.pool, "checkout", self._checkout)
        event.remove(self.pool, "checkin", self._checkin)

    def _checkout(self, *args):
        with self.lock:
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)

    def _checkin(self, *args):
        with self.lock:
            self.in_use -= 1


def at_once(app: Flask, calls: list[Callable[[], object]]) -> Round:
    """Make each call (a request, or a service call) in its own thread, all released together; wait for all."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait(timeout=60)
        try:
            result = call()
            if isinstance(result, TestResponse):
                outcomes[index] = Outcome(
                    result.status_code, result.headers.get("Location", ""), result.get_data(as_text=True)
                )
            else:  # a service call (what a CLI command runs): 200 when it returns, with what it returned
                outcomes[index] = Outcome(200, text=str(result))
        except Exception as error:  # TESTING propagates what the app did not handle: a 500 in production
            outcomes[index] = Outcome(500, error=f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    with app.app_context():
        engine = db.engine
    with PoolWatch(engine) as watch:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        seconds = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return Round([outcome for outcome in outcomes if outcome is not None], seconds, watch.peak)


def report(name: str, backend: str, rounds: list[Round]) -> None:
    """One line per scenario for the race report (shown with `pytest -s`): outcomes and wall time."""
    total: Counter = Counter()
    for played in rounds:
        total.update(played.tally())
    times = ", ".join(f"{played.seconds:.2f}" for played in rounds)
    peaks = ", ".join(str(played.peak_connections) for played in rounds)
    counts = " ".join(f"{status}x{count}" for status, count in sorted(total.items()))
    print(
        f"\nRACE {name} [{backend}] {len(rounds)} rounds of {len(rounds[0].outcomes)}: {counts}; "
        f"seconds {times}; connections in use at once (peak) {peaks}"
    )
