"""The bearer tokens that identity providers (Entra ID, Okta) present to /scim/v2."""

from training.bearer_tokens import BearerTokenColumns
from training.db import CreatedAtMixin
from training.extensions import db


class ScimToken(BearerTokenColumns, CreatedAtMixin, db.Model):
    """A SCIM bearer token, apart from the reporting API's tokens so that neither opens the other.

    Only its SHA-256 is stored; the token is shown once. `last_used_at` is the last SCIM call made with it.
    """
