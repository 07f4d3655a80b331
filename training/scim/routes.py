"""SCIM 2.0 at /scim/v2 (RFC 7644): SCIM tokens only, never the browser session; JSON in and out."""

from flask import Blueprint, Response, g, json, request
from scim2_models import Context, Error, ListResponse
from werkzeug.exceptions import HTTPException

from training.bearer_tokens import Unauthorized, guard_token_calls, per_token_limit, token_required
from training.client import client_ip
from training.errors import DomainError
from training.extensions import csrf
from training.scim import resources, services, tokens
from training.scim.services import ScimCaller, ScimError
from training.urls import public_url

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)  # a bearer token, which browsers never send on their own, authenticates every call

HTTPS_REQUIRED = (
    "SCIM is served over HTTPS only. Use an https:// tenant URL, and revoke this SCIM token and make a new one: "
    "it crossed the network unencrypted."
)


def base_url() -> str:
    return public_url(bp.url_prefix)


def scim_response(body: dict, status: int = 200, etag: str | None = None) -> Response:
    response = Response(json.dumps(body), status=status, content_type=resources.CONTENT_TYPE)
    if etag:
        response.headers["ETag"] = etag
    return response


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return scim_response(error.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE), status)


guard_token_calls(bp, lambda: error_response(403, HTTPS_REQUIRED))


@bp.before_app_request
def _unrouted_in_scim_format():
    """An unknown SCIM path (Groups, Bulk, /Me: not offered) or method gets a SCIM error, not an HTML page."""
    error = request.routing_exception
    if error is None or not request.path.startswith(f"{bp.url_prefix}/"):
        return None
    if error.code == 405:
        response = error_response(405, f"{request.method} is not allowed on {request.path}.")
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))
        return response
    return error_response(404, f"{request.path} is not offered by this service: see {bp.url_prefix}/ResourceTypes.")


scim_token_required = token_required(tokens.authenticate)
scim_rate = per_token_limit("SCIM_RATE_LIMIT", "scim")


def scim_endpoint(view):
    return scim_token_required(scim_rate(view))


def _caller() -> ScimCaller:
    return ScimCaller(token_id=g.bearer_token_id, ip_address=client_ip())


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    response = error_response(error.status, error.message, getattr(error, "scim_type", None))
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = error.challenge
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    """Werkzeug's own refusals (429 rate limit, 405 method, 413 body too large) in SCIM's error format."""
    response = error_response(error.code or 500, error.description or error.name)
    for name in ("Retry-After", "Allow"):
        if error.get_response().headers.get(name):
            response.headers[name] = error.get_response().headers[name]
    return response


# --- Discovery (RFC 7644 §4) ---------------------------------------------------------------------


@bp.get("/ServiceProviderConfig")
@scim_endpoint
def service_provider_config():
    config = resources.service_provider_config(base_url())
    return scim_response(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@bp.get("/ResourceTypes")
@scim_endpoint
def resource_types():
    return _list_of(resources.resource_types(base_url()))


@bp.get("/ResourceTypes/<name>")
@scim_endpoint
def resource_type(name: str):
    return _one_of(resources.resource_types(base_url()), name, "ResourceType")


@bp.get("/Schemas")
@scim_endpoint
def schemas():
    return _list_of(resources.schemas(base_url()))


@bp.get("/Schemas/<schema_id>")
@scim_endpoint
def schema(schema_id: str):
    return _one_of(resources.schemas(base_url()), schema_id, "Schema")


def _list_of(items: list) -> Response:
    listed = ListResponse[type(items[0])](
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return scim_response(listed.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _one_of(items: list, wanted: str, kind: str) -> Response:
    found = next((item for item in items if item.id == wanted), None)
    if found is None:
        raise ScimError(f"There is no such {kind}.", status=404)
    return scim_response(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


# --- Users -----------------------------------------------------------------------------------------


def _user_response(person: resources.PersonView, status: int = 200) -> Response:
    user = resources.user_resource(person, base_url())
    context = Context.RESOURCE_CREATION_RESPONSE if status == 201 else Context.RESOURCE_QUERY_RESPONSE
    response = scim_response(user.model_dump(scim_ctx=context), status, etag=user.meta.version)
    if status == 201:
        response.headers["Location"] = user.meta.location
    return response


def _check_version(user_id: str) -> None:
    """If-Match (RFC 7644 §3.14): a change based on an older version of the User is refused with 412."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip() != "*":
        current = resources.version(services.get_user(user_id).updated_at)
        if current not in [tag.strip() for tag in wanted.split(",")]:
            raise ScimError("The User changed since that version was read.", status=412)


@bp.get("/Users")
@scim_endpoint
def list_users():
    found = services.search(request.args.get("filter"), request.args.get("startIndex"), request.args.get("count"))
    users = [resources.user_resource(person, base_url()) for person in found.people]
    listed = ListResponse[resources.ScimUser](
        total_results=found.total, start_index=found.start_index, items_per_page=len(users), resources=users
    )
    return scim_response(listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


@bp.post("/Users")
@scim_endpoint
def create_user():
    payload = services.parse_json(request.get_data())
    return _user_response(services.create_user(_caller(), payload, base_url()), 201)


@bp.get("/Users/<user_id>")
@scim_endpoint
def get_user(user_id: str):
    return _user_response(services.get_user(user_id))


@bp.put("/Users/<user_id>")
@scim_endpoint
def replace_user(user_id: str):
    _check_version(user_id)
    payload = services.parse_json(request.get_data())
    return _user_response(services.replace_user(_caller(), user_id, payload, base_url()))


@bp.patch("/Users/<user_id>")
@scim_endpoint
def patch_user(user_id: str):
    _check_version(user_id)
    payload = services.parse_json(request.get_data())
    return _user_response(services.patch_user(_caller(), user_id, payload, base_url()))


@bp.delete("/Users/<user_id>")
@scim_endpoint
def delete_user(user_id: str):
    _check_version(user_id)
    services.delete_user(_caller(), user_id)
    return Response(status=204)


UNSUPPORTED = "Groups, Bulk, Me"


@bp.route(f"/<any({UNSUPPORTED}):resource>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route(f"/<any({UNSUPPORTED}):resource>/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@scim_endpoint
def unsupported(resource: str, rest: str = ""):
    """Groups, Bulk and /Me are not offered (docs/scim.md): a SCIM 404, for any method (no CSRF check here)."""
    raise ScimError(f"/{resource} is not offered by this service: see {bp.url_prefix}/ResourceTypes.", status=404)
