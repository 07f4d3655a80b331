"""From an OpenID provider's validated claims to the protocol-independent `IdpIdentity` (pure, no Flask)."""

import json
from collections.abc import Mapping

from training.sso.identity import IdpIdentity

# Claims that say how the person authenticated, kept for the audit record of the sign-in.
AUTHN_METHODS = "amr"
AUTHN_CLASS = "acr"


def identity_from_claims(issuer: str, claims: Mapping[str, object]) -> IdpIdentity:
    """The person as the provider `issuer` described them: identified by `sub` (never by email), with
    every claim kept as strings for the attribute rules of the sign-in."""
    return IdpIdentity(
        protocol="oidc",
        issuer=issuer,
        subject=str(claims["sub"]),
        email=_text(claims.get("email")),
        email_verified=_is_true(claims.get("email_verified")),
        name=_text(claims.get("name")),
        attributes={name: as_strings(value) for name, value in claims.items()},
        authn_context=authn_context(claims),
    )


def as_strings(value: object) -> tuple[str, ...]:
    """A claim's value as strings: a list keeps its items, true/false are spelt as JSON does, an object is JSON."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(item for element in value for item in as_strings(element))
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, dict):
        return (json.dumps(value, sort_keys=True),)
    return (str(value),)


def authn_context(claims: Mapping[str, object]) -> str:
    """`amr` values joined by spaces, then `acr`: how the provider says the person authenticated."""
    methods = as_strings(claims.get(AUTHN_METHODS))
    return " ".join([*methods, *as_strings(claims.get(AUTHN_CLASS))])


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _is_true(value: object) -> bool:
    """Only a real `true` (or the string "true", as some providers send it) counts as verified."""
    return value is True or value == "true"
