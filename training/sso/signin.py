"""Finishing a single sign-on for the protocol routes: our session, or a clear refusal."""

from flask import Response, current_app, render_template, url_for

from training.audit.services import record_event
from training.auth import mfa, pending
from training.auth.idp_logout import remember_for_logout
from training.auth.signin import complete_sign_in
from training.client import client_ip
from training.extensions import db
from training.security_log import security_event
from training.sso.identity import IdpIdentity, SsoRefused, person_for_identity

PROTOCOL_NAMES = {"oidc": "OpenID Connect", "saml": "SAML"}


def finish_sso_sign_in(identity: IdpIdentity, *, next_path: str | None, logout: dict | None = None) -> Response:
    """Sign in the person this identity belongs to (issue 18's rules), or answer 403 saying whom to contact.

    The session has the same idle and absolute limits as a password sign-in. Our second step is
    asked only with SSO_TWO_STEP=1 and only of people who set it up; otherwise the provider's own
    MFA counts, and the audit event records what the provider says it did (amr/acr, AuthnContext).
    """
    rules = current_app.config["SSO_RULES"]
    ip_address = client_ip()
    try:
        person = person_for_identity(identity, rules, ip_address=ip_address)
    except SsoRefused as refused:
        db.session.rollback()
        return _refused(identity, refused, ip_address)
    if rules.two_step and mfa.is_enabled(person):
        pending.begin(person.id, next_path=next_path, remember=False, method=identity.protocol)
        return current_app.redirect(url_for("mfa.second_step"))
    response = complete_sign_in(
        person, next_path=next_path, method=identity.protocol, authn_context=identity.authn_context
    )
    remember_for_logout(logout)
    return response


def _refused(identity: IdpIdentity, refused: SsoRefused, ip_address: str) -> tuple[str, int]:
    security_event("sso_refused", protocol=identity.protocol, reason=refused.reason)
    record_event(
        "user.sso_refused",
        actor_id=None,
        details={
            "protocol": identity.protocol,
            "issuer": identity.issuer,
            "subject": identity.subject,
            "reason": refused.reason,
        },
        ip_address=ip_address,
    )
    db.session.commit()
    contact = current_app.config["SSO_RULES"].contact
    return render_template("sso/refused.html", message=refused.message, contact=contact), refused.status


def sso_refused_page(message: str, *, protocol: str, reason: str, status: int = 400) -> tuple[str, int]:
    """A sign-in the protocol itself refused (bad signature, replay, wrong state): say so, log it, no session."""
    security_event("sso_rejected", protocol=protocol, reason=reason)
    return render_template(
        "sso/rejected.html", message=message, protocol=PROTOCOL_NAMES.get(protocol, protocol)
    ), status
