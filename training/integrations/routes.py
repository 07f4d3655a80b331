"""/admin/integrations: the state of single sign-on, SCIM provisioning and the HR feed, for admins."""

from flask import Blueprint, render_template

from training.auth.access import roles_required
from training.integrations import services

bp = Blueprint("integrations", __name__, url_prefix="/admin")


@bp.get("/integrations")
@roles_required("admin")
def index():
    return render_template(
        "integrations/index.html",
        oidc=services.oidc_status(),
        saml=services.saml_status(),
        rules=services.rules_summary(),
        scim=services.scim_status(),
        feed=services.last_feed_run(),
    )
