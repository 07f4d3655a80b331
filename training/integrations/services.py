"""What the integrations page shows: configuration and last activity, never a secret."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from training.audit.models import AuditEvent
from training.extensions import db
from training.scim.models import ScimToken
from training.sso.models import SsoIdentity
from training.sso.saml.metadata import MetadataError
from training.sso.saml.sp import metadata_source, sp_settings


@dataclass(frozen=True)
class ProtocolStatus:
    configured: bool
    settings: list[tuple[str, str]]  # (label, value), secrets left out
    linked_people: int
    last_sign_in: datetime | None
    problem: str = ""


@dataclass(frozen=True)
class FeedRun:
    at: datetime
    outcome: str
    reason: str
    filename: str
    counts: dict


def _links(protocol: str) -> tuple[int, datetime | None]:
    count, last = db.session.execute(
        select(func.count(SsoIdentity.id), func.max(SsoIdentity.last_sign_in_at)).where(
            SsoIdentity.protocol == protocol
        )
    ).one()
    return count, last


def oidc_status() -> ProtocolStatus:
    config = current_app.config
    linked, last = _links("oidc")
    settings = [
        ("Issuer (OIDC_ISSUER)", config["OIDC_ISSUER"]),
        ("Client id (OIDC_CLIENT_ID)", config["OIDC_CLIENT_ID"]),
        ("Client secret (OIDC_CLIENT_SECRET)", "set" if config["OIDC_CLIENT_SECRET"] else "not set"),
        ("Scopes (OIDC_SCOPES)", config["OIDC_SCOPES"]),
    ]
    return ProtocolStatus(bool(config["OIDC_ISSUER"]), settings, linked, last)


def saml_status() -> ProtocolStatus:
    config = current_app.config
    linked, last = _links("saml")
    if not config["SAML_IDP_METADATA"]:
        return ProtocolStatus(False, [], linked, last)
    sp = sp_settings(config)
    settings = [
        ("Our entity id (SAML_SP_ENTITY_ID)", sp.entity_id),
        ("Our assertion consumer service", sp.acs_url),
        ("IdP metadata (SAML_IDP_METADATA)", config["SAML_IDP_METADATA"]),
        ("Signing our requests (SAML_SP_KEY, SAML_SP_CERT)", "yes" if config["SAML_SP_KEY"] else "no"),
    ]
    try:
        metadata = metadata_source().current()
    except MetadataError as error:
        return ProtocolStatus(True, settings, linked, last, problem=str(error))
    settings += [
        ("IdP entity id", metadata.entity_id),
        ("Metadata read again after", _utc(metadata.expires_at)),
        (
            "Metadata valid until",
            f"{metadata.valid_until:%Y-%m-%d %H:%M} UTC" if metadata.valid_until else "not stated",
        ),
    ]
    return ProtocolStatus(True, settings, linked, last)


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def rules_summary() -> list[tuple[str, str]]:
    rules = current_app.config["SSO_RULES"]
    roles = "; ".join(f"{role} from {', '.join(groups)}" for role, groups in rules.role_groups.items())
    return [
        ("Link the first sign-in by employee id from", ", ".join(rules.employee_id_attributes)),
        ("Link by verified email (SSO_LINK_BY_EMAIL)", "yes" if rules.link_by_email else "no"),
        ("Create unknown people as staff (SSO_CREATE_ACCOUNTS)", "yes" if rules.create_accounts else "no"),
        ("Roles from the provider's groups (SSO_ROLE_GROUPS)", roles or "never"),
        ("Our two-step sign-in after single sign-on (SSO_TWO_STEP)", "yes" if rules.two_step else "no"),
        ("Password sign-in (PASSWORD_SIGN_IN)", _password_sign_in(rules)),
    ]


def _password_sign_in(rules) -> str:
    if rules.password_allowed("", "staff"):
        return "everyone"
    named = len(rules.password_accounts)
    return f"admins and {named} named account{'s' if named != 1 else ''} only"


def last_feed_run() -> FeedRun | None:
    """The HR feed's last run (`flask staff sync`): its `staff.synced` audit event."""
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "staff.synced").order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    if event is None:
        return None
    details = event.details or {}
    return FeedRun(
        event.occurred_at,
        str(details.get("outcome", "")),
        str(details.get("reason") or ""),
        str(details.get("filename", "")),
        dict(details.get("counts") or {}),
    )


@dataclass(frozen=True)
class ScimStatus:
    live_tokens: int
    last_call: datetime | None
    last_token: str


def scim_status() -> ScimStatus:
    """How many SCIM tokens work, and the last SCIM call (the most recently used token, to the minute)."""
    live = db.session.execute(select(func.count(ScimToken.id)).where(ScimToken.revoked_at.is_(None))).scalar()
    last = db.session.execute(
        select(ScimToken).where(ScimToken.last_used_at.is_not(None)).order_by(ScimToken.last_used_at.desc()).limit(1)
    ).scalar_one_or_none()
    return ScimStatus(live, last.last_used_at if last else None, last.name if last else "")
