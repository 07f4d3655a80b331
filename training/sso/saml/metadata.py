"""The identity provider's metadata (SAML_IDP_METADATA): a file or an https URL, read again when due.

The metadata names the IdP (entity id), where to send people (its SingleSignOnService) and the
certificate its responses are signed with, so it is the trust anchor of SAML sign-in: only a file
on the server or an https URL (the server's certificate checked) is accepted. It is read again
when its `cacheDuration` or `validUntil` says, or after SAML_IDP_METADATA_REFRESH_MINUTES, whichever
comes first; a file also as soon as it changes. If a refresh fails, the last good copy is kept
(while its `validUntil` allows) and a warning is logged, so an IdP's outage does not stop sign-in.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from defusedxml.ElementTree import fromstring
from saml2.time_util import parse_duration

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
RETRY_AFTER_FAILURE = timedelta(minutes=1)
FETCH_TIMEOUT_SECONDS = 10
MAX_METADATA_BYTES = 2 * 1024 * 1024

log = logging.getLogger(__name__)


class MetadataError(Exception):
    """The IdP's metadata cannot be used; the message says why, for the operator."""


@dataclass(frozen=True)
class IdpMetadata:
    xml: str
    entity_id: str
    expires_at: datetime  # read it again after this
    valid_until: datetime | None


def parse_idp_metadata(xml: bytes, *, now: datetime, refresh: timedelta) -> IdpMetadata:
    """Check that `xml` is one IdP's usable metadata and work out when to read it again."""
    try:
        root = fromstring(xml)
    except Exception as error:  # defusedxml raises several types for malformed or hostile XML
        raise MetadataError(f"the IdP metadata is not well-formed XML ({error})") from None
    if root.tag != f"{MD}EntityDescriptor" or not root.get("entityID"):
        raise MetadataError("the IdP metadata must be one md:EntityDescriptor with an entityID")
    idp = root.find(f"{MD}IDPSSODescriptor")
    if idp is None or idp.find(f"{MD}SingleSignOnService") is None:
        raise MetadataError("the IdP metadata has no IDPSSODescriptor with a SingleSignOnService")
    if not _signing_certificates(idp):
        raise MetadataError("the IdP metadata has no signing certificate (KeyDescriptor with an X509Certificate)")
    valid_until = _instant(root.get("validUntil"))
    if valid_until is not None and valid_until <= now:
        raise MetadataError(f"the IdP metadata expired at {valid_until.isoformat()} (validUntil)")
    expiries = [now + refresh]
    if valid_until is not None:
        expiries.append(valid_until)
    if root.get("cacheDuration"):
        expiries.append(now + _duration(root.get("cacheDuration")))
    return IdpMetadata(xml.decode("utf-8"), root.get("entityID"), min(expiries), valid_until)


def _signing_certificates(idp) -> list[str]:
    return [
        cert.text
        for key in idp.findall(f"{MD}KeyDescriptor")
        if key.get("use") in (None, "signing")
        for cert in key.iter(f"{DS}X509Certificate")
        if cert.text and cert.text.strip()
    ]


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MetadataError(f"the IdP metadata's validUntil is not a date and time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _duration(value: str) -> timedelta:
    """An xs:duration (`PT6H`, `P1D`) as a timedelta; months count 30 days and years 365."""
    try:
        sign, parts = parse_duration(value)
    except Exception:  # pysaml2 raises a bare Exception for a malformed duration
        raise MetadataError(f"the IdP metadata's cacheDuration is not a duration: {value!r}") from None
    days = parts["tm_year"] * 365 + parts["tm_mon"] * 30 + parts["tm_mday"]
    delta = timedelta(days=days, hours=parts["tm_hour"], minutes=parts["tm_min"], seconds=parts["tm_sec"])
    return -delta if sign == "-" else delta


class MetadataSource:
    """The IdP metadata of one app, cached in the process and read again when due (thread-safe)."""

    def __init__(self, location: str, *, refresh: timedelta, ca_file: str = ""):
        if location.startswith("http://"):
            raise ValueError("SAML_IDP_METADATA must be a file path or an https:// URL")
        self.location = location
        self.refresh = refresh
        self.ca_file = ca_file
        self._lock = threading.Lock()
        self._current: IdpMetadata | None = None
        self._file_stamp: tuple[int, int] | None = None
        self._retry_at: datetime | None = None

    @property
    def is_url(self) -> bool:
        return self.location.startswith("https://")

    def current(self) -> IdpMetadata:
        """The metadata to use now: the cached copy, or a fresh one when it is due."""
        with self._lock:
            now = datetime.now(UTC)
            if self._current is None or self._is_due(now):
                self._reload(now)
            return self._current

    def _is_due(self, now: datetime) -> bool:
        if self._retry_at is not None:
            return now >= self._retry_at
        if not self.is_url and self._stamp() != self._file_stamp:
            return True
        return now >= self._current.expires_at

    def _reload(self, now: datetime) -> None:
        try:
            stamp = None if self.is_url else self._stamp()
            self._current = parse_idp_metadata(self._read(), now=now, refresh=self.refresh)
            self._file_stamp, self._retry_at = stamp, None
        except (MetadataError, OSError, requests.RequestException) as error:
            if self._current is None or (self._current.valid_until and self._current.valid_until <= now):
                raise MetadataError(f"cannot read the IdP metadata from {self.location}: {error}") from None
            log.warning(
                "SAML IdP metadata: refresh from %s failed, keeping the last good copy: %s", self.location, error
            )
            self._retry_at = now + RETRY_AFTER_FAILURE

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = Path(self.location).stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def _read(self) -> bytes:
        if not self.is_url:
            return Path(self.location).read_bytes()
        with requests.get(
            self.location, timeout=FETCH_TIMEOUT_SECONDS, verify=self.ca_file or True, stream=True
        ) as answer:
            answer.raise_for_status()
            if not answer.url.startswith("https://"):
                raise MetadataError("the IdP metadata URL redirected to plain HTTP")
            body = answer.raw.read(MAX_METADATA_BYTES + 1, decode_content=True)
        if len(body) > MAX_METADATA_BYTES:
            raise MetadataError(f"the IdP metadata is larger than {MAX_METADATA_BYTES} bytes")
        return body
