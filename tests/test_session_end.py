"""A signal during the end of a request cannot leave its database session half-closed (issue 20, goal 6).

A gunicorn worker crashed in libpython after a 278 KB /transcript response, preceded by "TypeError: 'tuple'
object is not callable in Session.close". Gunicorn's sync worker turns SIGABRT (its timeout), SIGINT and
SIGQUIT into SystemExit, raised wherever the main thread is, and the teardown that closes the session runs
just after a long response was written. These tests send a real signal to this process at the moment the
teardown returns the session's connection to the pool, with a handler that does what gunicorn's do, and
check what the session and the pool are left with (training/session_end.py).
"""

import gc
import os
import signal
from dataclasses import dataclass, field

import pytest
from flask import has_request_context
from sqlalchemy import event

from training.extensions import db


def _like_gunicorn(_signum, _frame):
    raise SystemExit(0)  # gunicorn's Worker.handle_quit and handle_abort end with sys.exit()


@dataclass
class Armed:
    """What the armed request did: the signals sent, and the pool entries of the connections it checked out."""

    sent: list = field(default_factory=list)
    connections: set = field(default_factory=set)
    armed: bool = False

    def __call__(self) -> list:
        self.armed = True
        return self.sent


@pytest.fixture
def signal_while_the_session_closes(app):
    """Arms a SIGQUIT to this process, sent once from inside Session.close of the next request's teardown: when
    the pool takes back a connection that request checked out, outside any request (Flask pops the request
    context before the app context). Calling it arms it and returns the list of signals sent.

    Only that request's own connections count: a connection an earlier test left unreferenced is checked in
    by the garbage collector, at any moment, and a signal sent from there would land in its finaliser."""
    state = Armed()

    def checked_out(_dbapi_connection, record, _proxy):
        if state.armed and has_request_context():
            state.connections.add(id(record))

    def checked_in(_dbapi_connection, record):
        if id(record) in state.connections and not state.sent and not has_request_context():
            state.sent.append(signal.SIGQUIT)
            os.kill(os.getpid(), signal.SIGQUIT)

    with app.app_context():
        pool = db.engine.pool
    previous = signal.signal(signal.SIGQUIT, _like_gunicorn)
    event.listen(pool, "checkout", checked_out)
    event.listen(pool, "checkin", checked_in)
    yield state
    event.remove(pool, "checkin", checked_in)
    event.remove(pool, "checkout", checked_out)
    signal.signal(signal.SIGQUIT, previous)


def sessions_left(app) -> int:
    """Sessions in Flask-SQLAlchemy's registry, one per app context that has not ended its session."""
    return len(db.session.registry.registry)


def checked_out(app) -> int:
    """Connections out of the pool, after the collector has checked in any an earlier test left unreferenced."""
    gc.collect()
    with app.app_context():
        return db.engine.pool.checkedout()


def test_a_signal_as_the_request_ends_leaves_no_session_behind(
    app, client, auth, make_user, signal_while_the_session_closes
):
    auth.login(make_user())
    before = checked_out(app)
    sent = signal_while_the_session_closes()
    with pytest.raises(SystemExit):
        client.get("/transcript")
    assert sent == [signal.SIGQUIT], "the signal was sent from inside the teardown"
    assert sessions_left(app) == 0, "the session was closed and forgotten before the handler ran"
    assert checked_out(app) == before, "its connection went back to the pool"
    assert client.get("/transcript").status_code == 200


def test_the_signal_is_held_not_lost(app, client, auth, make_user, signal_while_the_session_closes):
    """The handler still runs, once, as soon as the session is closed: the worker still stops."""
    auth.login(make_user())
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    signal_while_the_session_closes()
    with pytest.raises(SystemExit):
        client.get("/")
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask, "nothing stays blocked"
    assert client.get("/").status_code == 200
