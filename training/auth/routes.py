from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from training.auth import mfa, pending, services, throttle
from training.auth.forms import LoginForm
from training.urls import is_safe_next

bp = Blueprint("auth", __name__)

FAILED_SIGN_IN = "Email or password is incorrect."


def _destination(target: str | None) -> str:
    return target if is_safe_next(target) else url_for("courses.home")


@bp.route("/login", methods=["GET", "POST"])
@throttle.per_address
@throttle.per_account
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(_destination(form.next.data))
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data, ip_address=request.remote_addr or "")
        if user is not None:
            return _after_password(user, form)
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


def complete_sign_in(user, *, next_path: str | None, remember: bool = False):
    """A fresh session id at every sign-in (ASVS 7.2.4): the old cookie's contents are dropped."""
    session.clear()
    services.start_session(
        user, user_agent=request.user_agent.string, ip_address=request.remote_addr or "", remember=remember
    )
    login_user(user)
    return redirect(_destination(next_path))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """POST only, CSRF-checked by CSRFProtect; ends the server-side session record."""
    services.end_session(current_user.session_token, reason="signed_out")
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
