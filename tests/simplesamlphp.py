"""A real SAML 2.0 identity provider for the tests: Debian's SimpleSAMLphp, served by `php -S` on loopback.

The IdP gets a configuration folder of its own (SIMPLESAMLPHP_CONFIG_DIR), a throwaway signing key
and certificate made here, and exampleauth:UserPass accounts (`IDP_USERS`) with the attributes an
enterprise directory sends: uid, mail, employeeNumber, displayName, department, title and groups.
Its NameID is persistent (saml:PersistentNameID, derived from uid). An SP is registered by writing
its metadata, read from our own /sso/saml/metadata, into saml20-sp-remote.php, which SimpleSAMLphp
reads again at every request.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from tests.helpers import stop_process

SIMPLESAMLPHP_WWW = Path("/usr/share/simplesamlphp/www")
IDP_PASSWORD = "idp-test-password"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"

# The IdP's accounts: uid -> attributes (each a list, as a directory sends them).
IDP_USERS = {
    "nurse": {
        "mail": ["nurse.linked@hospital.example"],
        "employeeNumber": ["E1001"],
        "displayName": ["Nora Nurse"],
        "department": ["Cardiology"],
        "title": ["Registered Nurse"],
        "groups": ["Ward-Staff"],
    },
    "newhire": {
        "mail": ["new.hire@hospital.example"],
        "employeeNumber": ["E1002"],
        "displayName": ["Nigel Newhire"],
        "department": ["Oncology"],
        "title": ["Porter"],
        "groups": ["Ward-Staff", "Training-Authors"],
    },
    "stranger": {
        "mail": ["stranger@elsewhere.example"],
        "employeeNumber": ["E9999"],
        "displayName": ["Sam Stranger"],
        "department": ["Nowhere"],
        "title": ["Visitor"],
        "groups": [],
    },
    "leaver": {
        "mail": ["leaver@hospital.example"],
        "employeeNumber": ["E1003"],
        "displayName": ["Lee Leaver"],
        "department": ["Cardiology"],
        "title": ["Registered Nurse"],
        "groups": ["Ward-Staff"],
    },
    "browser": {
        "mail": ["browser.user@hospital.example"],
        "employeeNumber": ["E1004"],
        "displayName": ["Bea Browser"],
        "department": ["Cardiology"],
        "title": ["Registered Nurse"],
        "groups": ["Ward-Staff"],
    },
}

CONFIG_PHP = """<?php
$config = [
    'baseurlpath' => {base_url},
    'certdir' => {config_dir},
    'loggingdir' => {log_dir},
    'datadir' => {data_dir},
    'tempdir' => {temp_dir},
    'metadatadir' => {metadata_dir},
    'secretsalt' => 'throwaway-test-salt-for-the-persistent-nameid',
    'auth.adminpassword' => 'throwaway-admin-password',
    'admin.protectindexpage' => true,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'timezone' => 'UTC',
    'enable.saml20-idp' => true,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
    'logging.level' => SimpleSAML\\Logger::INFO,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',
    'statistics.out' => [],
    'store.type' => 'phpsession',
    'session.phpsession.savepath' => {session_dir},
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'language.cookie.secure' => false,
    'showerrors' => true,
    'errorreporting' => false,
    'assertion.allowed_clock_skew' => 180,
    'trusted.url.domains' => [],
];
"""

AUTHSOURCES_PHP = """<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => array_merge(['exampleauth:UserPass'], json_decode({users_json}, true)),
];
"""

IDP_HOSTED_PHP = """<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'sign.logout' => true,
    'validate.authnrequest' => true,
    'validate.logout' => true,
    'authproc' => [
        10 => ['class' => 'saml:PersistentNameID', 'attribute' => 'uid',
               'NameQualifier' => false, 'SPNameQualifier' => false],
    ],
];
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def php_literal(value: str) -> str:
    """A PHP single-quoted string literal of `value`."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class KeyPair:
    key: Path
    cert: Path

    def cert_base64(self) -> str:
        """The certificate's DER as base64 on one line, as SAML metadata carries it."""
        pem = self.cert.read_text()
        return "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)


def make_key_pair(folder: Path, name: str, common_name: str) -> KeyPair:
    """A throwaway RSA key and a self-signed certificate for signing SAML messages."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return KeyPair(key_path, cert_path)


def sp_remote_php(sp_metadata_xml: bytes) -> str:
    """SimpleSAMLphp's saml20-sp-remote.php entry for an SP, read from the SP's metadata document."""
    root = etree.fromstring(sp_metadata_xml)
    sp = root.find(f"{{{MD}}}SPSSODescriptor")
    entity_id = root.get("entityID")

    def endpoints(tag: str) -> str:
        items = [
            f"['Binding' => {php_literal(e.get('Binding'))}, 'Location' => {php_literal(e.get('Location'))}]"
            for e in sp.findall(f"{{{MD}}}{tag}")
        ]
        return "[" + ", ".join(items) + "]"

    cert = sp.find(f"{{{MD}}}KeyDescriptor//{{{DS}}}X509Certificate")
    cert_data = "".join(cert.text.split()) if cert is not None else ""
    return (
        "<?php\n"
        f"$metadata[{php_literal(entity_id)}] = [\n"
        f"    'AssertionConsumerService' => {endpoints('AssertionConsumerService')},\n"
        f"    'SingleLogoutService' => {endpoints('SingleLogoutService')},\n"
        f"    'certData' => {php_literal(cert_data)},\n"
        "    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',\n"
        f"    'validate.authnrequest' => {'true' if sp.get('AuthnRequestsSigned') == 'true' else 'false'},\n"
        "];\n"
    )


class SimpleSamlPhp:
    """One SimpleSAMLphp IdP process on 127.0.0.1 with its own configuration folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.config_dir = folder / "config"
        self.metadata_dir = self.config_dir / "metadata"
        self.log_dir = folder / "log"
        self.process: subprocess.Popen | None = None
        self.keys: KeyPair | None = None

    @property
    def entity_id(self) -> str:
        return self.base_url + "saml2/idp/metadata.php"

    @property
    def metadata_url(self) -> str:
        return self.entity_id

    def configure(self) -> None:
        for path in (self.metadata_dir, self.log_dir, self.folder / "data", self.folder / "tmp", self.folder / "sess"):
            path.mkdir(parents=True, exist_ok=True)
        self.keys = make_key_pair(self.config_dir, "idp", "Test IdP signing")
        users = {f"{uid}:{IDP_PASSWORD}": {"uid": [uid], **attributes} for uid, attributes in IDP_USERS.items()}
        literals = {
            "base_url": self.base_url,
            "config_dir": f"{self.config_dir}/",
            "log_dir": f"{self.log_dir}/",
            "data_dir": f"{self.folder / 'data'}/",
            "temp_dir": str(self.folder / "tmp"),
            "metadata_dir": f"{self.metadata_dir}/",
            "session_dir": str(self.folder / "sess"),
        }
        config = CONFIG_PHP
        for name, value in literals.items():
            config = config.replace("{" + name + "}", php_literal(value))
        (self.config_dir / "config.php").write_text(config)
        (self.config_dir / "authsources.php").write_text(
            AUTHSOURCES_PHP.replace("{users_json}", php_literal(json.dumps(users)))
        )
        (self.metadata_dir / "saml20-idp-hosted.php").write_text(IDP_HOSTED_PHP)
        self.register_sp(None)

    def register_sp(self, sp_metadata_xml: bytes | None) -> None:
        """Trust one SP (its metadata document), or none."""
        text = sp_remote_php(sp_metadata_xml) if sp_metadata_xml else "<?php\n"
        (self.metadata_dir / "saml20-sp-remote.php").write_text(text)

    def start(self) -> None:
        php = shutil.which("php")
        if not php or not SIMPLESAMLPHP_WWW.is_dir() or not shutil.which("xmlsec1"):
            pytest.fail(
                "SimpleSAMLphp is not installed: the SAML tests need a real identity provider. Install Debian's "
                "packages with `apt-get install --no-install-recommends simplesamlphp php-cli php-xml php-mbstring "
                "xmlsec1` (README, System packages; .ci/run installs them)."
            )
        self.configure()
        env = os.environ | {"SIMPLESAMLPHP_CONFIG_DIR": str(self.config_dir)}
        with (self.log_dir / "php-server.log").open("wb") as output:
            self.process = subprocess.Popen(
                [php, "-S", f"127.0.0.1:{self.port}", "-t", str(SIMPLESAMLPHP_WWW)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                answer = requests.get(self.metadata_url, timeout=5)
            except requests.ConnectionError:
                time.sleep(0.05)
                continue
            if answer.status_code == 200 and b"EntityDescriptor" in answer.content:
                return
            break
        self.stop()
        pytest.fail(
            f"SimpleSAMLphp did not serve its metadata on {self.base_url} (are php-xml and php-mbstring installed?):\n"
            + self.log_text()[-3000:]
        )

    def metadata(self) -> bytes:
        return requests.get(self.metadata_url, timeout=10).content

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.log_dir.glob("*.log"))


@dataclass(frozen=True)
class PostedForm:
    """An HTML form that auto-posts (the HTTP-POST binding): where it goes and its fields."""

    action: str
    fields: dict[str, str]


def read_form(html: str, base_url: str) -> PostedForm:
    """The first form of a page with its hidden and text fields, as a browser would submit it."""
    form = re.search(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", html, re.S | re.I)
    assert form, f"no form on the page: {html[:500]}"
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form.group(2), re.I):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return PostedForm(urljoin(base_url, unescape(form.group(1))), fields)


def sign_in_at_idp(redirect_url: str, username: str, password: str = IDP_PASSWORD) -> PostedForm:
    """Be the browser at the IdP: follow our redirect, post its login form, and return the
    auto-posting form that carries the SAMLResponse back to our ACS."""
    browser = requests.Session()
    page = browser.get(redirect_url, timeout=20)
    page.raise_for_status()
    login = read_form(page.text, page.url)
    login.fields.update({"username": username, "password": password})
    answer = browser.post(login.action, data=login.fields, timeout=20)
    answer.raise_for_status()
    return read_form(answer.text, answer.url)
