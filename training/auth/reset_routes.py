"""Forgotten passwords: ask for an emailed link, then choose a new password through it.

The link's token never stays in the address bar: following it stores the token's hash in the
session and redirects to /password/reset, so the page with the form (and any link followed from
it) does not carry the token in its address, its history entry or a Referer header.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from training.auth import reset, throttle
from training.auth.reset_forms import ForgotPasswordForm, ResetPasswordForm
from training.auth.users import PasswordRejected
from training.client import client_ip
from training.extensions import limiter

bp = Blueprint("password_reset", __name__, url_prefix="/password")

SESSION_KEY = "password_reset"


def _address_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT_ADDRESS"]


def _email_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT_EMAIL"]


def _too_many(limit: RequestLimit, which: str):
    throttle.record_throttled("password.reset_throttled", which)
    page = render_template("auth/reset_paused.html", minutes=throttle.wait_minutes(limit))
    return current_app.make_response((page, 429))


# Every request for a link counts, so nobody can fill a mailbox with them.
per_address = limiter.limit(
    _address_limit,
    key_func=get_remote_address,
    methods=["POST"],
    on_breach=lambda limit: _too_many(limit, "address"),
    scope="reset-address",
)
per_email = limiter.limit(
    _email_limit,
    key_func=throttle.email_key,
    methods=["POST"],
    on_breach=lambda limit: _too_many(limit, "email"),
    scope="reset-email",
)


@bp.after_request
def _not_cached(response):
    """The reset pages show an account's address and hold the link's state: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid_link():
    session.pop(SESSION_KEY, None)
    return render_template("auth/reset_invalid.html", message=reset.INVALID_LINK), 404


@bp.route("/forgot", methods=["GET", "POST"])
@per_address
@per_email
def forgot():
    """The same answer whether or not an account has the address (ASVS 6.4.1, no enumeration)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset.request_reset(form.email.data, ip_address=client_ip())
        return render_template("auth/reset_sent.html", minutes=current_app.config["PASSWORD_RESET_MINUTES"])
    return render_template("auth/forgot.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/reset/<token>")
def follow_link(token: str):
    token_hash = reset.token_hash(token)
    try:
        reset.check_link(token_hash)
    except reset.ResetLinkInvalid:
        return _invalid_link()
    session[SESSION_KEY] = token_hash
    return redirect(url_for("password_reset.choose"))


@bp.route("/reset", methods=["GET", "POST"])
def choose():
    token_hash = session.get(SESSION_KEY, "")
    try:
        link = reset.check_link(token_hash)
    except reset.ResetLinkInvalid:
        return _invalid_link()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset.complete_reset(token_hash, form.password.data, ip_address=client_ip())
        except PasswordRejected as rejected:
            form.password.errors.append(rejected.message)
        except reset.ResetLinkInvalid:
            return _invalid_link()
        else:
            session.pop(SESSION_KEY, None)
            flash("Your password was changed and you were signed out everywhere. Sign in with the new one.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/reset_form.html", form=form, email=link.email), status
