"""The API answers as its OpenAPI document says: schemathesis generates calls to every operation.

The schema is loaded from the running app (the same document integrators download), against a
seeded organisation and a token made on the settings page. Path parameters are drawn both at
random (mostly 404s) and from the people and certificates that exist, so the 200 responses are
checked against their schemas too.
"""

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

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
KNOWN_PEOPLE = ["E001", "E002", "P001", "X001"]


@pytest.fixture
def org(app, auth, make_user, make_requirement, course):
    return seed_org(app, auth, make_user, make_requirement)


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
