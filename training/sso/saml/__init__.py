"""SAML 2.0 sign-in (SP-initiated Web Browser SSO) with pysaml2 and xmlsec1; on when SAML_IDP_METADATA is set."""

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Check the settings, then register the endpoints, the sign-in button and single logout."""
    if not app.config["SAML_IDP_METADATA"]:
        return
    from training.auth.idp_logout import register_idp_logout
    from training.sso.buttons import register_sso_button
    from training.sso.saml import routes, services, sp
    from training.sso.saml.metadata import MetadataSource

    sp.check_settings(app.config)
    app.extensions["saml_metadata"] = MetadataSource(
        app.config["SAML_IDP_METADATA"],
        refresh=timedelta(minutes=app.config["SAML_IDP_METADATA_REFRESH_MINUTES"] or 1),
        ca_file=app.config["SAML_IDP_METADATA_CA_FILE"],
    )
    app.register_blueprint(routes.bp)
    register_sso_button(app, app.config["SAML_BUTTON_LABEL"], "saml.login")
    register_idp_logout("saml", services.idp_logout_url)
