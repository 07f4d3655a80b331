"""API tokens: HR and admins create and revoke them; every API request presents one.

A token is `trn_` followed by 43 URL-safe characters; how tokens are made, stored and checked is
in training/bearer_tokens.py, shared with SCIM's.
"""

from datetime import datetime

from training.api.models import ApiToken
from training.bearer_tokens import TokenKind, Unauthorized, bearer_credentials

API_TOKENS = TokenKind(
    model=ApiToken,
    subject="api_token",
    noun="API token",
    secret_prefix="trn_",  # noqa: S106 - a label that makes leaked tokens recognisable, not a secret
    used_by="the system that will use it",
)
TOKEN_PATTERN = API_TOKENS.pattern

MISSING_MESSAGE = "Send an API token in the Authorization header, as: Authorization: Bearer <token>."
INVALID_MESSAGE = "The API token is not valid. Ask HR for a new token if it was revoked."


create_token = API_TOKENS.create
revoke_token = API_TOKENS.revoke


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer <token>` header, or Unauthorized for anything else."""
    credentials = bearer_credentials(authorization)
    if not credentials or " " in credentials:
        raise Unauthorized(MISSING_MESSAGE, 'Bearer realm="api"')
    return credentials


def authenticate(authorization: str | None, now: datetime | None = None) -> ApiToken:
    """The live token named by this header; wrong and revoked tokens get the same answer.

    Only the hash is looked up, never the token itself. Marks the token used (once a minute).
    """
    token = API_TOKENS.live(bearer_token(authorization), now)
    if token is None:
        raise Unauthorized(INVALID_MESSAGE, 'Bearer realm="api", error="invalid_token"')
    return token
