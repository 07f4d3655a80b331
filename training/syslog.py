"""RFC 5424 syslog over TCP or TLS, sent from a thread of its own so that no caller ever waits on the network.

Messages are framed by octet counting (RFC 6587 section 3.4.1 over TCP, RFC 5425 over TLS), which
every current receiver (rsyslog, syslog-ng, the SIEMs' collectors) reads, and which needs no escaping
of line breaks. The formatting is written here rather than taken from PyPI: the one library that
does RFC 5424 over TLS, rfc5424-logging-handler, has had no release since 2019, pulls in pytz and
tzlocal, and connects (and raises) in its constructor, so a SIEM that is down at start-up would stop
the app from starting.

Syslog over TCP has no acknowledgements: a message written in the instant the receiver dies can be
lost in the kernel's buffers. Before each message the connection is checked for the receiver having
closed it, which catches a receiver restart; the rest is what `flask audit forward` is for.
"""

import atexit
import logging
import os
import select
import socket
import ssl
import threading
from collections import deque
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"tcp": 514, "tls": 6514}
NILVALUE = "-"
BOM = b"\xef\xbb\xbf"
# RFC 5424 section 6: facilities and severities used here.
FACILITY_AUTH = 4  # security/authorization messages
FACILITY_LOG_AUDIT = 13  # log audit
SEVERITY_ERROR, SEVERITY_WARNING, SEVERITY_NOTICE, SEVERITY_INFO = 3, 4, 5, 6
SEVERITY_OF_LEVEL = {
    logging.CRITICAL: 2,
    logging.ERROR: SEVERITY_ERROR,
    logging.WARNING: SEVERITY_WARNING,
    logging.INFO: SEVERITY_INFO,
}

FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 30.0
BUFFER_SIZE = 10_000
APP_NAME = "training"


@dataclass(frozen=True)
class SyslogDestination:
    """Where to send, and how: `tcp` (plain) or `tls` (the server's certificate checked)."""

    scheme: str
    host: str
    port: int
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    timeout: float = 5.0

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def syslog_destination(
    url: str, *, ca_file: str = "", client_cert: str = "", client_key: str = "", timeout: float = 5.0
) -> SyslogDestination:
    """Check the settings of a syslog destination; a ValueError names what is wrong (read at start-up)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"AUDIT_SYSLOG_URL must start with tcp:// or tls://, not {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"AUDIT_SYSLOG_URL has a port that is not a number from 1 to 65535: {url!r}") from None
    if not parts.hostname or parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"AUDIT_SYSLOG_URL must be tcp://HOST[:PORT] or tls://HOST[:PORT], not {url!r}")
    if parts.scheme == "tcp" and (ca_file or client_cert or client_key):
        raise ValueError("AUDIT_SYSLOG_CA_FILE, _CLIENT_CERT and _CLIENT_KEY only apply to a tls:// AUDIT_SYSLOG_URL")
    if client_key and not client_cert:
        raise ValueError("AUDIT_SYSLOG_CLIENT_KEY is set without AUDIT_SYSLOG_CLIENT_CERT")
    if not 0 < timeout <= 60:
        raise ValueError(f"AUDIT_SYSLOG_TIMEOUT must be more than 0 and at most 60 seconds, not {timeout}")
    destination = SyslogDestination(parts.scheme, parts.hostname, port, ca_file, client_cert, client_key, timeout)
    if destination.scheme == "tls":
        tls_context(destination)  # unreadable or malformed certificate files stop the start, not the first event
    return destination


def tls_context(destination: SyslogDestination) -> ssl.SSLContext:
    """Verify the server against AUDIT_SYSLOG_CA_FILE (or the system's CAs) and its host name; TLS 1.2 or later."""
    for name, path in (
        ("AUDIT_SYSLOG_CA_FILE", destination.ca_file),
        ("AUDIT_SYSLOG_CLIENT_CERT", destination.client_cert),
        ("AUDIT_SYSLOG_CLIENT_KEY", destination.client_key),
    ):
        if path and not Path(path).is_file():
            raise ValueError(f"{name} is not a readable file: {path!r}")
    try:
        context = ssl.create_default_context(cafile=destination.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if destination.client_cert:
            context.load_cert_chain(destination.client_cert, destination.client_key or None)
    except ssl.SSLError as exc:
        raise ValueError(f"the AUDIT_SYSLOG_* certificate files could not be loaded: {exc}") from None
    return context


@dataclass(frozen=True)
class SyslogMessage:
    """One message, before formatting. `label` is not sent: it names the message in our own warnings."""

    facility: int
    severity: int
    timestamp: datetime
    msgid: str
    structured_data: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    msg: str
    label: str = ""


def _printable(value: str, limit: int) -> str:
    """Header fields are 1 to `limit` printable US-ASCII characters, or the nil value."""
    kept = "".join(character for character in value if 33 <= ord(character) <= 126)[:limit]
    return kept or NILVALUE


def _sd_name(value: str) -> str:
    return "".join(character for character in _printable(value, 32) if character not in '= ]"')


def _sd_value(value: str) -> str:
    """RFC 5424 section 6.3.3: a backslash, a double quote and a closing bracket are escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_message(message: SyslogMessage, *, hostname: str, app_name: str, procid: str) -> bytes:
    """`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG` as bytes (RFC 5424 section 6).

    A message of printable ASCII is sent as is (MSG-ANY); anything else as UTF-8 behind a byte order
    mark, as section 6.4 asks.
    """
    header = " ".join(
        (
            f"<{message.facility * 8 + message.severity}>1",
            format_timestamp(message.timestamp),
            _printable(hostname, 255),
            _printable(app_name, 48),
            _printable(procid, 128),
            _printable(message.msgid, 32),
        )
    )
    elements = "".join(
        "[" + " ".join([_sd_name(sd_id)] + [f'{_sd_name(name)}="{_sd_value(value)}"' for name, value in params]) + "]"
        for sd_id, params in message.structured_data
    )
    body = message.msg.encode() if message.msg.isascii() else BOM + message.msg.encode()
    return f"{header} {elements or NILVALUE} ".encode() + body


def octet_counted(payload: bytes) -> bytes:
    """RFC 6587 section 3.4.1 and RFC 5425 section 4.3: the length in bytes, a space, the message."""
    return b"%d " % len(payload) + payload


def encode(message: SyslogMessage, app_name: str = APP_NAME) -> bytes:
    """The message as sent from this host and process: formatted, then framed."""
    payload = format_message(message, hostname=socket.gethostname(), app_name=app_name, procid=str(os.getpid()))
    return octet_counted(payload)


class SyslogConnection:
    """One TCP or TLS connection to the receiver, opened when needed and opened again after it broke."""

    def __init__(self, destination: SyslogDestination):
        self.destination = destination
        self._context = tls_context(destination) if destination.scheme == "tls" else None
        self._socket: socket.socket | None = None

    def send(self, frame: bytes) -> None:
        """Send one framed message; raises OSError (ssl.SSLError included) when it cannot."""
        if self._socket is not None and _closed_by_peer(self._socket):
            self.close()
        if self._socket is None:
            self._socket = self._connect()
        try:
            self._socket.sendall(frame)
        except OSError:
            self.close()
            raise

    def _connect(self) -> socket.socket:
        destination = self.destination
        raw = socket.create_connection((destination.host, destination.port), timeout=destination.timeout)
        if self._context is None:
            return raw
        try:
            return self._context.wrap_socket(raw, server_hostname=destination.host)
        except OSError:
            raw.close()
            raise

    def close(self, notify: bool = True) -> None:
        """Close the connection; over TLS say so first (close_notify), or the receiver logs a broken session.

        A forked process closes its copy of the parent's connection with `notify=False`: the parent still uses it.
        """
        if self._socket is None:
            return
        if notify and isinstance(self._socket, ssl.SSLSocket):
            with suppress(OSError):
                self._socket.settimeout(min(self.destination.timeout, 1.0))
                self._socket.unwrap()
        self._socket.close()
        self._socket = None


def _closed_by_peer(connection: socket.socket) -> bool:
    """A syslog receiver never writes to us: a readable socket means it closed (or reset) the connection.

    A TLS 1.3 server may send session tickets after the handshake; reading them raises SSLWantReadError
    and the connection is fine.
    """
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    timeout = connection.gettimeout()
    connection.settimeout(0)
    try:
        connection.recv(1)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True
    finally:
        connection.settimeout(timeout)
    return True


@dataclass
class _Outage:
    """What went wrong since the last message that was sent, so that it is logged once, not per message."""

    dropped_from: str = ""
    warned: bool = False


@dataclass
class SyslogForwarder:
    """A bounded buffer of messages and a thread that sends them, in order, to one destination.

    `submit` never blocks and never raises: the caller's work (a request, its database transaction)
    never waits for the receiver. While the receiver cannot be reached, messages wait in memory (up to
    `capacity`) and the thread tries again after 0.5 s, doubling up to 30 s; one warning says so, and
    one info line says when sending resumed. Past `capacity`, new messages are dropped, with a warning
    naming the first (its label). At exit the thread has `destination.timeout` seconds to empty the buffer.
    """

    destination: SyslogDestination
    app_name: str = APP_NAME
    capacity: int = BUFFER_SIZE

    def __post_init__(self):
        self._connection = SyslogConnection(self.destination)
        self._start_in_this_process()

    def _start_in_this_process(self) -> None:
        self._pid = os.getpid()
        self._pending: deque[SyslogMessage] = deque()
        self._condition = threading.Condition()
        self._stopping = False
        self._outage = _Outage()
        self._thread: threading.Thread | None = None

    def submit(self, message: SyslogMessage) -> bool:
        """Queue one message; False if the buffer was full (or the forwarder closed) and it was dropped."""
        if self._pid != os.getpid():  # a forked worker: the parent's thread and connection are not ours
            self._connection.close(notify=False)
            self._start_in_this_process()
        with self._condition:
            if self._stopping or len(self._pending) >= self.capacity:
                self._note_dropped(message)
                return False
            self._pending.append(message)
            self._condition.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"syslog {self.destination}", daemon=True)
                self._thread.start()
                atexit.register(self.close)
        return True

    def close(self) -> None:
        """Send what is waiting (for at most the destination's timeout), then stop the thread."""
        atexit.unregister(self.close)
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(self.destination.timeout)
        with self._condition:
            if self._pending:
                log.warning(
                    "syslog %s: %d message(s) were not sent, from %s on",
                    self.destination,
                    len(self._pending),
                    self._pending[0].label or "the first",
                )

    def _run(self) -> None:
        try:
            self._send_until_stopped()
        finally:
            self._connection.close()

    def _send_until_stopped(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return
                message = self._pending[0]
            if self._send(message):
                delay = FIRST_RETRY_SECONDS
                continue
            with self._condition:
                if self._stopping:
                    return
                self._condition.wait_for(lambda: self._stopping, timeout=delay)
            delay = min(delay * 2, LONGEST_RETRY_SECONDS)

    def _send(self, message: SyslogMessage) -> bool:
        try:
            frame = encode(message, self.app_name)
        except Exception:
            log.exception("syslog %s: could not format %s; it was dropped", self.destination, message.label)
            self._remove_sent()
            return True
        try:
            self._connection.send(frame)
        except OSError as exc:
            self._note_failure(exc)
            return False
        self._remove_sent()
        return True

    def _remove_sent(self) -> None:
        with self._condition:
            self._pending.popleft()
            outage, self._outage = self._outage, _Outage()
            waiting = len(self._pending)
        if outage.warned:
            log.info("syslog %s: sending again (%d more message(s) waiting)", self.destination, waiting)

    def _note_failure(self, exc: OSError) -> None:
        with self._condition:
            first = not self._outage.warned
            self._outage.warned = True
            waiting = len(self._pending)
        if first:
            log.warning(
                "syslog %s: cannot send (%s); %d message(s) kept in memory, trying again until it answers",
                self.destination,
                str(exc) or type(exc).__name__,
                waiting,
            )

    def _note_dropped(self, message: SyslogMessage) -> None:
        """Called with the condition held."""
        if self._outage.dropped_from:
            return
        self._outage.dropped_from = message.label or "a message"
        log.warning(
            "syslog %s: %s, so messages are dropped from %s on",
            self.destination,
            "stopped" if self._stopping else f"{self.capacity} messages are already waiting",
            self._outage.dropped_from,
        )
