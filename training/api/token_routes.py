"""Settings, API tokens: HR and admins list, create and revoke the tokens HR systems use."""

from training.api.tokens import API_TOKENS
from training.token_pages import token_settings_blueprint

bp = token_settings_blueprint(
    "api_tokens", "/settings/api-tokens", kind=API_TOKENS, roles=("hr", "admin"), folder="api"
)
