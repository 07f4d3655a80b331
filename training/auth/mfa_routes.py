"""Two-step sign-in pages: the second step after the password, the account's own two-step page,
and the gate that keeps a role that requires two-step sign-in on the setup page until it is on."""

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from training.auth import mfa, pending
from training.auth.mfa_forms import CodeForm, DisableForm, RecoveryCodeForm, RegenerateForm, SetupForm
from training.auth.signin import complete_sign_in
from training.client import client_ip
from training.error_pages import error_response, wants_json
from training.errors import FieldRefused
from training.extensions import limiter

bp = Blueprint("mfa", __name__)

SETUP_KEY = "mfa_setup"
ENROL_MESSAGE = "Your role requires two-step sign-in. Set it up to continue."
TIMED_OUT = "Your sign-in timed out or was not started. Enter your email and password again."
TOO_MANY = "Too many wrong codes. Enter your email and password again to get another try."
# Pages a signed-in person who must still set up two-step sign-in can reach; endpoint None is a
# request that matched no route, which gets its 404 or 405 page.
OPEN_WHILE_ENROLLING = {None, "static", "auth.logout", "mfa.setup", "mfa.status"}


# --- throttling: only wrong codes and passwords count (g.mfa_failed) -------------------------------


def _account_limit() -> str:
    return current_app.config["MFA_RATE_LIMIT_ACCOUNT"]


def _address_limit() -> str:
    return current_app.config["MFA_RATE_LIMIT_ADDRESS"]


def _pending_user_key() -> str:
    data = session.get(pending.PENDING_KEY)
    return f"mfa-user:{data.get('user_id') if isinstance(data, dict) else 'none'}"


def _signed_in_user_key() -> str:
    return f"mfa-user:{current_user.id if current_user.is_authenticated else 'none'}"


def _failed(response) -> bool:
    return g.get("mfa_failed", False)


per_pending_user = limiter.shared_limit(
    _account_limit, scope="mfa-account", key_func=_pending_user_key, methods=["POST"], deduct_when=_failed
)
per_address = limiter.shared_limit(_address_limit, scope="mfa-address", methods=["POST"], deduct_when=_failed)
per_signed_in_user = limiter.shared_limit(
    _account_limit, scope="mfa-confirm", key_func=_signed_in_user_key, methods=["POST"], deduct_when=_failed
)


# --- the gate -------------------------------------------------------------------------------------


@bp.before_app_request
def _require_enrolment():
    """Every method, every path: a POST is stopped here before any view (or its CSRF-checked
    form) runs, not only the pages a menu links to."""
    if request.endpoint in OPEN_WHILE_ENROLLING or not current_user.is_authenticated:
        return None
    if not mfa.must_enrol(current_user):
        return None
    if wants_json():
        return error_response(403, "two_step_required", ENROL_MESSAGE)
    flash(ENROL_MESSAGE, "warning")
    return redirect(url_for("mfa.setup"))


# --- the second step of sign-in -------------------------------------------------------------------


@bp.route("/login/two-step", methods=["GET", "POST"])
@per_pending_user
@per_address
def second_step():
    return _second_step(CodeForm(), mfa.verify_code, "mfa/second_step.html")


@bp.route("/login/recovery", methods=["GET", "POST"])
@per_pending_user
@per_address
def recovery():
    return _second_step(RecoveryCodeForm(), mfa.verify_recovery_code, "mfa/recovery.html")


def _second_step(form, verify, template: str):
    if current_user.is_authenticated:
        return redirect(url_for("courses.home"))
    sign_in = pending.current()
    if sign_in is None:
        flash(TIMED_OUT, "info")
        return redirect(url_for("auth.login"))
    status = 200
    if form.validate_on_submit():
        outcome = verify(sign_in.user_id, form.code.data, since=sign_in.started_at, ip_address=client_ip())
        if outcome.user is not None:
            return _signed_in(outcome, sign_in)
        if outcome.gone:
            pending.drop()
            flash(TIMED_OUT, "info")
            return redirect(url_for("auth.login"))
        g.mfa_failed = True
        if outcome.locked:
            pending.drop()
            flash(TOO_MANY, "warning")
            return redirect(url_for("auth.login"))
        form.code.errors.append(mfa.WRONG_CODE)
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template(template, form=form), status


def _signed_in(outcome: mfa.SecondStep, sign_in: pending.PendingSignIn):
    response = complete_sign_in(
        outcome.user, next_path=sign_in.next_path, remember=sign_in.remember, method=sign_in.method
    )
    if outcome.codes_left is not None and outcome.codes_left <= mfa.LOW_RECOVERY_CODES:
        flash(
            f"You have {outcome.codes_left} recovery code{'' if outcome.codes_left == 1 else 's'} left. "
            "Create new ones on your Two-step sign-in page.",
            "warning",
        )
    return response


# --- the account's two-step sign-in ---------------------------------------------------------------


@bp.route("/account/two-step")
@login_required
def status():
    return _status_page()


def _status_page(regenerate_form: RegenerateForm | None = None, disable_form: DisableForm | None = None):
    forms = {
        "regenerate_form": regenerate_form or RegenerateForm(formdata=None, prefix="regenerate"),
        "disable_form": disable_form or DisableForm(formdata=None, prefix="disable"),
    }
    failed = regenerate_form is not None or disable_form is not None
    return render_template("mfa/status.html", status=mfa.status(current_user), **forms), 422 if failed else 200


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@login_required
@per_signed_in_user
def setup():
    """The secret waits, encrypted, in the session until a code from it is confirmed."""
    if mfa.is_enabled(current_user):
        flash("Two-step sign-in is already on.", "info")
        return redirect(url_for("mfa.status"))
    form = SetupForm()
    secret = mfa.open_setup_token(session.get(SETUP_KEY))
    if secret is None:
        secret, session[SETUP_KEY] = mfa.new_setup()
        if form.is_submitted():
            form.form_errors.append("Setup took too long, so this is a new key. Add it to your app again.")
    elif form.validate_on_submit():
        try:
            codes = mfa.enable(current_user, secret, form.code.data, form.password.data, ip_address=client_ip())
        except FieldRefused as failed:
            g.mfa_failed = True
            failed.attach_to(form)
        else:
            session.pop(SETUP_KEY, None)
            return render_template("mfa/recovery_codes.html", codes=codes, first=True)
    page = render_template("mfa/setup.html", form=form, enrolment=mfa.enrolment(current_user, secret))
    return page, 422 if form.errors else 200


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
@per_signed_in_user
def regenerate():
    form = RegenerateForm(prefix="regenerate")
    if form.validate_on_submit():
        try:
            codes = mfa.regenerate_recovery_codes(current_user, form.password.data, ip_address=client_ip())
        except FieldRefused as failed:
            g.mfa_failed = True
            failed.attach_to(form)
        else:
            return render_template("mfa/recovery_codes.html", codes=codes, first=False)
    return _status_page(regenerate_form=form)


@bp.route("/account/two-step/disable", methods=["POST"])
@login_required
@per_signed_in_user
def disable():
    form = DisableForm(prefix="disable")
    if form.validate_on_submit():
        try:
            mfa.disable(current_user, form.password.data, form.code.data, ip_address=client_ip())
        except FieldRefused as failed:
            g.mfa_failed = True
            failed.attach_to(form)
        else:
            flash("Two-step sign-in is off. Your recovery codes no longer work.", "success")
            return redirect(url_for("mfa.status"))
    return _status_page(disable_form=form)
