"""SCIM tokens: admins create and revoke them; the identity provider presents one on every SCIM call.

A token is `scim_` and 43 URL-safe characters, made, stored and checked as in training/bearer_tokens.py.
SCIM tokens live in their own table: one never opens the reporting API, and an API token never opens SCIM.
"""

from datetime import datetime

from training.bearer_tokens import TokenKind, Unauthorized, bearer_credentials
from training.scim.models import ScimToken

SCIM_TOKENS = TokenKind(
    model=ScimToken,
    subject="scim_token",
    noun="SCIM token",
    secret_prefix="scim_",  # noqa: S106 - a label that makes leaked tokens recognisable, not a secret
    used_by="the identity provider that will use it",
)
TOKEN_PATTERN = SCIM_TOKENS.pattern

MISSING_MESSAGE = "Send the SCIM token in the Authorization header, as: Authorization: Bearer <token>."
INVALID_MESSAGE = "The SCIM token is not valid. Ask an admin for a new token if it was revoked."
CHALLENGE = 'Bearer realm="scim"'


create_token = SCIM_TOKENS.create


def authenticate(authorization: str | None, now: datetime | None = None) -> ScimToken:
    """The live SCIM token named by this header; missing, wrong and revoked tokens are Unauthorized.

    Only the hash is looked up. Records the call on the token (at most once a minute): the last SCIM call.
    """
    secret = bearer_credentials(authorization)
    if not secret:
        raise Unauthorized(MISSING_MESSAGE, CHALLENGE)
    token = SCIM_TOKENS.live(secret, now)
    if token is None:
        raise Unauthorized(INVALID_MESSAGE, CHALLENGE)
    return token
