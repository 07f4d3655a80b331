"""SAML 2.0 Web Browser SSO: the AuthnRequest we send, and the response we accept once.

`start_sign_in` makes a signed AuthnRequest for the HTTP-Redirect binding and the state this
browser must bring back (the request's ID and where to go after). `read_response` checks a
SAMLResponse posted to our ACS against that state and returns the person's `IdpIdentity`; every
refusal is a `SamlRejected` with a reason for the security log and a message for the person.
"""

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from defusedxml.ElementTree import fromstring
from flask import current_app
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.response import (
    IncorrectlySigned,
    InvalidAssertion,
    StatusError,
    UnsolicitedResponse,
    VerificationError,
)
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.sigver import SignatureError
from saml2.validate import ResponseLifetimeExceed, ToEarly
from saml2.xmldsig import SIG_RSA_SHA256
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from training.db import utcnow
from training.extensions import db
from training.sso.identity import IdpIdentity
from training.sso.saml import sp
from training.sso.saml.metadata import MetadataError
from training.sso.saml.models import SamlAssertionUsed

EMAIL_ATTRIBUTES = (
    "mail",
    "email",
    "emailAddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
)
NAME_ATTRIBUTES = (
    "displayName",
    "urn:oid:2.16.840.1.113730.3.1.241",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "name",
)
# A used assertion ID is kept this long after its NotOnOrAfter (the clock skew we allow), then purged.
PURGE_AFTER = timedelta(seconds=sp.CLOCK_SKEW_SECONDS)
MAX_RESPONSE_CHARS = 1_000_000

log = logging.getLogger(__name__)


class SamlRejected(Exception):
    """A SAML response we refuse: `reason` for the security log, the message for the person."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SamlSignIn:
    identity: IdpIdentity
    logout: dict  # what a LogoutRequest to the IdP needs later


@dataclass(frozen=True)
class SamlRequest:
    redirect_url: str
    request_id: str


def start_sign_in() -> SamlRequest:
    """A signed AuthnRequest to the IdP (HTTP-Redirect), asking for a persistent NameID."""
    client = _client()
    idp = sp.metadata_source().current()
    signs = client.authn_requests_signed
    request_id, info = client.prepare_for_authenticate(
        entityid=idp.entity_id,
        binding=BINDING_HTTP_REDIRECT,
        response_binding=BINDING_HTTP_POST,
        nameid_format=NAMEID_FORMAT_PERSISTENT,
        sign=signs,
        sigalg=SIG_RSA_SHA256 if signs else None,
    )
    return SamlRequest(dict(info["headers"])["Location"], request_id)


def read_response(saml_response: str, request_id: str | None) -> SamlSignIn:
    """Check a posted SAMLResponse, answering the request `request_id` this browser started, and
    record its assertion as used. Raises SamlRejected for anything not right."""
    if not saml_response or len(saml_response) > MAX_RESPONSE_CHARS:
        raise SamlRejected("malformed", "The sign-in response from your organisation's sign-in service was missing.")
    _check_destination(saml_response)
    client = _client()
    outstanding = {request_id: "/"} if request_id else {}
    response = _parse(client, saml_response, outstanding)
    assertion = response.assertion
    issuer = response.issuer()
    name_id = response.name_id
    if name_id is None or not (name_id.text or "").strip():
        raise SamlRejected("claims", "The sign-in response did not say who you are (no NameID).")
    if name_id.format != NAMEID_FORMAT_PERSISTENT:
        raise SamlRejected(
            "claims",
            "Your organisation's sign-in service sent a NameID that is not persistent; "
            "its administrator must send a persistent NameID (docs/sso.md).",
        )
    _use_once(issuer, assertion.id, _expiry(assertion))
    attributes = _attributes(assertion)
    identity = IdpIdentity(
        protocol="saml",
        issuer=issuer,
        subject=name_id.text.strip(),
        email=_first(attributes, EMAIL_ATTRIBUTES),
        email_verified=bool(current_app.config["SSO_SAML_EMAIL_VERIFIED"]),
        name=_first(attributes, NAME_ATTRIBUTES),
        attributes=attributes,
        authn_context=_authn_context(assertion),
    )
    return SamlSignIn(identity, _logout_info(issuer, name_id, assertion))


def _client():
    try:
        return sp.client()
    except MetadataError as error:
        log.error("SAML sign-in is unavailable: %s", error)
        raise SamlRejected("metadata", "Single sign-on is not available right now; please try again later.") from error


def _parse(client, saml_response: str, outstanding: dict):
    try:
        response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding)
    except UnsolicitedResponse:
        raise SamlRejected(
            "unsolicited", "This sign-in response does not answer a sign-in started in this browser."
        ) from None
    except (SignatureError, IncorrectlySigned):
        raise SamlRejected("signature", "The sign-in response is not signed by your organisation.") from None
    except (ResponseLifetimeExceed, ToEarly):
        raise SamlRejected("expired", "The sign-in response has expired or is not valid yet.") from None
    except InvalidAssertion:
        raise SamlRejected("wrapping", "The sign-in response must carry exactly one assertion.") from None
    except VerificationError as error:
        raise SamlRejected(_verification_reason(error), "The sign-in response could not be accepted.") from None
    except StatusError as error:
        raise SamlRejected("status", f"Your organisation's sign-in service did not sign you in ({error}).") from None
    except Exception as error:  # pysaml2 raises bare Exception and ValueError for many checks (audience, ...)
        raise SamlRejected(_reason_of(error), "The sign-in response could not be accepted.") from None
    if response is None or response.assertion is None:
        raise SamlRejected("malformed", "The sign-in response could not be read.")
    return response


def _reason_of(error: Exception) -> str:
    """pysaml2 says which check failed only in its messages; the reason names it for the security log."""
    text = str(error)
    if "AudienceRestrictions" in text:
        return "audience"
    if "signature" in text.lower() or "signed" in text.lower():
        return "signature"
    return "invalid"


def _verification_reason(error: VerificationError) -> str:
    text = str(error)
    if "Condition not OK" in text:  # the assertion's NotBefore / NotOnOrAfter
        return "expired"
    if "recipient" in text.lower():
        return "destination"
    return "invalid"


def _check_destination(saml_response: str) -> None:
    """The response must say it is for our ACS (pysaml2 checks too, but returns no reason)."""
    try:
        root = fromstring(base64.b64decode(saml_response, validate=True))
    except Exception:  # not base64, not XML, or hostile XML (defusedxml): pysaml2 is not even asked
        raise SamlRejected("malformed", "The sign-in response could not be read.") from None
    destination = root.get("Destination")
    if destination is not None and destination != sp.sp_settings(current_app.config).acs_url:
        raise SamlRejected("destination", "The sign-in response was meant for another service.")


def _expiry(assertion) -> datetime:
    """The latest NotOnOrAfter of the assertion (conditions and bearer confirmations); one is required."""
    times = []
    if assertion.conditions is not None and assertion.conditions.not_on_or_after:
        times.append(assertion.conditions.not_on_or_after)
    for confirmation in assertion.subject.subject_confirmation:
        data = confirmation.subject_confirmation_data
        if data is not None and data.not_on_or_after:
            times.append(data.not_on_or_after)
    if not times:
        raise SamlRejected("expired", "The sign-in response has no expiry (NotOnOrAfter).")
    return max(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC) for value in times)


def _use_once(issuer: str, assertion_id: str, not_on_or_after: datetime) -> None:
    """Record the assertion's ID (per IdP); a second use fails on the primary key, in any worker.
    Expired IDs are purged on the way: a replay of one fails its NotOnOrAfter check anyway."""
    if not assertion_id:
        raise SamlRejected("malformed", "The sign-in response's assertion has no ID.")
    db.session.execute(delete(SamlAssertionUsed).where(SamlAssertionUsed.not_on_or_after < utcnow() - PURGE_AFTER))
    db.session.add(SamlAssertionUsed(issuer=issuer, assertion_id=assertion_id, not_on_or_after=not_on_or_after))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SamlRejected("replay", "This sign-in response has already been used.") from None


def _attributes(assertion) -> dict[str, tuple[str, ...]]:
    """Every attribute of the assertion by its Name (and FriendlyName), values as strings."""
    found: dict[str, tuple[str, ...]] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            values = tuple((value.text or "").strip() for value in attribute.attribute_value)
            for key in (attribute.name, attribute.friendly_name):
                if key and key not in found:
                    found[key] = values
    return found


def _first(attributes: dict[str, tuple[str, ...]], names: tuple[str, ...]) -> str:
    for name in names:
        for value in attributes.get(name, ()):
            if value:
                return value
    return ""


def _authn_context(assertion) -> str:
    for statement in assertion.authn_statement:
        context = statement.authn_context
        if context is not None and context.authn_context_class_ref is not None:
            return (context.authn_context_class_ref.text or "").strip()
    return ""


def _logout_info(issuer: str, name_id, assertion) -> dict:
    session_index = next((s.session_index for s in assertion.authn_statement if s.session_index), "")
    return {
        "protocol": "saml",
        "issuer": issuer,
        "name_id": name_id.text.strip(),
        "name_id_format": name_id.format or "",
        "name_qualifier": name_id.name_qualifier or "",
        "sp_name_qualifier": name_id.sp_name_qualifier or "",
        "session_index": session_index or "",
    }


def idp_logout_url(logout: dict) -> str | None:
    """A signed LogoutRequest to the IdP's SingleLogoutService (HTTP-Redirect) for the person and
    session of `logout`, or None when the IdP has no such endpoint or cannot be reached."""
    try:
        client = sp.client()
    except MetadataError:
        return None
    services = client.metadata.single_logout_service(logout["issuer"], BINDING_HTTP_REDIRECT, "idpsso")
    if not services:
        return None
    destination = services[0]["location"]
    name_id = NameID(
        text=logout["name_id"],
        format=logout["name_id_format"] or None,
        name_qualifier=logout["name_qualifier"] or None,
        sp_name_qualifier=logout["sp_name_qualifier"] or None,
    )
    _request_id, request = client.create_logout_request(
        destination,
        logout["issuer"],
        name_id=name_id,
        reason="urn:oasis:names:tc:SAML:2.0:logout:user",
        session_indexes=[logout["session_index"]] if logout["session_index"] else None,
        sign=False,
    )
    signs = client.logout_requests_signed
    info = client.apply_binding(
        BINDING_HTTP_REDIRECT, str(request), destination, "", sign=signs, sigalg=SIG_RSA_SHA256 if signs else None
    )
    return dict(info["headers"])["Location"]
