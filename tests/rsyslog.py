"""A real rsyslogd (Debian's `rsyslog` and `rsyslog-gnutls`) on loopback, for the audit forwarding tests.

It listens on three ports: plain TCP, TLS, and TLS that requires a client certificate, with a
throwaway CA and certificates made here with `cryptography`. Every message it receives is written
to a file as one JSON object per line with the RFC 5424 fields as rsyslog parsed them.
"""

import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.helpers import stop_process

CONFIG = """\
global(workDirectory="{work}"
  defaultNetstreamDriverCAFile="{ca}"
  defaultNetstreamDriverCertFile="{server_cert}"
  defaultNetstreamDriverKeyFile="{server_key}")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="fields" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
ruleset(name="received") {{
  action(type="omfile" file="{received}" template="fields")
}}
input(type="imtcp" address="127.0.0.1" port="{tcp}" streamDriver.mode="0" ruleset="received")
input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="received")
input(type="imtcp" address="127.0.0.1" port="{mtls}" streamDriver.authMode="x509/certvalid" ruleset="received")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rsyslogd_path() -> str:
    found = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")
    if not found:
        pytest.fail(
            "rsyslogd is not installed: the audit forwarding tests need a real syslog receiver. "
            "Install Debian's packages with `apt-get install rsyslog rsyslog-gnutls` (README, System packages; "
            ".ci/run installs them)."
        )
    return found


@dataclass(frozen=True)
class Certificates:
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key, path: Path) -> Path:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    return path


def _write_cert(certificate: x509.Certificate, path: Path) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _certificate(subject, key, issuer, issuer_key, *, ca=False, usage=None, names=()):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_certificates(folder: Path) -> Certificates:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and an unrelated CA."""
    import ipaddress

    ca_key, other_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(_name("Test syslog CA"), ca_key, _name("Test syslog CA"), ca_key, ca=True)
    other = _certificate(_name("Another CA"), other_key, _name("Another CA"), other_key, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    names = (x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"))
    server = _certificate(
        _name("localhost"), server_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH, names=names
    )
    client = _certificate(_name("training app"), client_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return Certificates(
        ca=_write_cert(ca, folder / "ca.pem"),
        other_ca=_write_cert(other, folder / "other-ca.pem"),
        server_cert=_write_cert(server, folder / "server.pem"),
        server_key=_write_key(server_key, folder / "server-key.pem"),
        client_cert=_write_cert(client, folder / "client.pem"),
        client_key=_write_key(client_key, folder / "client-key.pem"),
    )


class Rsyslog:
    """One rsyslogd of our own (`rsyslogd -n -f CONF -i PIDFILE`), never the system's service."""

    def __init__(self, folder: Path, certificates: Certificates):
        self.folder, self.certificates = folder, certificates
        self.tcp_port, self.tls_port, self.mtls_port = free_port(), free_port(), free_port()
        self.received = folder / "received.jsonl"
        self.config = folder / "rsyslog.conf"
        self.config.write_text(
            CONFIG.format(
                work=folder,
                ca=certificates.ca,
                server_cert=certificates.server_cert,
                server_key=certificates.server_key,
                received=self.received,
                tcp=self.tcp_port,
                tls=self.tls_port,
                mtls=self.mtls_port,
            )
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [rsyslogd_path(), "-n", "-f", str(self.config), "-i", str(self.folder / "rsyslogd.pid")]
        with open(self.folder / "rsyslogd.log", "ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "rsyslogd.log").read_text()
                self.stop()
                pytest.fail(f"rsyslogd did not start listening; its output:\n{log}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=15)
            self.process = None

    def url(self, scheme: str = "tcp") -> str:
        port = {"tcp": self.tcp_port, "tls": self.tls_port, "mtls": self.mtls_port}[scheme]
        return f"{'tcp' if scheme == 'tcp' else 'tls'}://127.0.0.1:{port}"

    def mark(self) -> int:
        """Where the file ends now: `messages(since=mark)` reads only what arrives after."""
        return self.received.stat().st_size if self.received.exists() else 0

    def messages(self, since: int = 0) -> list[dict]:
        if not self.received.exists():
            return []
        with self.received.open("rb") as file:
            file.seek(since)
            lines = file.read().decode().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for(self, predicate, since: int = 0, timeout: float = 15) -> list[dict]:
        """The received messages once `predicate(messages)` holds; fails with what arrived after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.messages(since)
            if predicate(received):
                return received
            if time.monotonic() > deadline:
                pytest.fail(f"rsyslogd did not receive the expected messages in {timeout} s; it received {received}")
            time.sleep(0.05)


_SD_ELEMENT = re.compile(r'\[([^ \]]+)((?: [^= \]"]+="(?:[^"\\]|\\.)*")*)\]')
_SD_PARAM = re.compile(r' ([^= \]"]+)="((?:[^"\\]|\\.)*)"')


def structured_data(text: str) -> dict[str, dict[str, str]]:
    """RFC 5424 STRUCTURED-DATA as rsyslog passed it on: {SD-ID: {name: value}}, escapes undone."""
    return {
        sd_id: {name: re.sub(r"\\(.)", r"\1", value) for name, value in _SD_PARAM.findall(params)}
        for sd_id, params in _SD_ELEMENT.findall(text)
    }
