"""The read-only JSON API under /api/v1: bearer tokens only, never the browser session."""

from flask import Blueprint, g, jsonify, request, url_for

from training.api import openapi, services, tokens
from training.api.params import InvalidParameter, parse_compliance_query
from training.bearer_tokens import Unauthorized, guard_token_calls, per_token_limit, token_required
from training.client import client_ip
from training.errors import DomainError
from training.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # GET only, and a bearer token is not sent by browsers on their own

HTTPS_REQUIRED = (
    "The API is served over HTTPS only. Call https://, and ask HR to revoke this token and make a new one: "
    "it crossed the network unencrypted."
)


guard_token_calls(bp, lambda: (jsonify(error={"code": "https_required", "message": HTTPS_REQUIRED}), 403))
api_token_required = token_required(tokens.authenticate)
api_rate = per_token_limit("API_RATE_LIMIT", "api")


def _caller() -> services.ApiCaller:
    return services.ApiCaller(token_id=g.bearer_token_id, ip_address=client_ip())


@bp.errorhandler(DomainError)
def _error(error: DomainError):
    body = {"code": error.code, "message": error.message}
    if isinstance(error, InvalidParameter):
        body["parameter"] = error.parameter
    response = jsonify(error=body)
    response.status_code = error.status
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = error.challenge
    return response


@bp.get("/compliance")
@api_token_required
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
@api_token_required
@api_rate
def person_transcript(employee_id: str):
    return jsonify(data=services.person_transcript(employee_id, _caller()))


@bp.get("/certificates/<serial>")
@api_token_required
@api_rate
def certificate(serial: str):
    return jsonify(data=services.certificate(serial, _caller()))


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())
