"""The read-only JSON API under /api/v1: bearer tokens only, never the browser session."""

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, url_for

from training.api import openapi, services, tokens
from training.api.params import InvalidParameter, parse_compliance_query
from training.client import client_ip
from training.errors import DomainError
from training.extensions import csrf, limiter
from training.https_redirect import plain_http_under
from training.security_log import security_event

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # GET only, and a bearer token is not sent by browsers on their own

HTTPS_REQUIRED = (
    "The API is served over HTTPS only. Call https://, and ask HR to revoke this token and make a new one: "
    "it crossed the network unencrypted."
)


@bp.before_app_request
def _refuse_plain_http():
    """API calls over plain HTTP get an error, not the redirect pages get (ASVS 4.1.2).

    A redirect would make a misconfigured client work while its token travels unencrypted; an error
    makes the mistake visible. Registered with the blueprint, so it runs before Talisman's redirect
    (set up later, in training.web), and it counts a request as HTTPS exactly as Talisman does.
    """
    if not plain_http_under(bp.url_prefix):
        return None
    security_event("https_required")
    return jsonify(error={"code": "https_required", "message": HTTPS_REQUIRED}), 403


def token_required(view):
    """Authenticate from the Authorization header alone; cookies are never consulted."""

    @wraps(view)
    def guarded(*args, **kwargs):
        g.api_token_id = tokens.authenticate(request.headers.get("Authorization")).id
        return view(*args, **kwargs)

    return guarded


def _caller() -> services.ApiCaller:
    return services.ApiCaller(token_id=g.api_token_id, ip_address=client_ip())


def api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def token_key() -> str:
    return f"api-token:{g.api_token_id}"


# One budget per token across every endpoint, counted after the token is known.
api_rate = limiter.shared_limit(api_rate_limit, scope="api", key_func=token_key)


@bp.errorhandler(DomainError)
def _error(error: DomainError):
    body = {"code": error.code, "message": error.message}
    if isinstance(error, InvalidParameter):
        body["parameter"] = error.parameter
    response = jsonify(error=body)
    response.status_code = error.status
    if isinstance(error, tokens.Unauthorized):
        response.headers["WWW-Authenticate"] = error.challenge
    return response


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/compliance")
@token_required
@api_rate
def compliance():
    query = parse_compliance_query(request.args)
    body = services.compliance_list(query, _caller())
    body["links"] = {
        "next": _page_link(query, query.page + 1) if query.page < body["meta"]["pages"] else None,
        "prev": _page_link(query, min(query.page - 1, body["meta"]["pages"])) if query.page > 1 else None,
    }
    return jsonify(body)


def _page_link(query, page: int) -> str:
    return url_for("api.compliance", **query.as_args(), page=page)


@bp.get("/people/<employee_id>/transcript")
@token_required
@api_rate
def person_transcript(employee_id: str):
    return jsonify(data=services.person_transcript(employee_id, _caller()))


@bp.get("/certificates/<serial>")
@token_required
@api_rate
def certificate(serial: str):
    return jsonify(data=services.certificate(serial, _caller()))


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())
