"""Settings, SCIM tokens: admins list, create and revoke the tokens identity providers provision staff with.

Admins only: a SCIM token changes staff records and deactivates people, an HR-wide write with no person behind it.
"""

from training.scim.tokens import SCIM_TOKENS
from training.token_pages import token_settings_blueprint

bp = token_settings_blueprint("scim_tokens", "/settings/scim-tokens", kind=SCIM_TOKENS, roles=("admin",), folder="scim")
