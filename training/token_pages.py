"""The settings pages of a kind of bearer token (API, SCIM): list, create (shown once) and revoke."""

from types import ModuleType

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from training.api.forms import NewTokenForm
from training.auth.access import roles_required
from training.client import client_ip


def token_settings_blueprint(name: str, url_prefix: str, *, tokens: ModuleType, roles: tuple[str, ...], folder: str):
    """A blueprint `name` at `url_prefix` for the tokens of `tokens` (create_token, revoke_token,
    list_tokens), for `roles`, drawn with `folder`/tokens.html and `folder`/token_created.html."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)

    def index_page(form: NewTokenForm, status: int = 200):
        return render_template(f"{folder}/tokens.html", form=form, rows=tokens.list_tokens()), status

    @bp.get("")
    @roles_required(*roles)
    def index():
        return index_page(NewTokenForm())

    @bp.post("")
    @roles_required(*roles)
    def create():
        """The full token appears on this response only: it is not stored, flashed or redirected."""
        form = NewTokenForm()
        if not form.validate_on_submit():
            return index_page(form, 422)
        created = tokens.create_token(current_user, form.name.data, ip_address=client_ip())
        return render_template(f"{folder}/token_created.html", created=created)

    @bp.post("/<int:token_id>/revoke")
    @roles_required(*roles)
    def revoke(token_id: int):
        """No fields: CSRFProtect checks the form's token, as for every POST."""
        token = tokens.revoke_token(current_user, token_id, ip_address=client_ip())
        flash(
            f"The token “{token.name}” ({token.prefix}…) is revoked. Calls with it are refused from now on.", "success"
        )
        return redirect(url_for(f"{name}.index"))

    return bp
