"""Crafting SAML responses for the refusal tests, from a real response of the IdP.

Each helper takes the response's XML (bytes) and returns changed XML. `resign` signs an assertion
again with a key of our choosing through xmlsec1 (the program pysaml2 verifies with), so a
crafted response can stay correctly signed by the IdP's own key, or be signed by another key.
"""

import base64
import copy
import subprocess
import tempfile
from pathlib import Path

from lxml import etree

from tests.simplesamlphp import KeyPair

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS}

SIGNATURE_TEMPLATE = f"""<ds:Signature xmlns:ds="{DS}">
  <ds:SignedInfo>
    <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
    <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
    <ds:Reference URI="#{{id}}">
      <ds:Transforms>
        <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
        <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      </ds:Transforms>
      <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
      <ds:DigestValue></ds:DigestValue>
    </ds:Reference>
  </ds:SignedInfo>
  <ds:SignatureValue></ds:SignatureValue>
  <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{{cert}}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
</ds:Signature>"""


def decode(saml_response: str) -> bytes:
    return base64.b64decode(saml_response)


def encode(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def assertion_of(root: etree._Element) -> etree._Element:
    return root.find("saml:Assertion", NS)


def without_signatures(xml: bytes) -> bytes:
    """Every ds:Signature removed: of the response and of its assertion."""
    root = parse(xml)
    for signature in root.iter(f"{{{DS}}}Signature"):
        signature.getparent().remove(signature)
    return serialise(root)


def set_attribute(xml: bytes, xpath: str, name: str, value: str) -> bytes:
    """Set attribute `name` on every element the XPath finds (which must find one at least)."""
    root = parse(xml)
    found = root.xpath(xpath, namespaces=NS)
    assert found, f"nothing at {xpath}"
    for element in found:
        element.set(name, value)
    return serialise(root)


def set_text(xml: bytes, xpath: str, value: str) -> bytes:
    root = parse(xml)
    found = root.xpath(xpath, namespaces=NS)
    assert found, f"nothing at {xpath}"
    for element in found:
        element.text = value
    return serialise(root)


def resign(xml: bytes, keys: KeyPair) -> bytes:
    """Remove every signature, then sign the assertion with `keys` (enveloped, RSA-SHA256)."""
    root = parse(without_signatures(xml))
    assertion = assertion_of(root)
    template = SIGNATURE_TEMPLATE.replace("{id}", assertion.get("ID")).replace("{cert}", keys.cert_base64())
    issuer = assertion.find("saml:Issuer", NS)
    issuer.addnext(etree.fromstring(template))
    with tempfile.TemporaryDirectory() as folder:
        unsigned = Path(folder) / "unsigned.xml"
        unsigned.write_bytes(serialise(root))
        signed = subprocess.run(
            [
                "xmlsec1",
                "--sign",
                "--privkey-pem",
                f"{keys.key},{keys.cert}",
                "--id-attr:ID",
                f"{SAML}:Assertion",
                str(unsigned),
            ],
            capture_output=True,
            check=True,
        )
    return signed.stdout


def with_unsigned_assertion_first(xml: bytes, subject: str, employee_number: str) -> bytes:
    """XML signature wrapping: an unsigned copy of the assertion, for someone else, inserted before
    the signed one (whose signature still verifies); the response's own signature removed."""
    root = _without_response_signature(parse(xml))
    signed = assertion_of(root)
    forged = _forged_copy(signed, subject, employee_number)
    forged.set("ID", signed.get("ID") + "-forged")
    signed.addprevious(forged)
    return serialise(root)


def with_signed_assertion_moved(xml: bytes, subject: str, employee_number: str) -> bytes:
    """XML signature wrapping: the signed assertion moved into the response's Extensions, and an
    unsigned assertion for someone else, with the same ID, in its place. The response's own
    signature is removed (it would no longer verify)."""
    root = _without_response_signature(parse(xml))
    signed = assertion_of(root)
    forged = _forged_copy(signed, subject, employee_number)
    signed.addprevious(forged)
    extensions = etree.Element(f"{{{SAMLP}}}Extensions")
    root.find("saml:Issuer", NS).addnext(extensions)
    extensions.append(signed)
    return serialise(root)


def _without_response_signature(root: etree._Element) -> etree._Element:
    """The response's own signature removed (any change breaks it), the assertion's kept."""
    for signature in root.findall("ds:Signature", NS):
        root.remove(signature)
    return root


def _forged_copy(signed: etree._Element, subject: str, employee_number: str) -> etree._Element:
    forged = copy.deepcopy(signed)
    for signature in forged.findall("ds:Signature", NS):
        forged.remove(signature)
    forged.find("saml:Subject/saml:NameID", NS).text = subject
    for value in forged.xpath(
        "saml:AttributeStatement/saml:Attribute[@Name='employeeNumber']/saml:AttributeValue", namespaces=NS
    ):
        value.text = employee_number
    return forged
