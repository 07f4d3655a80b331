"""SAML 2.0 sign-in against a real identity provider: SimpleSAMLphp on loopback (tests/simplesamlphp.py).

The test client is our browser on our side and `requests` is the browser at the IdP: follow our
redirect, post the IdP's login form, then post its SAMLResponse form back to our ACS. Refusals
are crafted from real responses (tests/saml_responses.py); those that must stay correctly signed
are signed again with the IdP's own key.
"""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from lxml import etree
from sqlalchemy import func, select

from tests import saml_responses as crafted
from tests.conftest import csrf_token
from tests.simplesamlphp import IDP_PASSWORD, SimpleSamlPhp, make_key_pair, read_form, sign_in_at_idp
from training.audit.models import AuditEvent
from training.auth.models import UserSession
from training.extensions import db
from training.sso.models import SsoIdentity
from training.sso.saml.metadata import MetadataSource
from training.sso.saml.models import SamlAssertionUsed

ACS_URL = "https://training.example.org/sso/saml/acs"
SP_ENTITY_ID = "https://training.example.org/sso/saml/metadata"


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SimpleSamlPhp(tmp_path_factory.mktemp("simplesamlphp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def saml_files(tmp_path_factory, idp):
    """Our SP's signing key and certificate, the IdP's metadata as a file, and a key the IdP never used."""
    folder = tmp_path_factory.mktemp("saml-files")
    sp_keys = make_key_pair(folder, "sp", "training.example.org SAML signing")
    other_keys = make_key_pair(folder, "other", "Not the IdP")
    metadata = folder / "idp-metadata.xml"
    metadata.write_bytes(idp.metadata())
    return {"sp": sp_keys, "other": other_keys, "metadata": metadata}


@pytest.fixture
def app_config(saml_files):
    return {
        "SAML_IDP_METADATA": str(saml_files["metadata"]),
        "SAML_SP_KEY": str(saml_files["sp"].key),
        "SAML_SP_CERT": str(saml_files["sp"].cert),
        "SSO_EMPLOYEE_ID_ATTRIBUTE": "employeeNumber",
        "SSO_CONTACT": "the IT service desk on extension 4444",
    }


@pytest.fixture
def registered(idp, client):
    """The IdP trusts our SP, from the metadata our app serves."""
    idp.register_sp(client.get("/sso/saml/metadata").data)
    return idp


def saml_response_form(client, username: str, next_path: str | None = None):
    """Start a sign-in with us, sign in at the IdP, and return the form it would post to our ACS."""
    start = client.get("/sso/saml/login" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.data
    form = sign_in_at_idp(start.headers["Location"], username)
    assert form.action == ACS_URL
    return form


def post_to_acs(client, saml_response: str):
    return client.post("/sso/saml/acs", data={"SAMLResponse": saml_response})


def sign_in(client, username: str, next_path: str | None = None):
    return post_to_acs(client, saml_response_form(client, username, next_path).fields["SAMLResponse"])


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            "sessions": db.session.scalar(select(func.count()).select_from(UserSession)),
            "links": db.session.scalar(select(func.count()).select_from(SsoIdentity)),
            "assertions": db.session.scalar(select(func.count()).select_from(SamlAssertionUsed)),
            "sign_ins": db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.signed_in")
            ),
        }


def rejections(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "training.security" and r.getMessage().startswith("sso_")
    ]


def assert_refused(app, client, answer, caplog, before: dict, reason: str) -> None:
    """A clear 4xx page, a security event `sso_rejected` with the reason, and nothing changed."""
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400, page
    assert "Sign-in did not complete" in page
    assert "Back to sign in" in page
    lines = rejections(caplog)
    assert any(f'reason="{reason}"' in line and line.startswith("sso_rejected ") for line in lines), lines
    assert counts(app) == before
    assert client.get("/").status_code == 302  # still signed out


@pytest.fixture
def course(write_course, sync, make_requirement):
    write_course(slug="hipaa-basics", title="HIPAA Basics")
    sync()
    make_requirement("hipaa-basics")
    return "HIPAA Basics"


# --- signing in -------------------------------------------------------------------------------------


def test_a_linked_person_signs_in_and_lands_on_my_training_with_their_obligations(
    app, client, make_user, registered, course
):
    person = make_user(employee_id="E1001", name="Nora Nurse")
    first = sign_in(client, "nurse")
    assert first.status_code == 302 and first.headers["Location"] == "/"
    second = sign_in(client, "nurse", next_path="/")  # linked now: found by the link, not the employee id
    assert second.status_code == 302
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "My training" in page and "Hello Nora" in page
    assert "HIPAA Basics" in page and "Required of you" in page
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.signed_in").order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor_id == person.id
        assert event.details["method"] == "saml"
        assert event.details["authn_context"] == "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"


def test_the_first_sign_in_links_the_person_by_employee_number(app, client, make_user, registered, idp):
    person = make_user(employee_id="E1002", email="n.newhire@example.org")
    answer = sign_in(client, "newhire", next_path="/account")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account"
    with app.app_context():
        link = db.session.scalars(select(SsoIdentity)).one()
        assert (link.user_id, link.protocol, link.issuer) == (person.id, "saml", idp.entity_id)
        assert link.subject and "@" not in link.subject  # the persistent NameID, not an email
        assert db.session.scalar(select(func.count()).select_from(SamlAssertionUsed)) == 1


def test_an_unknown_person_is_refused_with_whom_to_contact(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    answer = sign_in(client, "stranger")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 403
    assert "extension 4444" in page
    assert client.get("/").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SsoIdentity)) == 0
        refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sso_refused")).one()
        assert refused.details["reason"] == "unknown_person"


def test_a_deactivated_person_is_refused(app, client, make_user, registered):
    make_user(employee_id="E1003", active=False)
    answer = sign_in(client, "leaver")
    assert answer.status_code == 403
    assert client.get("/").status_code == 302
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sso_refused")).one()
        assert refused.details["reason"] == "deactivated"


def test_the_authn_request_is_signed_and_asks_for_a_persistent_name_id(client, registered):
    start = client.get("/sso/saml/login")
    location = start.headers["Location"]
    assert location.startswith(registered.base_url + "saml2/idp/SSOService.php?SAMLRequest=")
    assert "SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256" in location
    assert "&Signature=" in location
    cookie = start.headers["Set-Cookie"]
    assert cookie.startswith("saml-request=") and "HttpOnly" in cookie


def test_the_sign_in_page_offers_the_saml_button(client, registered):
    page = client.get("/login?next=/account").get_data(as_text=True)
    assert re.search(r'href="/sso/saml/login\?next=(/|%2F)account"', page), page


# --- refusals: each a clear 4xx page, logged, nothing changed -------------------------------------------


def test_a_replayed_response_is_refused(app, client, make_user, registered, caplog):
    """Replayed with the request cookie too (stolen along, or the same browser): refused for being used."""
    make_user(employee_id="E1001")
    form = saml_response_form(client, "nurse")
    request_cookie = client.get_cookie("saml-request").value
    assert post_to_acs(client, form.fields["SAMLResponse"]).status_code == 302
    replayer = app.test_client()
    replayer.set_cookie("saml-request", request_cookie)
    before = counts(app)
    answer = post_to_acs(replayer, form.fields["SAMLResponse"])
    assert_refused(app, replayer, answer, caplog, before, "replay")


def test_a_response_answering_another_request_is_refused(app, client, make_user, registered, caplog):
    """A response is accepted only in the browser whose request it answers (InResponseTo)."""
    make_user(employee_id="E1001")
    form = saml_response_form(client, "nurse")
    other = app.test_client()
    other.get("/sso/saml/login")
    before = counts(app)
    assert_refused(app, other, post_to_acs(other, form.fields["SAMLResponse"]), caplog, before, "unsolicited")


def test_an_unsolicited_response_is_refused(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    form = saml_response_form(client, "nurse")
    stranger = app.test_client()  # never started a sign-in: no request cookie
    before = counts(app)
    assert_refused(app, stranger, post_to_acs(stranger, form.fields["SAMLResponse"]), caplog, before, "unsolicited")


def test_a_wrong_in_response_to_is_refused_even_when_signed_by_the_idp(
    app, client, make_user, registered, saml_files, caplog
):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    xml = crafted.set_attribute(xml, "//*[@InResponseTo]", "InResponseTo", "_not-our-request")
    xml = crafted.resign(xml, registered.keys)
    before = counts(app)
    assert_refused(app, client, post_to_acs(client, crafted.encode(xml)), caplog, before, "unsolicited")


def test_a_response_whose_signatures_were_removed_is_refused(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    before = counts(app)
    answer = post_to_acs(client, crafted.encode(crafted.without_signatures(xml)))
    assert_refused(app, client, answer, caplog, before, "signature")


def test_a_response_signed_by_another_key_is_refused(app, client, make_user, registered, saml_files, caplog):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    before = counts(app)
    answer = post_to_acs(client, crafted.encode(crafted.resign(xml, saml_files["other"])))
    assert_refused(app, client, answer, caplog, before, "signature")


def test_a_response_signed_again_by_the_idp_key_is_accepted(app, client, make_user, registered):
    """The crafting is sound: a response re-signed with the IdP's key, and nothing else changed, signs in
    (so the refusals around it are for what each one changed)."""
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    answer = post_to_acs(client, crafted.encode(crafted.resign(xml, registered.keys)))
    assert answer.status_code == 302, answer.data
    assert client.get("/").status_code == 200


def test_xml_signature_wrapping_with_an_unsigned_assertion_inserted_is_refused(
    app, client, make_user, registered, caplog
):
    make_user(employee_id="E1001")
    make_user(employee_id="E7777", role="hr")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    request_cookie = client.get_cookie("saml-request").value
    forged = crafted.with_unsigned_assertion_first(xml, subject="forged-subject", employee_number="E7777")
    before = counts(app)
    answer = post_to_acs(client, crafted.encode(forged))
    assert_refused(app, client, answer, caplog, before, "wrapping")
    # the forged assertion alone (the signed one left out) fails for its missing signature
    alone = crafted.parse(forged)
    alone.remove(crafted.assertion_of(alone).getnext())
    client.set_cookie("saml-request", request_cookie)
    answer = post_to_acs(client, crafted.encode(crafted.serialise(alone)))
    assert_refused(app, client, answer, caplog, before, "signature")


def test_xml_signature_wrapping_with_the_signed_assertion_moved_is_refused(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    make_user(employee_id="E7777", role="hr")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    forged = crafted.with_signed_assertion_moved(xml, subject="forged-subject", employee_number="E7777")
    before = counts(app)
    answer = post_to_acs(client, crafted.encode(forged))
    assert_refused(app, client, answer, caplog, before, "signature")


def test_a_response_for_another_sp_is_refused(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    xml = crafted.set_text(xml, "//saml:Audience", "https://other-service.example.org/saml")
    xml = crafted.resign(xml, registered.keys)
    before = counts(app)
    assert_refused(app, client, post_to_acs(client, crafted.encode(xml)), caplog, before, "audience")


def test_a_response_sent_to_another_acs_is_refused(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    xml = crafted.set_attribute(xml, "//saml:SubjectConfirmationData", "Recipient", "https://evil.example/acs")
    xml = crafted.set_attribute(xml, "/samlp:Response", "Destination", "https://evil.example/acs")
    xml = crafted.resign(xml, registered.keys)
    before = counts(app)
    assert_refused(app, client, post_to_acs(client, crafted.encode(xml)), caplog, before, "destination")


def test_an_expired_response_is_refused_even_when_signed_by_the_idp(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    past = "2020-01-01T00:00:00Z"
    xml = crafted.set_attribute(xml, "//saml:SubjectConfirmationData", "NotOnOrAfter", past)
    xml = crafted.set_attribute(xml, "//saml:Conditions", "NotOnOrAfter", past)
    xml = crafted.resign(xml, registered.keys)
    before = counts(app)
    assert_refused(app, client, post_to_acs(client, crafted.encode(xml)), caplog, before, "expired")


def test_a_response_not_valid_yet_is_refused(app, client, make_user, registered, caplog):
    make_user(employee_id="E1001")
    xml = crafted.decode(saml_response_form(client, "nurse").fields["SAMLResponse"])
    xml = crafted.set_attribute(xml, "//saml:Conditions", "NotBefore", "2099-01-01T00:00:00Z")
    xml = crafted.resign(xml, registered.keys)
    before = counts(app)
    assert_refused(app, client, post_to_acs(client, crafted.encode(xml)), caplog, before, "expired")


@pytest.mark.parametrize(
    "body",
    [{}, {"SAMLResponse": ""}, {"SAMLResponse": "not base64 at all!"}, {"SAMLResponse": "PHhtbA=="}],
    ids=["missing", "empty", "not-base64", "not-saml"],
)
def test_a_malformed_post_to_the_acs_is_refused(app, client, registered, caplog, body):
    client.get("/sso/saml/login")
    before = counts(app)
    answer = client.post("/sso/saml/acs", data=body)
    assert answer.status_code == 400
    assert "Sign-in did not complete" in answer.get_data(as_text=True)
    assert any(line.startswith("sso_rejected ") for line in rejections(caplog))
    assert counts(app) == before


# --- replay store --------------------------------------------------------------------------------------


def test_used_assertion_ids_are_purged_once_expired(app, client, make_user, registered):
    make_user(employee_id="E1001")
    with app.app_context():
        long_ago = datetime.now(UTC) - timedelta(days=2)
        db.session.add(SamlAssertionUsed(issuer="x", assertion_id="_old", not_on_or_after=long_ago))
        db.session.add(
            SamlAssertionUsed(issuer="x", assertion_id="_recent", not_on_or_after=datetime.now(UTC) + timedelta(1))
        )
        db.session.commit()
    assert sign_in(client, "nurse").status_code == 302
    with app.app_context():
        kept = set(db.session.scalars(select(SamlAssertionUsed.assertion_id)))
    assert "_old" not in kept and "_recent" in kept and len(kept) == 2


# --- single logout ---------------------------------------------------------------------------------------


def test_signing_out_ends_the_idp_session_with_a_signed_logout_request(app, client, make_user, registered):
    make_user(employee_id="E1001")
    start = client.get("/sso/saml/login")
    browser = requests.Session()
    page = browser.get(start.headers["Location"], timeout=20)
    login = read_form(page.text, page.url)
    login.fields.update({"username": "nurse", "password": IDP_PASSWORD})
    posted = read_form(browser.post(login.action, data=login.fields, timeout=20).text, login.action)
    assert post_to_acs(client, posted.fields["SAMLResponse"]).status_code == 302
    out = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert out.status_code == 302
    location = out.headers["Location"]
    assert location.startswith(registered.base_url + "saml2/idp/SingleLogoutService.php?SAMLRequest=")
    assert "&Signature=" in location
    assert client.get("/").status_code == 302  # our session ended first
    while location.startswith(registered.base_url):  # the IdP ends its session, then sends the browser back
        hop = browser.get(location, timeout=20, allow_redirects=False)
        assert hop.status_code in (302, 303), hop.text[:500]
        location = hop.headers["Location"]
    assert location.startswith("https://training.example.org/sso/saml/sls?SAMLResponse=")
    back = client.get(location.removeprefix("https://training.example.org"))
    assert back.status_code == 302 and back.headers["Location"] == "/login"
    again = browser.get(client.get("/sso/saml/login").headers["Location"], timeout=20)
    assert 'name="password"' in again.text  # the IdP asks for the password again


# --- metadata --------------------------------------------------------------------------------------------


def test_the_sp_metadata_names_the_acs_and_the_signing_certificate(client, saml_files):
    answer = client.get("/sso/saml/metadata")
    assert answer.status_code == 200
    assert answer.mimetype == "application/samlmetadata+xml"
    root = etree.fromstring(answer.data)
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assert root.get("entityID") == SP_ENTITY_ID
    sp = root.find("md:SPSSODescriptor", ns)
    assert sp.get("AuthnRequestsSigned") == "true"
    assert "urn:oasis:names:tc:SAML:2.0:protocol" in sp.get("protocolSupportEnumeration")
    acs = sp.find("md:AssertionConsumerService", ns)
    assert acs.get("Location") == ACS_URL
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    cert = sp.find("md:KeyDescriptor[@use='signing']//ds:X509Certificate", ns)
    assert "".join(cert.text.split()) == saml_files["sp"].cert_base64()
    assert sp.find("md:NameIDFormat", ns).text == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


# --- the IdP's metadata: a file, or an https URL, read again when due -------------------------------------


class MetadataServer:
    """An https server on 127.0.0.1 (a throwaway CA) serving one metadata document, counting requests."""

    def __init__(self, folder, body: bytes):
        import http.server
        import ssl
        import threading

        from tests.rsyslog import make_certificates

        self.certificates = make_certificates(folder)
        self.body, self.requests = body, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/samlmetadata+xml")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificates.server_cert, self.certificates.server_key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/federation/metadata.xml"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def with_cache_duration(xml: bytes, duration: str) -> bytes:
    return xml.replace(b"<md:EntityDescriptor ", f'<md:EntityDescriptor cacheDuration="{duration}" '.encode(), 1)


def test_idp_metadata_from_an_https_url_is_cached_for_its_cache_duration_then_read_again(
    app, client, make_user, registered, tmp_path, saml_files
):
    server = MetadataServer(tmp_path, with_cache_duration(registered.metadata(), "PT2S"))
    try:
        source = MetadataSource(server.url, refresh=timedelta(hours=1), ca_file=str(server.certificates.ca))
        app.extensions["saml_metadata"] = source
        client.get("/sso/saml/login")
        client.get("/sso/saml/login")
        assert server.requests == 1  # cached
        time.sleep(2.1)
        client.get("/sso/saml/login")
        assert server.requests == 2  # its cacheDuration of two seconds passed
        make_user(employee_id="E1001")
        assert sign_in(client, "nurse").status_code == 302
    finally:
        server.close()


def test_idp_metadata_over_https_is_refused_from_a_server_we_do_not_trust(app, client, registered, tmp_path, caplog):
    server = MetadataServer(tmp_path, registered.metadata())
    try:
        app.extensions["saml_metadata"] = MetadataSource(server.url, refresh=timedelta(hours=1), ca_file="")
        answer = client.get("/sso/saml/login")
        assert answer.status_code == 503
        assert "not available right now" in answer.get_data(as_text=True)
        assert any('reason="metadata"' in line for line in rejections(caplog))
        assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    finally:
        server.close()


def test_a_changed_idp_metadata_file_is_read_again(app, client, make_user, registered, saml_files, tmp_path):
    """The IdP rolls its signing key: the new metadata file is used at the next sign-in, no restart."""
    metadata = tmp_path / "idp.xml"
    metadata.write_bytes(registered.metadata())
    app.extensions["saml_metadata"] = MetadataSource(str(metadata), refresh=timedelta(hours=1))
    make_user(employee_id="E1001")
    assert sign_in(client, "nurse").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    other = saml_files["other"].cert_base64()
    real = registered.keys.cert_base64()
    metadata.write_bytes(registered.metadata().replace(real.encode(), other.encode()))
    answer = sign_in(client, "nurse")  # signed by the old key, which the metadata no longer names
    assert answer.status_code == 400
