"""Settings, SCIM tokens: admins list, create and revoke the tokens identity providers provision staff with."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from training.api.forms import NewTokenForm
from training.auth.access import roles_required
from training.scim import tokens

bp = Blueprint("scim_tokens", __name__, url_prefix="/settings/scim-tokens")
# Admins only: a SCIM token changes staff records and deactivates people, an HR-wide write with no person behind it.
MANAGE_ROLES = ("admin",)


def _index_page(form: NewTokenForm, status: int = 200):
    return render_template("scim/tokens.html", form=form, rows=tokens.list_tokens()), status


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
    return render_template("scim/token_created.html", created=created)


@bp.post("/<int:token_id>/revoke")
@roles_required(*MANAGE_ROLES)
def revoke(token_id: int):
    token = tokens.revoke_token(current_user, token_id, ip_address=request.remote_addr or "")
    flash(f"The SCIM token “{token.name}” ({token.prefix}…) is revoked: calls with it are refused.", "success")
    return redirect(url_for("scim_tokens.index"))
