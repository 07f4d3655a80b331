"""OpenID Connect sign-in pages: /sso/oidc/login sends the browser to the provider, /sso/oidc/callback
takes it back and hands the person to the protocol-independent sign-in (training/sso/signin.py)."""

from flask import Blueprint, Flask, current_app, request

from training.auth.idp_logout import register_idp_logout
from training.sso import oidc
from training.sso.buttons import register_sso_button
from training.sso.signin import finish_sso_sign_in, sso_refused_page
from training.urls import is_safe_next

bp = Blueprint("oidc", __name__, url_prefix="/sso/oidc")


def init_app(app: Flask) -> None:
    """OpenID Connect sign-in, when OIDC_ISSUER is set: the client, the pages, the sign-in button and
    RP-initiated logout."""
    if not app.config["OIDC_ISSUER"]:
        return
    oidc.init_app(app)
    app.register_blueprint(bp)
    register_sso_button(app, app.config["OIDC_BUTTON_LABEL"], "oidc.login")
    register_idp_logout("oidc", oidc.logout_url)


@bp.get("/login")
def login():
    next_path = request.args.get("next")
    try:
        return oidc.start_sign_in(next_path if is_safe_next(next_path) else None)
    except oidc.OidcRejected as refusal:
        return _refused(refusal)


@bp.get("/callback")
def callback():
    try:
        result = oidc.finish_sign_in()
    except oidc.OidcRejected as refusal:
        return _refused(refusal)
    return finish_sso_sign_in(result.identity, next_path=result.next_path, logout=result.logout)


def _refused(refusal: oidc.OidcRejected):
    """The page for a response we cannot trust; a provider that cannot be used is logged for the operator."""
    if isinstance(refusal, oidc.ProviderMetadataRefused):
        current_app.logger.error("OpenID Connect provider's discovery document refused: %s", refusal.problem)
    elif refusal.status >= 500:
        current_app.logger.warning("OpenID Connect provider could not be reached: %s", refusal.__cause__)
    return sso_refused_page(refusal.message, protocol="oidc", reason=refusal.reason, status=refusal.status)
