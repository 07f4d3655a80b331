"""Settings, API tokens: HR and admins list, create and revoke the tokens HR systems use."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from training.api import tokens
from training.api.forms import NewTokenForm
from training.auth.access import roles_required

bp = Blueprint("api_tokens", __name__, url_prefix="/settings/api-tokens")
MANAGE_ROLES = ("hr", "admin")


def _index_page(form: NewTokenForm, status: int = 200):
    return render_template("api/tokens.html", form=form, rows=tokens.list_tokens()), status


@bp.get("")
@roles_required(*MANAGE_ROLES)
def index():
    return _index_page(NewTokenForm())


@bp.post("")
@roles_required(*MANAGE_ROLES)
def create():
    """The full token appears on this response only: it is not stored, flashed or redirected."""
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _index_page(form, 422)
    created = tokens.create_token(current_user, form.name.data, ip_address=request.remote_addr or "")
    return render_template("api/token_created.html", created=created)


@bp.post("/<int:token_id>/revoke")
@roles_required(*MANAGE_ROLES)
def revoke(token_id: int):
    """No fields: CSRFProtect checks the form's token, as for every POST."""
    token = tokens.revoke_token(current_user, token_id, ip_address=request.remote_addr or "")
    flash(f"The token “{token.name}” ({token.prefix}…) is revoked. Calls with it are refused from now on.", "success")
    return redirect(url_for("api_tokens.index"))
