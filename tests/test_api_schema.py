"""The API answers as its OpenAPI document says: schemathesis generates calls to every operation.

The schema is loaded from the running app (the same document integrators download), against a
seeded organisation and a token made on the settings page. Path parameters are drawn both at
random (mostly 404s) and from the people and certificates that exist, so the 200 responses are
checked against their schemas too.
"""

from urllib.parse import quote_from_bytes

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_fixtures import bearer, create_token_in_ui, seed_org
from training.api.models import ApiToken

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
KNOWN_PEOPLE = ["E001", "E002", "P001", "X001"]


@pytest.fixture
def org(app, auth, make_user, make_requirement, course, saved_worlds):
    return seed_org(app, auth, make_user, make_requirement, saved_worlds)


@pytest.fixture
def token(app, org):
    return create_token_in_ui(app, org.hr_email)


@pytest.fixture
def api_schema(app, org, token):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def strategies(operation, org) -> list:
    """Valid and invalid generated calls (some without a token: 401s), and calls for real records."""
    generated = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
    if "{employee_id}" in operation.path:
        known = st.sampled_from(KNOWN_PEOPLE).map(lambda e: {"employee_id": e})
    elif "{serial}" in operation.path:
        known = st.sampled_from([org.serial, org.serial.replace("-", "").lower()]).map(lambda s: {"serial": s})
    else:
        return generated
    return [*generated, known.flatmap(lambda values: operation.as_strategy(path_parameters=values))]


def test_every_operation_conforms_to_the_document(api_schema, org, token):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} == {
        "/api/v1/compliance",
        "/api/v1/people/{employee_id}/transcript",
        "/api/v1/certificates/{serial}",
    }, "schemathesis leaves out the document's own address"
    for operation in operations:
        for strategy in strategies(operation, org):

            @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def check(case):
                case.call_and_validate(headers=bearer(token), checks=CHECKS)

            check()


def test_real_records_and_errors_conform(api_schema, org, token):
    """The same checks on chosen calls: each person, a certificate, list pages and error answers."""
    transcript = api_schema["/api/v1/people/{employee_id}/transcript"]["GET"]
    certificate = api_schema["/api/v1/certificates/{serial}"]["GET"]
    compliance = api_schema["/api/v1/compliance"]["GET"]
    calls = [
        *(transcript.Case(path_parameters={"employee_id": e}) for e in [*KNOWN_PEOPLE, "E404"]),
        certificate.Case(path_parameters={"serial": org.serial}),
        certificate.Case(path_parameters={"serial": "0000-0000-0000-0000"}),
        compliance.Case(query={}),
        compliance.Case(query={"status": "non_compliant", "page": 2, "per_page": 1}),
        compliance.Case(query={"page": 50}),
        compliance.Case(query={"per_page": 10_000}),
        compliance.Case(query={"department": "Nowhere"}),
    ]
    statuses = [case.call_and_validate(headers=bearer(token), checks=CHECKS).status_code for case in calls]
    assert statuses == [200, 200, 200, 200, 404, 200, 404, 200, 200, 200, 422, 422]
    unauthorized = compliance.Case().call_and_validate(headers=bearer("trn_wrong"), checks=CHECKS)
    assert unauthorized.status_code == 401


# --- what schemathesis does not send: odd Authorization headers and raw, hostile query strings ----

PARAMETERS = ["page", "per_page", "status", "department", "job_title", "item", "q", "sort", "order", "from", "to"]
HOSTILE = [
    "",
    "-1",
    "0",
    "1e3",
    "2147483648",
    "9" * 40,
    "\u00b2",
    "\uff11",
    "1;2",
    "2024-02-30",
    "9999-12-31",
    "non_compliant",
    "course:",
    "course:test-course",
    "policy:\u202eevil",
    "\x00",
    "\ud800",
    "<script>",
    "' OR 1=1 --",
    "x" * 300,
]
value_bytes = st.one_of(
    st.sampled_from(HOSTILE).map(lambda v: v.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
    st.text(max_size=20).map(str.encode),
)
# Query strings as sent on the wire: percent-encoded bytes (invalid UTF-8 included), repeated
# names, and now and then a broken escape.
query_strings = st.lists(
    st.tuples(st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=8)).map(str.encode), value_bytes),
    max_size=5,
).map(lambda pairs: "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs))
query_strings = st.one_of(query_strings, st.sampled_from(["%", "%zz", "page=%FF%FE", "&&==&", "per_page=1&per_page=x"]))
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)


def authorizations(token: str, revoked: str):
    """The valid token half the time, so the hostile query strings reach the parameter checks."""
    valid = st.sampled_from([f"Bearer {token}", f"bearer {token}", f"BEARER  {token}  "])
    return st.one_of(
        valid,
        valid,
        valid,
        st.none(),
        st.sampled_from(
            [
                "",
                "Bearer",
                "Bearer ",
                f"bearer {token}",
                f"BEARER  {token}  ",
                f"Bearer {token} {token}",
                f"Bearer {token}x",
                f"Bearer {token[:-1]}",
                f"Bearer {revoked}",
                f"Basic {token}",
                "Bearer trn_" + "A" * 43,
                "Bearer " + "a" * 8000,
                f"Token {token}",
            ]
        ),
        header_text,
        header_text.map(lambda t: f"Bearer {t}"),
    )


PATHS = st.one_of(
    st.just("/api/v1/compliance"),
    st.just("/api/v1/compliance"),
    st.just("/api/v1/compliance"),
    value_bytes.map(lambda v: f"/api/v1/people/{quote_from_bytes(v, safe='')}/transcript"),
    value_bytes.map(lambda v: f"/api/v1/certificates/{quote_from_bytes(v, safe='')}"),
    st.sampled_from(["/api/v1/people/E001/transcript", "/api/v1/nothing-here", "/api/v2/compliance", "/api/"]),
)


def test_hostile_headers_and_parameters_get_json_errors_never_a_500(app, org, token):
    """Any header, path and query string: below 500, JSON, and every error in the documented shape."""
    revoked = create_token_in_ui(app, org.hr_email, name="Old sync")
    client = app.test_client()
    with app.app_context():
        from training.api.tokens import revoke_token
        from training.auth.models import User
        from training.extensions import db

        hr = db.session.execute(db.select(User).where(User.email == org.hr_email)).scalar_one()
        revoke_token(hr, db.session.execute(db.select(ApiToken.id).where(ApiToken.name == "Old sync")).scalar_one())

    @settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(
        path=PATHS,
        query=query_strings,
        authorization=authorizations(token, revoked),
        method=st.sampled_from(["GET", "GET", "GET", "GET", "GET", "HEAD", "POST", "DELETE"]),
    )
    def call(path, query, authorization, method):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = client.open(path, method=method, query_string=query, headers=headers)
        assert response.status_code < 500, (path, query, authorization)
        if method == "HEAD":
            return
        assert response.mimetype == "application/json", (path, response.status_code)
        if response.status_code >= 400:
            error = response.json["error"]
            assert isinstance(error["code"], str) and error["code"]
            assert isinstance(error["message"], str) and error["message"]
            if response.status_code == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert "data" in response.json

    call()
