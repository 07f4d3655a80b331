"""Sign-in throttling and the sign-in audit trail (ASVS 6.3.1, 16.3.1).

Failed sign-ins (the 401 answer) are counted twice with Flask-Limiter: per client address
(SIGN_IN_RATE_LIMIT_ADDRESS) and per account (SIGN_IN_RATE_LIMIT_ACCOUNT, keyed by the submitted
email however many addresses the guesses come from). A successful sign-in costs nothing, so
nobody is locked out by their own sign-ins. The counts live in RATELIMIT_STORAGE_URI: Redis
(REDIS_URL) shares them between workers and servers. When a limit is reached the sign-in pauses
with the same page, whether or not the account exists.
"""

import hashlib
import math

from flask import current_app, g, render_template, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import user_logged_in

from training.auth import authentication, mfa
from training.auth.users import normalise_email
from training.client import client_ip
from training.extensions import limiter


def _address_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT_ADDRESS"]


def _account_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT_ACCOUNT"]


def submitted_email() -> str:
    return normalise_email(request.form.get("email", ""))[:254]


def email_key() -> str:
    """The submitted email, hashed: the rate-limit store never holds addresses people typed."""
    return "email:" + hashlib.sha256(submitted_email().encode()).hexdigest()


def _failed(response) -> bool:
    return response.status_code == 401


def record_throttled(action: str, which: str) -> None:
    authentication.record_refused(action, submitted_email(), limit=which, ip_address=client_ip())


def wait_minutes(limit: RequestLimit) -> int:
    """The limit's window in whole minutes: the longest anyone waits."""
    return max(1, math.ceil(limit.limit.get_expiry() / 60))


def _paused(limit: RequestLimit, which: str):
    """Audit the refused attempt and answer with the sign-in-paused page (429, Retry-After added)."""
    record_throttled("user.sign_in_throttled", which)
    page = render_template("auth/sign_in_paused.html", minutes=wait_minutes(limit))
    return current_app.make_response((page, 429))


def _failed_sign_ins_limited(limit, key_func, which: str):
    """A limit on failed sign-ins counted by `key_func`; `which` names it in the audit record and its scope."""
    return limiter.limit(
        limit,
        key_func=key_func,
        methods=["POST"],
        deduct_when=_failed,
        on_breach=lambda breached: _paused(breached, which),
        scope=f"sign-in-{which}",
    )


per_address = _failed_sign_ins_limited(_address_limit, get_remote_address, "address")
per_account = _failed_sign_ins_limited(_account_limit, email_key, "account")


@user_logged_in.connect
def _signed_in(app, user, **extra) -> None:
    """Every completed sign-in (Flask-Login's login_user), whichever route completed it.

    An account with two-step sign-in on cannot get here without its second step (mfa_routes).
    """
    method = g.get("sign_in_method", "password")
    authentication.record_signed_in(
        user,
        two_step=mfa.is_enabled(user) and (method == "password" or current_app.config["SSO_RULES"].two_step),
        ip_address=client_ip(),
        method=method,
        authn_context=g.get("sign_in_authn_context", ""),
    )
