"""Our service provider (SP) as pysaml2 sees it: its configuration, a client, and its metadata document.

pysaml2 does the protocol work: it builds AuthnRequests and LogoutRequests, signs them with
SAML_SP_KEY (SHA-256), and checks responses with xmlsec1: the signature on the response or on
each assertion (by the IdP's certificate from its metadata, never from the message), the audience,
the Destination and Recipient (our ACS URL), the validity window (NotBefore, NotOnOrAfter) and
InResponseTo against the request this browser started. Unsolicited responses are refused.
"""

import os
import shutil
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from training.sso.saml.metadata import IdpMetadata, MetadataSource

ACS_PATH = "/sso/saml/acs"
SLS_PATH = "/sso/saml/sls"
METADATA_PATH = "/sso/saml/metadata"
# Clock difference allowed between the IdP and us when checking NotBefore and NotOnOrAfter.
CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class SpSettings:
    entity_id: str
    base_url: str
    key_file: str
    cert_file: str

    @property
    def acs_url(self) -> str:
        return self.base_url + ACS_PATH

    @property
    def sls_url(self) -> str:
        return self.base_url + SLS_PATH


def sp_settings(config) -> SpSettings:
    """Our SP's names and keys from the app's settings; the entity id defaults to the metadata URL."""
    base_url = config["PUBLIC_BASE_URL"].rstrip("/")
    entity_id = config["SAML_SP_ENTITY_ID"] or base_url + METADATA_PATH
    return SpSettings(entity_id, base_url, config["SAML_SP_KEY"], config["SAML_SP_CERT"])


def check_settings(config) -> None:
    """Refuse to start with SAML half configured: the message names the setting."""
    if not config["SAML_IDP_METADATA"]:
        return
    if bool(config["SAML_SP_KEY"]) != bool(config["SAML_SP_CERT"]):
        raise ValueError("SAML_SP_KEY and SAML_SP_CERT must be set together (the SP's signing key and certificate)")
    for name in ("SAML_SP_KEY", "SAML_SP_CERT"):
        if config[name] and not os.path.isfile(config[name]):
            raise ValueError(f"{name} must name a readable PEM file, not {config[name]!r}")
    if urlsplit(config["PUBLIC_BASE_URL"]).scheme not in ("http", "https"):
        raise ValueError("SAML sign-in needs PUBLIC_BASE_URL, the address the IdP sends people back to")
    if not shutil.which("xmlsec1"):
        raise ValueError("SAML sign-in needs the xmlsec1 program (Debian package xmlsec1) to check signatures")


def sp_config(settings: SpSettings, idp: IdpMetadata | None) -> SPConfig:
    """pysaml2's configuration of our SP, trusting exactly the one IdP of `idp` (None: no IdP, for
    our own metadata, which an administrator needs before the IdP exists)."""
    signs = bool(settings.key_file)
    sp = {
        "endpoints": {
            "assertion_consumer_service": [(settings.acs_url, BINDING_HTTP_POST)],
            "single_logout_service": [(settings.sls_url, BINDING_HTTP_REDIRECT)],
        },
        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
        "allow_unsolicited": False,
        "authn_requests_signed": signs,
        "logout_requests_signed": signs,
        "logout_responses_signed": signs,
        "want_response_signed": False,
        "want_assertions_signed": False,
        "want_assertions_or_response_signed": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
    }
    raw = {
        "entityid": settings.entity_id,
        "service": {"sp": sp},
        "xmlsec_binary": shutil.which("xmlsec1"),
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        "allow_unknown_attributes": True,
        "delete_tmpfiles": True,
    }
    if idp is not None:
        raw["metadata"] = {"inline": [idp.xml]}
    if signs:
        raw |= {"key_file": settings.key_file, "cert_file": settings.cert_file}
    config = SPConfig()
    config.load(raw)
    return config


def metadata_source() -> MetadataSource:
    return current_app.extensions["saml_metadata"]


def client() -> Saml2Client:
    """A client for this request (pysaml2's client keeps an in-memory cache of people; a fresh one
    per request keeps workers from growing), built on the configuration cached per metadata copy."""
    idp = metadata_source().current()
    cache = current_app.extensions.setdefault("saml_sp_config", {})
    config = cache.get(idp.xml)
    if config is None:
        cache.clear()
        config = cache[idp.xml] = sp_config(sp_settings(current_app.config), idp)
    return Saml2Client(config=config)


def sp_metadata_xml() -> str:
    """Our SP's metadata document, for the IdP's administrator (entity id, ACS, SLO, certificate)."""
    return str(entity_descriptor(sp_config(sp_settings(current_app.config), None)))
