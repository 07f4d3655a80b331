"""The end of a request's database session, which a signal cannot cut in half.

Flask-SQLAlchemy ends the session of each app context in a teardown: `scoped_session.remove()`, which closes
the session (rolling back, returning its connection to the pool) and then forgets it. Python runs a signal
handler between any two bytecodes of the main thread, and gunicorn's sync worker handles its requests there
with handlers that raise SystemExit: SIGABRT (the worker timeout), SIGINT and SIGQUIT. A signal that arrives
while the teardown runs, just after a long response was written, stops `Session.close` part-way:

- the session is never forgotten: it stays in the scoped registry under the id of a dead app context, where
  a later context that gets the same id finds it half-closed;
- at 92 of the 220 lines `remove()` runs (on SQLite), its connection stays checked out of the pool;
- at others its transaction is left "closing", and closing it again raises IllegalStateChangeError
  ("method 'close()' is already in progress").

Gunicorn 27 catches that SystemExit once the response's headers were sent, and the worker goes on to exit
with the half-closed session and its connection left for the garbage collector at interpreter shutdown.
`end_session` runs before Flask-SQLAlchemy's teardown with those signals blocked, so a handler runs only once
the session is closed and forgotten; it forgets it even when closing fails. tests/test_session_end.py.

A request whose transaction only read (every statement a SELECT: most pages) ends it with COMMIT rather than
ROLLBACK, which for a transaction that wrote nothing is the same to the database. It matters to psycopg,
which forgets its prepared statements at every ROLLBACK (and sends DEALLOCATE ALL): with a ROLLBACK ending
each page, PostgreSQL planned the learner pages' statements again on every request, about half of its CPU
per page. Anything not flushed is still dropped by the close: the commit is the connection's, not the session's.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from training.extensions import db

# Connection.info key: True while the connection's transaction has sent nothing but SELECTs.
ONLY_READ = "session_end.only_read"
# Session.info key: the connection of the session's current transaction.
CONNECTION = "session_end.connection"

# Signals whose handler (or default action) may act while the session closes: gunicorn's worker handles
# SIGABRT, SIGINT and SIGQUIT by raising SystemExit and SIGTERM, SIGHUP, SIGUSR1 and SIGWINCH with handlers of
# its own; `flask jobs work` stops on SIGINT and SIGTERM. A signal held is raised again when the block ends,
# so none is lost.
DEFERRED_SIGNALS = frozenset(
    {
        signal.SIGABRT,
        signal.SIGALRM,
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGTERM,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGWINCH,
    }
)


def init_app(app: Flask) -> None:
    """Register after `db.init_app`: Flask runs teardowns in reverse order, so this one runs first and
    Flask-SQLAlchemy's finds no session left to remove."""
    app.teardown_appcontext(end_session)


def end_session(exc: BaseException | None = None) -> None:
    """Close and forget this context's session, with no signal handler running in between."""
    with signals_deferred():
        try:
            if exc is None:
                _commit_what_only_read()
            db.session.remove()
        finally:
            db.session.registry.clear()


def _commit_what_only_read() -> None:
    if not db.session.registry.has():
        return
    session = db.session.registry()
    connection = session.info.get(CONNECTION)
    if session.in_transaction() and connection is not None and connection.info.get(ONLY_READ):
        connection.commit()


@event.listens_for(Session, "after_begin")
def _note_connection(session: Session, _transaction, connection: Connection) -> None:
    session.info[CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(CONNECTION, None)


@event.listens_for(Connection, "begin")
def _transaction_begins(connection: Connection) -> None:
    connection.info[ONLY_READ] = True


@event.listens_for(Connection, "before_cursor_execute")
def _statement_sent(connection: Connection, _cursor, statement: str, *_args) -> None:
    if not statement.startswith("SELECT"):
        connection.info[ONLY_READ] = False


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold DEFERRED_SIGNALS until the block ends, then deliver each one held to the handler it was meant for.

    The Python handlers are swapped for one that only notes the signal, rather than the signals blocked with
    `pthread_sigmask`: a mask is per thread, and the kernel gives a signal sent to the process to any thread
    that does not block it (a job worker's, a log forwarder's), after which Python runs the handler in the
    main thread all the same. Only the main thread runs Python signal handlers or may set them, so another
    thread has nothing to hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {}
    for number in DEFERRED_SIGNALS:
        handler = signal.getsignal(number)
        if handler is not None and handler != signal.SIG_IGN:  # None: set outside Python, left alone
            previous[number] = signal.signal(number, lambda received, _frame: held.append(received))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in held:
            signal.raise_signal(number)
