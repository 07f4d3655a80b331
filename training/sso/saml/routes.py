"""SAML 2.0 endpoints: start a sign-in, the assertion consumer service (ACS), our metadata, logout's return.

The ACS receives a cross-site POST from the IdP, which carries no SameSite=Lax cookie, so the
AuthnRequest's ID travels in a cookie of its own (`SameSite=None; Secure` in production), signed
with SECRET_KEY and good for REQUEST_MINUTES: a response is accepted only in the browser that
started the sign-in (no login CSRF, no unsolicited responses).
"""

from flask import Blueprint, Response, current_app, flash, make_response, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from training.extensions import csrf
from training.sso.saml import services, sp
from training.sso.signin import finish_sso_sign_in, sso_refused_page
from training.urls import is_safe_next

bp = Blueprint("saml", __name__, url_prefix="/sso/saml")
REQUEST_MINUTES = 15


@bp.get("/login")
def login():
    next_path = request.args.get("next", "")
    try:
        started = services.start_sign_in()
    except services.SamlRejected as refusal:
        return _refused(refusal, status=503)
    answer = redirect(started.redirect_url)
    state = {"id": started.request_id, "next": next_path if is_safe_next(next_path) else ""}
    answer.set_cookie(_cookie_name(), _serializer().dumps(state), max_age=REQUEST_MINUTES * 60, **_cookie_flags())
    return answer


@bp.post("/acs")
@csrf.exempt  # the IdP's form posts here; the signed response and the request cookie stand in for a token
def acs():
    state = _request_state()
    try:
        signed_in = services.read_response(request.form.get("SAMLResponse", ""), state.get("id"))
    except services.SamlRejected as refusal:
        answer = _refused(refusal, status=400)
    else:
        next_path = state.get("next") or None
        answer = make_response(finish_sso_sign_in(signed_in.identity, next_path=next_path, logout=signed_in.logout))
    answer.delete_cookie(_cookie_name(), **_cookie_flags())
    return answer


@bp.get("/metadata")
def metadata():
    return Response(sp.sp_metadata_xml(), mimetype="application/samlmetadata+xml")


@bp.get("/sls")
def single_logout_return():
    """Where the IdP sends people back after single logout; our own session has already ended."""
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


def _refused(refusal: services.SamlRejected, *, status: int) -> Response:
    """A clear page, and the refusal logged as security event `sso_rejected` with its reason."""
    return make_response(sso_refused_page(refusal.message, protocol="saml", reason=refusal.reason, status=status))


def _request_state() -> dict:
    raw = request.cookies.get(_cookie_name(), "")
    try:
        state = _serializer().loads(raw, max_age=REQUEST_MINUTES * 60) if raw else {}
    except BadSignature:
        return {}
    return state if isinstance(state, dict) else {}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="saml-authn-request")


def _cookie_name() -> str:
    return "__Host-saml-request" if current_app.config["SESSION_COOKIE_SECURE"] else "saml-request"


def _cookie_flags() -> dict:
    """Sent with the IdP's cross-site POST: SameSite=None, which browsers take only with Secure (HTTPS)."""
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    return {"path": "/", "secure": secure, "httponly": True, "samesite": "None" if secure else "Lax"}
