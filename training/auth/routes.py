from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from training.auth import services
from training.auth.forms import LoginForm
from training.urls import is_safe_next

bp = Blueprint("auth", __name__)

FAILED_SIGN_IN = "Email or password is incorrect."


def _destination(target: str | None) -> str:
    return target if is_safe_next(target) else url_for("courses.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(_destination(form.next.data))
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()
            services.start_session(user, user_agent=request.user_agent.string, ip_address=request.remote_addr or "")
            login_user(user)
            return redirect(_destination(form.next.data))
        form.form_errors.append(FAILED_SIGN_IN)
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """POST only, CSRF-checked by CSRFProtect; ends the server-side session record."""
    services.end_session(current_user.session_token)
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
