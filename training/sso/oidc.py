"""OpenID Connect sign-in with Authlib: the authorization code flow with PKCE (S256), `state` and `nonce`.

The provider is found by discovery (`OIDC_ISSUER` + /.well-known/openid-configuration), whose `issuer`
must be exactly the configured one. The ID token is checked by Authlib and joserfc: its signature
against the provider's JWKS (fetched again when a token names a key not seen yet, so the provider can
rotate keys), only asymmetric algorithms (never `none` or a MAC keyed with the client secret), `iss`,
`aud` (our client id), `azp`, `nonce`, `exp` and `iat` with a small clock skew, and an `iat` no older
than a few minutes. The claims are those of the ID token completed by the userinfo endpoint's (same `sub`).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, current_app, redirect, request, session
from joserfc.errors import JoseError

from training.sso.identity import IdpIdentity
from training.sso.oidc_claims import identity_from_claims
from training.urls import public_url

CLIENT_NAME = "oidc"
# Signature algorithms accepted for ID tokens, whatever the provider advertises: asymmetric only.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
CLOCK_SKEW_SECONDS = 60
# An ID token issued longer ago than this (plus the skew) is refused even before its `exp`.
MAX_ID_TOKEN_AGE_SECONDS = 600
PROVIDER_TIMEOUT_SECONDS = 10
# The ID token is kept (in the session cookie) for RP-initiated logout only when it is this short.
MAX_KEPT_ID_TOKEN_LENGTH = 2048


class OidcRejected(Exception):
    """A sign-in response that cannot be trusted or completed; `reason` for the security log, the
    message for the person, and the HTTP status of the page."""

    def __init__(self, reason: str, message: str, status: int = 400):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class OidcResult:
    identity: IdpIdentity
    next_path: str | None
    logout: dict


class ProviderMetadataRefused(OidcRejected):
    def __init__(self, problem: str):
        super().__init__(
            "provider_metadata",
            "The sign-in service's configuration could not be used. Please tell the help desk.",
            status=502,
        )
        self.problem = problem


class CheckedOidcClient(FlaskOAuth2App):
    """Authlib's client with the provider's discovery document checked and its algorithms restricted."""

    def load_server_metadata(self):
        metadata = super().load_server_metadata()
        check_metadata(metadata, expected_issuer=current_app.config["OIDC_ISSUER"])
        return metadata


class CheckedOAuth(OAuth):
    oauth2_client_cls = CheckedOidcClient


def check_metadata(metadata: dict, *, expected_issuer: str) -> None:
    """The discovery document names the issuer we were configured with (OpenID Discovery 4.3), the
    endpoints the code flow needs, and at least one allowed signature algorithm (kept alone)."""
    if metadata.get("issuer") != expected_issuer:
        raise ProviderMetadataRefused(f"issuer {metadata.get('issuer')!r} is not OIDC_ISSUER {expected_issuer!r}")
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(endpoint):
            raise ProviderMetadataRefused(f"no {endpoint}")
    advertised = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    allowed = [alg for alg in advertised if alg in ALLOWED_ALGORITHMS]
    if not allowed:
        raise ProviderMetadataRefused(f"no allowed ID token algorithm in {advertised!r}")
    metadata["id_token_signing_alg_values_supported"] = allowed


def init_app(app: Flask) -> None:
    """Register the provider's client when OIDC_ISSUER is set (no network until the first sign-in)."""
    registry = CheckedOAuth(app)
    registry.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "timeout": PROVIDER_TIMEOUT_SECONDS,
        },
    )
    app.extensions["oidc_client"] = registry.create_client(CLIENT_NAME)


def client() -> CheckedOidcClient:
    return current_app.extensions["oidc_client"]


def redirect_uri() -> str:
    """Our callback as registered at the provider: PUBLIC_BASE_URL, never the Host a request names."""
    return public_url("/sso/oidc/callback")


def start_sign_in(next_path: str | None):
    """The redirect to the provider's authorization endpoint; state, nonce, PKCE verifier and where to go
    afterwards are kept in the session until the callback (Authlib's state data, one entry per state)."""
    oidc = client()
    with provider_errors():
        authorization = oidc.create_authorization_url(redirect_uri())
    url = authorization.pop("url")  # not kept: the session cookie holds only what the callback needs
    oidc.save_authorize_data(redirect_uri=redirect_uri(), next_path=next_path, **authorization)
    return redirect(url)


def finish_sign_in() -> OidcResult:
    """Check the provider's response to our callback and return who signed in.

    The state is looked up (and spent) first, so a callback replayed or made up refers to nothing; the
    code is exchanged once with the PKCE verifier; then the ID token and claims are checked.
    """
    oidc = client()
    state_data = oidc.framework.get_state_data(session, request.args.get("state")) or {}
    with provider_errors():
        check_response_issuer(oidc.load_server_metadata())
        token = oidc.authorize_access_token(claims_options=claims_options(), leeway=CLOCK_SKEW_SECONDS)
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise OidcRejected("id_token", "The sign-in service sent no ID token.")
        claims = merged_with_userinfo(oidc, token, claims)
    issuer = current_app.config["OIDC_ISSUER"]
    logout = {"protocol": "oidc"}
    if len(token["id_token"]) <= MAX_KEPT_ID_TOKEN_LENGTH:
        logout["id_token"] = token["id_token"]
    return OidcResult(identity_from_claims(issuer, claims), state_data.get("next_path"), logout)


def check_response_issuer(metadata: dict) -> None:
    """RFC 9207 against mix-up: a provider that says it names itself in responses must name our issuer."""
    sent = request.args.get("iss")
    expected = sent is not None or metadata.get("authorization_response_iss_parameter_supported")
    if expected and sent != metadata["issuer"]:
        raise OidcRejected("issuer_mismatch", "This sign-in response did not come from our sign-in service.")


def claims_options() -> dict:
    """What the ID token's registered claims must be (Authlib alone would accept another audience
    when `azp` names us)."""
    config = current_app.config
    return {
        "iss": {"essential": True, "value": config["OIDC_ISSUER"]},
        "aud": {"essential": True, "value": config["OIDC_CLIENT_ID"]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True, "validate": issued_recently},
    }


def issued_recently(_claims, issued_at: object) -> bool:
    return isinstance(issued_at, int | float) and issued_at >= time.time() - MAX_ID_TOKEN_AGE_SECONDS - (
        CLOCK_SKEW_SECONDS
    )


def merged_with_userinfo(oidc: CheckedOidcClient, token: dict, claims: dict) -> dict:
    """The userinfo endpoint's claims (when the provider has one) under the ID token's: many providers
    put only `sub` and the protocol claims in the ID token. Userinfo about another `sub` is refused."""
    if not oidc.load_server_metadata().get("userinfo_endpoint"):
        return claims
    userinfo = dict(oidc.userinfo(token=token))
    if userinfo.get("sub") != claims["sub"]:
        raise OidcRejected("userinfo_subject", "The sign-in service described another person.")
    return userinfo | claims


@contextmanager
def provider_errors() -> Iterator[None]:
    """Turn what can go wrong with the provider into `OidcRejected`: a refusal of ours or the provider's
    (400), or the provider unreachable or answering nonsense (502)."""
    try:
        yield
    except OidcRejected:
        raise
    except (AuthlibBaseError, JoseError, requests.RequestException) as error:
        raise translated(error) from error


def translated(error: Exception) -> OidcRejected:
    if isinstance(error, MismatchingStateError):
        return OidcRejected("state", "This sign-in link has expired or was already used. Please sign in again.")
    if isinstance(error, OAuthError):
        reason = "cancelled" if error.error == "access_denied" else f"provider_{error.error or 'error'}"[:60]
        return OidcRejected(reason, "The sign-in service did not sign you in. Please try again.")
    if isinstance(error, JoseError):
        return OidcRejected(f"id_token_{error.error}"[:60], "The sign-in service's answer could not be verified.")
    if isinstance(error, AuthlibBaseError):
        return OidcRejected("provider_error", "The sign-in service did not sign you in. Please try again.")
    return OidcRejected(
        "provider_unreachable", "The sign-in service could not be reached. Please try again later.", status=502
    )


def logout_url(logout: dict) -> str | None:
    """The provider's end_session_endpoint with id_token_hint (when kept) and our sign-in page to come
    back to, or None when the provider offers no RP-initiated logout or cannot be reached now."""
    if "oidc_client" not in current_app.extensions:
        return None
    try:
        metadata = client().load_server_metadata()
    except (OidcRejected, requests.RequestException):
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    back_to = public_url("/login")
    return client().create_logout_url(
        post_logout_redirect_uri=back_to, id_token_hint=logout.get("id_token"), client_id=client().client_id
    )["url"]
