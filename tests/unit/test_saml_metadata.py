"""Reading an IdP's SAML metadata: what makes it usable, and when it must be read again."""

from datetime import UTC, datetime, timedelta

import pytest

from training.sso.saml.metadata import MetadataError, MetadataSource, parse_idp_metadata

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SIGNING = (
    '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>MIIC'
    "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
)
SSO = (
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp/sso"/>'
)


def metadata(attributes: str = "", key: str = SIGNING, sso: str = SSO) -> bytes:
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/" {attributes}>'
        f'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}{sso}'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    ).encode()


def test_usable_metadata_is_read_again_after_the_refresh_setting():
    parsed = parse_idp_metadata(metadata(), now=NOW, refresh=HOUR)
    assert parsed.entity_id == "https://idp.example/"
    assert parsed.expires_at == NOW + HOUR


def test_a_shorter_cache_duration_or_valid_until_wins():
    assert parse_idp_metadata(metadata('cacheDuration="PT10M"'), now=NOW, refresh=HOUR).expires_at == NOW + timedelta(
        minutes=10
    )
    soon = parse_idp_metadata(metadata('validUntil="2026-12-01T12:05:00Z"'), now=NOW, refresh=HOUR)
    assert soon.expires_at == NOW + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (metadata('validUntil="2026-11-30T00:00:00Z"'), "expired"),
        (metadata(key=""), "no signing certificate"),
        (metadata(key=SIGNING.replace('use="signing"', 'use="encryption"')), "no signing certificate"),
        (metadata(sso=""), "no IDPSSODescriptor with a SingleSignOnService"),
        (b"<html>Sign in</html>", "one md:EntityDescriptor"),
        (b"<md:EntityDescriptor", "not well-formed"),
        (metadata('cacheDuration="soon"'), "not a duration"),
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
            b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>',
            "not well-formed",
        ),
    ],
    ids=["expired", "no-key", "encryption-key-only", "no-sso", "html", "truncated", "bad-duration", "entities"],
)
def test_unusable_metadata_is_refused_saying_why(document, message):
    with pytest.raises(MetadataError, match=message):
        parse_idp_metadata(document, now=NOW, refresh=HOUR)


def test_metadata_over_plain_http_is_refused_at_start():
    with pytest.raises(ValueError, match="https"):
        MetadataSource("http://idp.example/metadata", refresh=HOUR)
