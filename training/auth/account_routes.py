"""Your account: your details, where you are signed in (ending other sessions) and your password."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from training.auth import account
from training.auth.forms import ChangePasswordForm, ConfirmPasswordForm
from training.client import client_ip
from training.clock import local_time
from training.errors import FieldRefused
from training.extensions import limiter

bp = Blueprint("account", __name__, url_prefix="/account")

ROLE_LABELS = {"staff": "Staff", "manager": "Manager", "hr": "HR", "author": "Author", "admin": "Admin"}


def _password_limit() -> str:
    return current_app.config["ACCOUNT_PASSWORD_RATE_LIMIT"]


def _this_person() -> str:
    return f"user:{current_user.id}"


# Every POST here checks the password: one budget per person, so the pages cannot be used to guess it.
password_rate = limiter.shared_limit(
    _password_limit,
    scope="account-password",
    key_func=_this_person,
    methods=["POST"],
    error_message="You have entered your password too many times. Wait 15 minutes, then try again.",
)


@bp.context_processor
def _helpers():
    return {"local_time": local_time, "role_labels": ROLE_LABELS}


def _current_id() -> int:
    return current_user.current_session.id


@bp.get("")
@login_required
def index():
    return render_template("account/index.html", person=current_user)


def _sessions_page(form: ConfirmPasswordForm, confirm: str | None, status: int = 200):
    overview = account.sessions_overview(current_user, _current_id())
    others = [row for row in overview.live if not row.current]
    target = None
    if confirm == "others" and others:
        target = "others"
    elif confirm and confirm.isdigit():
        target = next((row for row in others if row.id == int(confirm)), None)
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    return render_template(
        "account/sessions.html", overview=overview, others=others, target=target, form=form, idle_minutes=idle_minutes
    ), status


@bp.get("/sessions")
@login_required
def sessions():
    """`?end=<id>` or `?end=others` shows the password confirmation for ending sessions."""
    return _sessions_page(ConfirmPasswordForm(), request.args.get("end"))


@bp.post("/sessions/<int:session_id>/end")
@login_required
@password_rate
def end_session(session_id: int):
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            device, was_live = account.end_own_session(
                current_user, session_id, form.password.data, current_id=_current_id(), ip_address=client_ip()
            )
        except FieldRefused as refused:
            refused.attach_to(form)
        else:
            flash(f"The session on {device} {'is ended' if was_live else 'had already ended'}.", "success")
            return redirect(url_for("account.sessions"))
    return _sessions_page(form, str(session_id), 422)


@bp.post("/sessions/end-others")
@login_required
@password_rate
def end_other_sessions():
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            ended = account.end_other_sessions(
                current_user, form.password.data, current_id=_current_id(), ip_address=client_ip()
            )
        except FieldRefused as refused:
            refused.attach_to(form)
        else:
            flash(_ended_message(ended), "success")
            return redirect(url_for("account.sessions"))
    return _sessions_page(form, "others", 422)


def _ended_message(count: int) -> str:
    if count == 0:
        return "No other session was open. You are signed in only here."
    sessions = "session is" if count == 1 else "sessions are"
    return f"{count} other {sessions} ended. You are still signed in here."


@bp.route("/password", methods=["GET", "POST"])
@login_required
@password_rate
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ended = account.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep_token=current_user.session_token,
                ip_address=client_ip(),
            )
        except FieldRefused as refused:
            refused.attach_to(form)
        else:
            others = "" if not ended else f" {ended} other session{'s were' if ended > 1 else ' was'} signed out."
            flash(f"Your password is changed.{others}", "success")
            return redirect(url_for("account.index"))
    status = 422 if any(field.errors for field in form) else 200
    return render_template("account/password.html", form=form), status
