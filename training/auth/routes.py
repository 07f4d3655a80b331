from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from training.auth import authentication, mfa, pending, sessions, throttle
from training.auth.forms import LoginForm
from training.auth.idp_logout import idp_logout_url
from training.auth.signin import complete_sign_in, destination
from training.client import client_ip

bp = Blueprint("auth", __name__)

FAILED_SIGN_IN = "Email or password is incorrect."
SSO_ONLY_MESSAGE = "Your organization signs you in with its own account: use the button on this page."


@bp.route("/login", methods=["GET", "POST"])
@throttle.per_address
@throttle.per_account
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(destination(form.next.data))
    status = 200
    if form.validate_on_submit():
        user = authentication.authenticate(form.email.data, form.password.data, ip_address=client_ip())
        if user is not None and not current_app.config["SSO_RULES"].password_allowed(user.email, user.role):
            authentication.refuse_password_sign_in(user, ip_address=client_ip())
            form.form_errors.append(SSO_ONLY_MESSAGE)
            status = 403
        elif user is not None:
            return _after_password(user, form)
        else:
            form.form_errors.append(FAILED_SIGN_IN)
            status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


def _after_password(user, form):
    """The password was right: the second step (two-step sign-in) or the session itself."""
    remember = bool(form.remember.data)
    if mfa.is_enabled(user):
        pending.begin(user.id, next_path=form.next.data, remember=remember)
        return redirect(url_for("mfa.second_step"))
    return complete_sign_in(user, next_path=form.next.data, remember=remember)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """POST only, CSRF-checked by CSRFProtect; ends the server-side session record."""
    sessions.end_session(current_user.session_token, reason="signed_out")
    provider_logout = idp_logout_url()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(provider_logout or url_for("auth.login"))
