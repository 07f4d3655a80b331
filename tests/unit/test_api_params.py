"""The API's query parameters, checked without an app."""

import pytest

from training.api.openapi import document
from training.api.params import (
    DEFAULT_PER_PAGE,
    NON_COMPLIANT,
    ComplianceQuery,
    InvalidParameter,
    parse_compliance_query,
)
from training.api.tokens import TOKEN_PATTERN, bearer_token
from training.bearer_tokens import Unauthorized
from training.compliance import rules


def test_defaults():
    assert parse_compliance_query({}) == ComplianceQuery(page=1, per_page=DEFAULT_PER_PAGE)


def test_values_are_trimmed_and_the_item_split():
    query = parse_compliance_query(
        {"q": "  ann ", "department": "ICU", "item": "policy:social-media", "status": "due_soon", "page": "3"}
    )
    assert (query.q, query.department, query.item_kind, query.item_slug) == ("ann", "ICU", "policy", "social-media")
    assert (query.status, query.page) == ("due_soon", 3)


def test_surrounding_whitespace_is_not_a_control_character():
    assert parse_compliance_query({"department": " ICU\n"}).department == "ICU"


def test_links_repeat_only_what_was_asked():
    query = parse_compliance_query({"item": "course:hipaa", "per_page": "20", "q": ""})
    assert query.as_args() == {"item": "course:hipaa", "per_page": 20}


@pytest.mark.parametrize("status", [*rules.STATUSES, NON_COMPLIANT])
def test_every_status_code_is_accepted(status):
    assert parse_compliance_query({"status": status}).status == status


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"page": "0"}, "page"),
        ({"page": "+1"}, "page"),
        ({"page": "1_0"}, "page"),
        ({"page": "²"}, "page"),
        ({"page": "1" * 10}, "page"),
        ({"per_page": "501"}, "per_page"),
        ({"per_page": "1e2"}, "per_page"),
        ({"status": "Overdue"}, "status"),
        ({"item": "course:"}, "item"),
        ({"item": "module:intro"}, "item"),
        ({"item": "course:" + "a" * 65}, "item"),
        ({"q": "a" * 201}, "q"),
        ({"job_title": "x\x00"}, "job_title"),
    ],
)
def test_invalid_values_name_their_parameter(args, parameter):
    with pytest.raises(InvalidParameter) as error:
        parse_compliance_query(args)
    assert error.value.parameter == parameter and error.value.status == 422
    assert parameter in error.value.message


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer a b", "Token x"])
def test_headers_that_carry_no_bearer_token(header):
    with pytest.raises(Unauthorized) as error:
        bearer_token(header)
    assert error.value.challenge.startswith("Bearer")


def test_the_bearer_token_is_taken_as_sent():
    assert bearer_token("Bearer  trn_abc ") == "trn_abc"
    assert not TOKEN_PATTERN.fullmatch("trn_abc")


def test_the_document_allows_exactly_the_status_filters_the_parser_accepts():
    (status,) = [p for p in document()["paths"]["/api/v1/compliance"]["get"]["parameters"] if p["name"] == "status"]
    assert status["schema"]["enum"] == [*rules.STATUSES, NON_COMPLIANT]


def test_the_non_compliant_filter_is_the_compliance_services_own():
    from training.compliance.people import NON_COMPLIANT_FILTER

    assert NON_COMPLIANT == NON_COMPLIANT_FILTER
