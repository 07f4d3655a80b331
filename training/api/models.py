"""Bearer tokens for the reporting API."""

from training.bearer_tokens import BearerTokenColumns
from training.db import CreatedAtMixin
from training.extensions import db


class ApiToken(BearerTokenColumns, CreatedAtMixin, db.Model):
    """A bearer token for HR systems. Only its SHA-256 is stored; the token is shown once."""
