"""The OpenAPI 3.1 description of the API, built from small schema helpers (pure).

It is the contract that `api.services` fulfils: tests run schemathesis against it, so a field
added to a response without being described here fails the suite.
"""

from functools import cache

from training.api.params import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, STATUS_VALUES, TEXT_LIMITS
from training.certificates import rules as certificate_rules
from training.compliance import rules

API_VERSION = "1.0.0"
SECURITY_SCHEME = "bearerToken"


# --- schema helpers ------------------------------------------------------------------------------


def string(**extra) -> dict:
    return {"type": "string", **extra}


def integer(**extra) -> dict:
    return {"type": "integer", **extra}


def boolean() -> dict:
    return {"type": "boolean"}


def day() -> dict:
    return string(format="date")


def moment() -> dict:
    return string(format="date-time")


def nullable(schema: dict) -> dict:
    """The same schema, also allowing null (JSON Schema 2020-12: a list of types)."""
    result = dict(schema, type=[schema["type"], "null"])
    if "enum" in result:
        result["enum"] = [*result["enum"], None]
    return result


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def obj(properties: dict, description: str = "") -> dict:
    """An object whose every property is always present (nullable ones as null), and nothing else."""
    schema = {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}
    return {"description": description, **schema} if description else schema


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def response(description: str, schema: dict, headers: dict | None = None) -> dict:
    result = {"description": description, "content": json_content(schema)}
    return result | ({"headers": headers} if headers else {})


def query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": string(minLength=1)}


# --- schemas -------------------------------------------------------------------------------------

STATUS = string(enum=list(rules.STATUSES))
STATUS_LABEL = string(enum=[rules.LABELS[s] for s in rules.STATUSES])

SCHEMAS = {
    "Error": obj(
        {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": string(description="Stable, for programs: unauthorized, not_found, invalid_parameter..."),
                    "message": string(description="For people: what was wrong and how to fix the call."),
                    "parameter": string(description="The query parameter at fault (422 only)."),
                },
                "additionalProperties": False,
            }
        }
    ),
    "Obligation": obj(
        {
            "type": string(enum=["course", "policy"]),
            "slug": string(),
            "title": string(),
            "status": STATUS,
            "status_label": STATUS_LABEL,
            "due_on": day(),
            "completed_on": nullable(day()),
            "valid_until": nullable(day()),
        },
        "One required course or policy for one person, with its status on `meta.as_of`.",
    ),
    "PersonCompliance": obj(
        {
            "employee_id": nullable(string()),
            "name": string(),
            "email": string(),
            "department": nullable(string()),
            "job_title": string(),
            "status": nullable(STATUS) | {"description": "The worst status of the person's items; null for none."},
            "items": array(ref("Obligation")),
        }
    ),
    "ComplianceList": obj(
        {
            "data": array(ref("PersonCompliance")),
            "meta": obj(
                {
                    "page": integer(minimum=1),
                    "per_page": integer(minimum=1, maximum=MAX_PER_PAGE),
                    "total": integer(minimum=0),
                    "pages": integer(minimum=1),
                    "as_of": day() | {"description": "Today in the organisation's timezone: statuses are on this day."},
                    "due_soon_days": integer(minimum=0),
                }
            ),
            "links": obj(
                {
                    "next": nullable(string(description="Path and query of the next page; null on the last.")),
                    "prev": nullable(string(description="Path and query of the previous page; null on the first.")),
                }
            ),
        }
    ),
    "Completion": obj(
        {
            "course_slug": string(),
            "course_title": string(),
            "course_version": integer(),
            "completed_at": moment(),
            "expires_at": moment(),
            "score": integer(minimum=0, maximum=100),
            "certificate_serial": nullable(string()),
            "certificate_status": nullable(string(enum=list(certificate_rules.STATUS_LABELS))),
        }
    ),
    "QuizAttempt": obj(
        {
            "course_slug": string(),
            "course_title": string(),
            "started_at": moment(),
            "submitted_at": nullable(moment()),
            "score": nullable(integer(minimum=0, maximum=100)),
            "passed": nullable(boolean()),
        }
    ),
    "Attestation": obj(
        {"policy_slug": string(), "policy_title": string(), "version": integer(minimum=1), "attested_at": moment()}
    ),
    "Transcript": obj(
        {
            "data": obj(
                {
                    "employee_id": string(),
                    "name": string(),
                    "email": string(),
                    "department": nullable(string()),
                    "job_title": string(),
                    "active": boolean() | {"description": "False for deactivated staff: history kept, no obligations."},
                    "hire_date": nullable(day()),
                    "status": nullable(STATUS),
                    "obligations": array(ref("Obligation")),
                    "completions": array(ref("Completion")),
                    "quiz_attempts": array(ref("QuizAttempt")),
                    "attestations": array(ref("Attestation")),
                }
            )
        }
    ),
    "Certificate": obj(
        {
            "data": obj(
                {
                    "serial": string(description="Display form, such as 7KQ2-M9XD-4HRT-B3VW."),
                    "status": string(enum=list(certificate_rules.STATUS_LABELS)),
                    "name": string(description="The name on the certificate, as issued."),
                    "employee_id": nullable(string()),
                    "course_slug": string(),
                    "course_title": string(),
                    "course_version": integer(),
                    "score": integer(minimum=0, maximum=100),
                    "completed_at": moment(),
                    "issued_at": moment(),
                    "expires_at": moment(),
                    "revoked_at": nullable(moment()),
                }
            )
        }
    ),
}

# --- responses and operations --------------------------------------------------------------------

ERROR = ref("Error")
UNAUTHORIZED = response(
    "No token, a malformed Authorization header, or a wrong or revoked token.",
    ERROR,
    {"WWW-Authenticate": {"description": "Bearer challenge (RFC 6750).", "schema": string()}},
)
RATE_LIMITED = response("Too many requests with this token; retry after the window.", ERROR)


def operation(operation_id: str, summary: str, ok: dict, parameters: list, errors: dict) -> dict:
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": {"200": ok, "401": UNAUTHORIZED, **errors, "429": RATE_LIMITED},
    }


COMPLIANCE_PARAMETERS = [
    query("q", "Part of a name, email or employee id.", string(maxLength=TEXT_LIMITS["q"])),
    query("department", "A department's exact name.", string(maxLength=TEXT_LIMITS["department"])),
    query("job_title", "A job title (any case).", string(maxLength=TEXT_LIMITS["job_title"])),
    query(
        "item",
        "Only people required to do this course or policy: course:<slug> or policy:<slug>.",
        string(pattern="^(course|policy):.+$", maxLength=71),
    ),
    query(
        "status",
        "Only people with an item in this status; non_compliant is overdue or expired.",
        string(enum=list(STATUS_VALUES)),
    ),
    query("page", "Page number, from 1.", integer(minimum=1, maximum=MAX_PAGE, default=1)),
    query("per_page", "People per page.", integer(minimum=1, maximum=MAX_PER_PAGE, default=DEFAULT_PER_PAGE)),
]


@cache
def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Staff training compliance API",
            "version": API_VERSION,
            "description": "Read-only compliance data for HR systems. Create a token under Settings, API tokens "
            "(HR and admins) and send it as `Authorization: Bearer <token>`.",
        },
        "security": [{SECURITY_SCHEME: []}],
        "paths": {
            "/api/v1/compliance": {
                "get": operation(
                    "listCompliance",
                    "Active people with their status per required course and policy, by name.",
                    response("One page of people.", ref("ComplianceList")),
                    COMPLIANCE_PARAMETERS,
                    {"422": response("A parameter is not valid; `error.parameter` names it.", ERROR)},
                )
            },
            "/api/v1/people/{employee_id}/transcript": {
                "get": operation(
                    "getTranscript",
                    "One person's obligations, completions, quiz attempts and attestations: the whole record, unpaged.",
                    response("The transcript.", ref("Transcript")),
                    [path("employee_id", "The organisation's employee id.")],
                    {"404": response("No person has this employee id.", ERROR)},
                )
            },
            "/api/v1/certificates/{serial}": {
                "get": operation(
                    "getCertificate",
                    "A certificate by serial, with its status today.",
                    response("The certificate.", ref("Certificate")),
                    [path("serial", "The serial, with or without dashes.")],
                    {"404": response("No certificate has this serial, or it is not a serial.", ERROR)},
                )
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document. No token needed.",
                    "security": [],
                    "responses": {"200": response("The OpenAPI document.", {"type": "object"})},
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "description": "A token starting trn_."}
            },
        },
    }
