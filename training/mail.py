"""Sending email: over SMTP when MAIL_SERVER is set, printed to the console when it is not.

Only the standard library (`smtplib`, `email.message.EmailMessage`, `email.header.Header`). A
transport keeps one SMTP connection for a whole run and reconnects once if the server drops it.
Errors come in two kinds:
`MailRefused` (the server would not take this one message: other recipients may still work) and
`MailUnavailable` (the server cannot be reached, refuses the login or the sender: nothing will work).
"""

import hashlib
import hmac
import smtplib
import ssl
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from training.errors import DomainError

CONSOLE_RULE = "-" * 72
HEADER_LINE_LENGTH = 78  # RFC 5322 2.1.1: header lines should not be longer
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


class MailConfigError(DomainError):
    """A mail setting that cannot work (a port that is not a number, no sender address)."""

    code = "mail_config"


class MailError(Exception):
    """A message that was not sent; `message` says why in words an operator can act on."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class MailRefused(MailError):
    """The server refused this message (its recipient or content); the next one may go through."""


class MailUnavailable(MailError):
    """The server cannot be reached, or refuses the login or the sender: no message will go through."""


@dataclass(frozen=True)
class MailSettings:
    server: str = ""
    port: int = 587
    use_tls: bool = True
    use_ssl: bool = False
    username: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = 10.0

    @property
    def console(self) -> bool:
        return not self.server

    @classmethod
    def from_config(cls, config: Mapping) -> "MailSettings":
        """Read the MAIL_* settings (strings from the environment, or typed values from tests)."""
        use_ssl = _flag(config, "MAIL_USE_SSL", False)
        settings = cls(
            server=str(config.get("MAIL_SERVER") or "").strip(),
            port=_number(config, "MAIL_PORT", 587, int, 1, 65535),
            use_tls=_flag(config, "MAIL_USE_TLS", True) and not use_ssl,
            use_ssl=use_ssl,
            username=str(config.get("MAIL_USERNAME") or ""),
            password=str(config.get("MAIL_PASSWORD") or ""),
            sender=str(config.get("MAIL_FROM") or "").strip(),
            timeout=_number(config, "MAIL_TIMEOUT", 10.0, float, 1, 600),
        )
        if settings.server and "@" not in parseaddr(settings.sender)[1]:
            raise MailConfigError(
                "MAIL_FROM must be an email address (for example training@hospital.example) when MAIL_SERVER is set."
            )
        return settings


def _flag(config: Mapping, name: str, default: bool) -> bool:
    value = config.get(name, default)
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise MailConfigError(f"{name} must be 1 or 0, not {value!r}.")


def _number(config: Mapping, name: str, default, kind, low, high):
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise MailConfigError(f"{name} must be a number, not {value!r}.") from None
    if not low <= number <= high:
        raise MailConfigError(f"{name} must be between {low} and {high}, not {value!r}.")
    return number


def one_line(text: str) -> str:
    """Header values never carry a line break (a name or department with one cannot inject headers)."""
    return " ".join(text.split())


class Verbatim(str):
    """A header value already in its final form (RFC 2047 encoded words where needed), sent as it is."""


class VerbatimHeadersPolicy(EmailPolicy):
    """The default email policy, except that a `Verbatim` header value is stored and sent unchanged.

    The default policy parses every header value it is given and writes it out again. Parsing decodes
    encoded words even in a quoted display name or a subject, so plain text such as
    `=?utf-8?q?=0D=0ABcc:_x@y?=` became a real line break and a Bcc header (or a ValueError), and
    folding long quoted names split them into several addresses.
    """

    def header_store_parse(self, name, value):
        if isinstance(value, Verbatim):
            return name, str(value)
        return super().header_store_parse(name, value)


# refold_source="none": a Verbatim value is never parsed again to be folded on its way out.
MAIL_POLICY = VerbatimHeadersPolicy(refold_source="none")


def _plain(text: str) -> bool:
    """Text that every header parser reads back as itself: printable ASCII with no encoded word in it."""
    return text.isascii() and text.isprintable() and "=?" not in text


def _encoded_words(text: str, header: str) -> str:
    return Header(text, "utf-8", maxlinelen=HEADER_LINE_LENGTH, header_name=header).encode()


def subject_header(subject: str) -> Verbatim:
    """The Subject as sent: on one line, RFC 2047-encoded unless it is plain text."""
    text = one_line(subject)
    return Verbatim(text if _plain(text) else _encoded_words(text, "Subject"))


def recipient_header(name: str, email: str) -> Verbatim:
    """The To header as sent, with a display name that decodes to the person's name on one line.

    A plain name is quoted as RFC 5322 requires (`formataddr`) and kept on one line (folding a quoted
    name is what split it into several addresses); any other name is sent as RFC 2047 encoded words,
    which a decoder turns back into the literal name, never into a line break.
    """
    name = one_line(name)
    if _plain(name):
        return Verbatim(formataddr((name, email)))
    words = _encoded_words(name, "To")
    last_line = words.rpartition("\n")[2]
    gap = " " if len(last_line) + len(email) + 3 <= HEADER_LINE_LENGTH else "\n "
    return Verbatim(f"{words}{gap}<{email}>")


def stable_message_id(name: str, secret: str, domain: str) -> str:
    """A Message-ID that is the same each time the message called `name` is sent, so a mail server
    that took it once can drop a copy re-sent after a lost acknowledgement (RFC 5322 3.6.4).

    The HMAC under `secret` makes it unique to this installation and unguessable: nobody can send a
    message ahead under the Message-ID of a future reminder to have the real one dropped.
    """
    digest = hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()[:32]
    return f"<{name}.{digest}@{domain}>"


def build_message(
    sender: str,
    to_name: str,
    to_email: str,
    subject: str,
    text: str,
    html: str | None = None,
    *,
    message_id: str = "",
) -> EmailMessage:
    """A plain-text email with an optional HTML alternative, marked as automatic (RFC 3834).

    `message_id` (see `stable_message_id`) when the message may be sent again; a new one otherwise.
    """
    message = EmailMessage(policy=MAIL_POLICY)
    if sender:
        message["From"] = sender
    message["To"] = recipient_header(to_name, to_email)
    message["Subject"] = subject_header(subject)
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = message_id or make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class ConsoleTransport:
    """Prints each message (To, Subject and the text) instead of sending it: MAIL_SERVER is not set."""

    name = "console"

    def __init__(self, write: Callable[[str], None]):
        self._write = write

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",)).get_content().rstrip("\n")
        self._write(f"To: {message['To']}\nSubject: {message['Subject']}\n\n{body}\n{CONSOLE_RULE}")

    def close(self) -> None:
        """Nothing to close; here so that both transports are used the same way."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class SmtpTransport:
    """Sends over one SMTP connection (STARTTLS or implicit TLS, optional login), opened on first use."""

    name = "smtp"

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._connection: smtplib.SMTP | None = None

    @property
    def address(self) -> str:
        return f"{self.settings.server}:{self.settings.port}"

    def send(self, message: EmailMessage) -> None:
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.send_message(message)
                return
            except (smtplib.SMTPException, OSError) as exc:
                # A server may close the connection after some messages (or say 421): reconnect once.
                if isinstance(exc, smtplib.SMTPServerDisconnected) or getattr(exc, "smtp_code", None) == 421:
                    self._drop()
                    if attempt == 1:
                        continue
                    raise MailUnavailable(f"the mail server {self.address} closed the connection: {exc}") from exc
                error = self._send_error(exc)
                if isinstance(error, MailUnavailable):
                    self._drop()
                raise error from exc

    def _send_error(self, exc: Exception) -> MailError:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refusals = "; ".join(f"{who}: {_reply(code, text)}" for who, (code, text) in exc.recipients.items())
            return MailRefused(f"the mail server refused the recipient ({refusals})")
        if isinstance(exc, smtplib.SMTPSenderRefused):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            return MailUnavailable(f"the mail server refused the sender {exc.sender} (MAIL_FROM): {reply}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return MailRefused(f"the mail server refused the message: {_reply(exc.smtp_code, exc.smtp_error)}")
        return MailUnavailable(f"sending through {self.address} failed: {exc}")

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.settings
        connection = None
        try:
            if s.use_ssl:
                connection = smtplib.SMTP_SSL(s.server, s.port, timeout=s.timeout, context=ssl.create_default_context())
            else:
                connection = smtplib.SMTP(s.server, s.port, timeout=s.timeout)
            connection.ehlo()
            if s.use_tls:
                if not connection.has_extn("starttls"):
                    raise MailUnavailable(
                        f"the mail server {self.address} does not offer STARTTLS; use MAIL_USE_SSL=1 for a TLS port, "
                        "or MAIL_USE_TLS=0 only for a relay on a trusted network"
                    )
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if s.username:
                connection.login(s.username, s.password)
        except MailUnavailable:
            _close(connection)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(connection)
            raise MailUnavailable(
                f"the mail server {self.address} refused the login for {s.username} (MAIL_USERNAME, MAIL_PASSWORD): "
                f"{_reply(exc.smtp_code, exc.smtp_error)}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            _close(connection)
            raise MailUnavailable(f"cannot connect to the mail server {self.address}: {exc}") from exc
        self._connection = connection
        return connection

    def _drop(self) -> None:
        _close(self._connection, polite=False)
        self._connection = None

    def close(self) -> None:
        _close(self._connection)
        self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _close(connection: smtplib.SMTP | None, polite: bool = True) -> None:
    if connection is None:
        return
    with suppress(smtplib.SMTPException, OSError):
        if polite:
            connection.quit()
            return
    with suppress(OSError):
        connection.close()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def transport_for(settings: MailSettings, write: Callable[[str], None]) -> ConsoleTransport | SmtpTransport:
    return ConsoleTransport(write) if settings.console else SmtpTransport(settings)
