"""The HR API through HTTP: bearer tokens, the three reads, their filters, and every kind of bad call."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from tests.api_fixtures import bearer, create_token_in_ui, seed_org
from tests.conftest import csrf_token
from training.api.models import ApiToken
from training.api.tokens import INVALID_MESSAGE
from training.audit.models import AuditEvent
from training.db import utcnow
from training.extensions import db


@pytest.fixture
def org(app, auth, make_user, make_requirement, course, saved_worlds):
    return seed_org(app, auth, make_user, make_requirement, saved_worlds)


@pytest.fixture
def token(app, org):
    return create_token_in_ui(app, org.hr_email)


def getter(client, token):
    def get(path, **params):
        return client.get(path, query_string=params or None, headers=bearer(token))

    return get


@pytest.fixture
def api(client, token):
    """GET an API path with a valid token, in the seeded organisation."""
    return getter(client, token)


@pytest.fixture
def bare_token(app, make_user):
    """A valid token in an organisation of one HR person: for calls that fail before any data matters."""
    return create_token_in_ui(app, make_user(role="hr").email)


@pytest.fixture
def bare_api(client, bare_token):
    return getter(client, bare_token)


def token_row(app, name="Payroll sync") -> ApiToken:
    with app.app_context():
        row = db.session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one()
        db.session.expunge(row)
        return row


def revoke_in_ui(client, auth, hr_email, token_id):
    auth.login(hr_email)
    return client.post(
        f"/settings/api-tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/settings/api-tokens")}
    )


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b", "bearer"],
)
def test_a_missing_or_malformed_header_is_401_with_a_bearer_challenge(client, org, header):
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/api/v1/compliance", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer" in response.json["error"]["message"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_token_and_a_revoked_token_get_the_same_answer(app, client, auth, org, token):
    wrong = client.get("/api/v1/compliance", headers=bearer("trn_" + "A" * 43))
    garbage = client.get("/api/v1/compliance", headers=bearer("not-even-a-token"))
    assert revoke_in_ui(client, auth, org.hr_email, token_row(app).id).status_code == 302
    revoked = client.get("/api/v1/compliance", headers=bearer(token))
    for response in (wrong, garbage, revoked):
        assert response.status_code == 401
        assert response.json == {"error": {"code": "unauthorized", "message": INVALID_MESSAGE}}
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_a_browser_session_alone_does_not_open_the_api(client, auth, org):
    auth.login(org.hr_email)
    assert client.get("/settings/api-tokens").status_code == 200, "signed in"
    response = client.get("/api/v1/compliance")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert client.get(f"/api/v1/certificates/{org.serial}").status_code == 401


def test_a_valid_token_works_and_is_marked_used_at_most_once_a_minute(app, api, org):
    assert token_row(app).last_used_at is None
    assert api("/api/v1/compliance").status_code == 200
    first = token_row(app).last_used_at
    assert first is not None
    assert api("/api/v1/people/E001/transcript").status_code == 200
    assert token_row(app).last_used_at == first, "no write within the minute"
    with app.app_context():
        row = db.session.get(ApiToken, token_row(app).id)
        row.last_used_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    assert api("/api/v1/compliance").status_code == 200
    assert token_row(app).last_used_at > first


def test_the_token_header_scheme_is_case_insensitive(client, org, token):
    assert client.get("/api/v1/compliance", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_the_api_is_rate_limited_per_token(app, client, org, token):
    other = create_token_in_ui(app, org.hr_email, name="Second system")
    app.config["API_RATE_LIMIT"] = "2 per minute"
    statuses = [client.get("/api/v1/compliance", headers=bearer(token)).status_code for _ in range(2)]
    limited = client.get(f"/api/v1/certificates/{org.serial}", headers=bearer(token))
    assert statuses == [200, 200]
    assert limited.status_code == 429 and limited.json["error"]["code"] == "too_many_requests"
    assert client.get("/api/v1/compliance", headers=bearer(other)).status_code == 200, "another token has its own"


# --- the compliance list -------------------------------------------------------------------------


def names(response) -> list[str]:
    return [person["name"] for person in response.json["data"]]


def test_the_compliance_list_shows_every_active_person_with_item_statuses(api, org):
    response = api("/api/v1/compliance")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert names(response) == ["Alice Adams", "Bob Brown", "Carol Chen", "Hana Reyes"], "Dave is deactivated"
    alice, bob, carol, hana = body["data"]
    assert alice["employee_id"] == "E001" and alice["department"] == "Emergency" and alice["status"] == "completed"
    course, policy = alice["items"]
    assert course["type"] == "course" and course["slug"] == "test-course" and course["status"] == "completed"
    assert course["status_label"] == "Completed" and course["completed_on"] and course["valid_until"]
    assert policy["type"] == "policy" and policy["slug"] == "social-media" and policy["valid_until"] is None
    assert bob["status"] == "overdue" and {i["status"] for i in bob["items"]} == {"overdue"}
    assert carol["status"] == "expired" and [i["slug"] for i in carol["items"]] == ["test-course"]
    assert hana["employee_id"] is None and hana["status"] == "overdue"
    meta = body["meta"]
    assert meta["total"] == 4 and meta["page"] == 1 and meta["pages"] == 1 and meta["per_page"] == 100
    assert meta["due_soon_days"] == 30 and len(meta["as_of"]) == 10
    assert body["links"] == {"next": None, "prev": None}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"department": "Emergency"}, ["Alice Adams", "Bob Brown"]),
        ({"department": "Pharmacy"}, ["Carol Chen"]),
        ({"status": "overdue"}, ["Bob Brown", "Hana Reyes"]),
        ({"status": "expired"}, ["Carol Chen"]),
        ({"status": "non_compliant"}, ["Bob Brown", "Carol Chen", "Hana Reyes"]),
        ({"status": "completed"}, ["Alice Adams"]),
        ({"item": "policy:social-media"}, ["Alice Adams", "Bob Brown"]),
        ({"item": "course:test-course", "status": "expired"}, ["Carol Chen"]),
        ({"item": "policy:social-media", "status": "overdue"}, ["Bob Brown"]),
        ({"job_title": "pharmacist"}, ["Carol Chen"]),
        ({"q": "e00"}, ["Alice Adams", "Bob Brown"]),
        ({"q": "brown"}, ["Bob Brown"]),
        ({"q": "100%"}, []),
        ({"department": "Emergency", "status": "completed"}, ["Alice Adams"]),
    ],
)
def test_filters(api, org, params, expected):
    response = api("/api/v1/compliance", **params)
    assert response.status_code == 200, response.json
    assert names(response) == expected
    assert response.json["meta"]["total"] == len(expected)


def test_pagination_links_keep_the_filter(api, org):
    first = api("/api/v1/compliance", per_page=1, status="non_compliant")
    assert names(first) == ["Bob Brown"]
    assert first.json["meta"] | {"as_of": None} == {
        "page": 1,
        "per_page": 1,
        "total": 3,
        "pages": 3,
        "as_of": None,
        "due_soon_days": 30,
    }
    assert first.json["links"]["prev"] is None
    second_link = first.json["links"]["next"]
    assert second_link == "/api/v1/compliance?status=non_compliant&per_page=1&page=2"
    second = api(second_link)
    assert names(second) == ["Carol Chen"]
    assert second.json["links"]["prev"] == "/api/v1/compliance?status=non_compliant&per_page=1&page=1"
    last = api(second.json["links"]["next"])
    assert names(last) == ["Hana Reyes"] and last.json["links"]["next"] is None


def test_a_page_past_the_last_is_empty_and_points_back(api, org):
    response = api("/api/v1/compliance", per_page=2, page=9)
    assert response.status_code == 200
    assert response.json["data"] == [] and response.json["meta"]["page"] == 9
    assert response.json["links"] == {"next": None, "prev": "/api/v1/compliance?per_page=2&page=2"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "9" * 30}, "page"),
        ({"per_page": "10000"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"status": "late"}, "status"),
        ({"status": "OVERDUE"}, "status"),
        ({"department": "Nowhere"}, "department"),
        ({"department": "x" * 500}, "department"),
        ({"item": "course:no-such-course"}, "item"),
        ({"item": "policy:no-such-policy"}, "item"),
        ({"item": "course:1"}, "item"),
        ({"item": "test-course"}, "item"),
        ({"item": "quiz:test-course"}, "item"),
        ({"q": "nul\x00byte"}, "q"),
        ({"job_title": "tab\there"}, "job_title"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(bare_api, params, parameter):
    response = bare_api("/api/v1/compliance", **params)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_parameter" and error["parameter"] == parameter
    assert parameter in error["message"]


def test_the_list_runs_a_fixed_number_of_queries(app, api, org, make_user):
    def count_queries(path):
        statements = []
        with app.app_context():
            engine = db.engine

        def record(*_args):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", record)
        try:
            assert api(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    path = "/api/v1/compliance?item=course:test-course&department=Emergency"
    assert api(path).status_code == 200, "marks the token used: a write that later calls skip"
    before = count_queries(path)
    for n in range(6):
        make_user(name=f"Extra {n}", department="Emergency", employee_id=f"E1{n:02d}")
    assert count_queries(path) == before


# --- transcript ----------------------------------------------------------------------------------


def test_a_transcript_by_employee_id(api, org):
    response = api("/api/v1/people/E001/transcript")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    person = response.json["data"]
    assert person["name"] == "Alice Adams" and person["active"] is True and person["hire_date"] == "2020-01-06"
    assert person["status"] == "completed"
    assert [(o["type"], o["slug"], o["status"]) for o in person["obligations"]] == [
        ("course", "test-course", "completed"),
        ("policy", "social-media", "completed"),
    ]
    (completion,) = person["completions"]
    assert completion["course_slug"] == "test-course" and completion["score"] == 100
    assert completion["certificate_serial"] == org.serial and completion["certificate_status"] == "valid"
    assert completion["completed_at"].endswith("Z")
    (attempt,) = person["quiz_attempts"]
    assert attempt["passed"] is True and attempt["score"] == 100 and attempt["submitted_at"]
    (attestation,) = person["attestations"]
    assert attestation == attestation | {"policy_slug": "social-media", "version": 1}


def test_an_open_quiz_attempt_has_no_score_yet(api, org):
    person = api("/api/v1/people/E002/transcript").json["data"]
    assert person["status"] == "overdue" and person["completions"] == [] and person["hire_date"] is None
    (attempt,) = person["quiz_attempts"]
    assert attempt["submitted_at"] is None and attempt["score"] is None and attempt["passed"] is None


def test_a_deactivated_person_keeps_their_history_in_the_api(api, org):
    person = api("/api/v1/people/X001/transcript").json["data"]
    assert person["active"] is False and person["obligations"] == [] and person["status"] is None
    assert len(person["completions"]) == 1 and person["completions"][0]["certificate_status"] == "valid"


def test_an_expired_completion_shows_in_the_transcript(api, org):
    person = api("/api/v1/people/P001/transcript").json["data"]
    assert person["status"] == "expired" and person["completions"][0]["certificate_status"] == "expired"


@pytest.mark.parametrize("employee_id", ["E999", "e001", "%00", "x" * 200, "E001%20"])
def test_an_unknown_employee_id_is_a_json_404(bare_api, make_user, employee_id):
    make_user(employee_id="E001")
    response = bare_api(f"/api/v1/people/{employee_id}/transcript")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# --- certificates --------------------------------------------------------------------------------


def test_a_certificate_by_serial_in_any_spelling(api, org):
    response = api(f"/api/v1/certificates/{org.serial}")
    assert response.status_code == 200
    data = response.json["data"]
    assert data["serial"] == org.serial and data["status"] == "valid" and data["name"] == "Alice Adams"
    assert data["employee_id"] == "E001" and data["course_slug"] == "test-course" and data["revoked_at"] is None
    compact = org.serial.replace("-", "").lower()
    assert api(f"/api/v1/certificates/{compact}").json["data"]["serial"] == org.serial


def test_a_revoked_certificate_says_so(client, auth, api, org):
    auth.login(org.hr_email)
    reason = {"reason": "Completed by someone else, confirmed by the manager."}
    revoked = auth.post(f"/certificates/{org.serial}/revoke", reason, token_from=f"/certificates/{org.serial}")
    assert revoked.status_code == 302
    auth.logout()
    data = api(f"/api/v1/certificates/{org.serial}").json["data"]
    assert data["status"] == "revoked" and data["revoked_at"].endswith("Z")


@pytest.mark.parametrize("serial", ["0000-0000-0000-0000", "not-a-serial", "1", "%00", "Z" * 100])
def test_unknown_and_malformed_serials_are_json_404(bare_api, serial):
    response = bare_api(f"/api/v1/certificates/{serial}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


# --- every /api/ path answers JSON ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/compliance", "/api/", "/api/v1/people/E001"])
def test_unknown_api_paths_are_json_404(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_writes_are_json_405_with_allow(client, bare_token, method):
    response = getattr(client, method)("/api/v1/compliance", headers=bearer(bare_token))
    assert response.status_code == 405 and response.mimetype == "application/json"
    assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]


def test_the_openapi_document_is_public_json(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json["openapi"] == "3.1.0"
    assert set(response.json["paths"]) == {
        "/api/v1/compliance",
        "/api/v1/people/{employee_id}/transcript",
        "/api/v1/certificates/{serial}",
        "/api/v1/openapi.json",
    }


# --- the tokens page -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_hr_and_admins_reach_the_tokens_page(client, auth, make_user, org, role):
    auth.login(make_user(role=role, department="Emergency"))
    assert client.get("/settings/api-tokens").status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/settings/api-tokens", data={"name": "Mine", "csrf_token": token}).status_code == 403
    assert client.post("/settings/api-tokens/1/revoke", data={"csrf_token": token}).status_code == 403
    assert "/settings/api-tokens" not in client.get("/").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/settings/api-tokens")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_admin_can_manage_tokens(app, make_user):
    admin = make_user(role="admin")
    assert create_token_in_ui(app, admin.email, name="Admin's token").startswith("trn_")


def test_the_token_is_shown_once_and_only_its_hash_is_stored(app, client, auth, org):
    auth.login(org.hr_email)
    assert 'href="/settings/api-tokens"' in client.get("/compliance").get_data(as_text=True), "HR sub-navigation link"
    page = client.post(
        "/settings/api-tokens",
        data={"name": "  Payroll   sync ", "csrf_token": csrf_token(client, "/settings/api-tokens")},
    )
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    token = html.split('id="new-token" class="mono token-secret" value="')[1].split('"')[0]
    assert token.startswith("trn_") and len(token) == 47
    assert "only time it is shown" in html
    row = token_row(app)
    assert row.name == "Payroll sync"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:12] and token not in (row.name, row.prefix)
    listing = client.get("/settings/api-tokens").get_data(as_text=True)
    assert token not in listing and row.prefix in listing and "Hana Reyes" in listing
    with app.app_context():
        (created,) = db.session.execute(select(AuditEvent).where(AuditEvent.action == "api_token.created")).scalars()
        assert created.subject_id == str(row.id) and token not in str(created.details)


def test_revoking_stops_the_token_at_once_and_is_audited(app, client, auth, org, token):
    assert client.get("/api/v1/compliance", headers=bearer(token)).status_code == 200
    row = token_row(app)
    response = revoke_in_ui(client, auth, org.hr_email, row.id)
    assert response.status_code == 302 and response.headers["Location"] == "/settings/api-tokens"
    assert client.get("/api/v1/compliance", headers=bearer(token)).status_code == 401
    listing = client.get("/settings/api-tokens").get_data(as_text=True)
    assert "Revoked" in listing and "by Hana Reyes" in listing
    with app.app_context():
        assert db.session.get(ApiToken, row.id).revoked_by_id is not None
        actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.subject_type == "api_token")).scalars()
        assert sorted(actions) == ["api_token.created", "api_token.revoked"]
    again = client.post(
        f"/settings/api-tokens/{row.id}/revoke", data={"csrf_token": csrf_token(client, "/settings/api-tokens")}
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the token a name"),
        ("   ", "Give the token a name"),
        ("x" * 101, "at most 100"),
        ("a\x01b", "letters"),
    ],
)
def test_a_bad_token_name_is_422_and_creates_nothing(app, client, auth, org, name, message):
    auth.login(org.hr_email)
    response = client.post(
        "/settings/api-tokens", data={"name": name, "csrf_token": csrf_token(client, "/settings/api-tokens")}
    )
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(ApiToken)).first() is None


def test_revoking_an_unknown_token_is_404_and_without_csrf_400(client, auth, org):
    auth.login(org.hr_email)
    token = csrf_token(client, "/settings/api-tokens")
    assert client.post("/settings/api-tokens/999/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post("/settings/api-tokens/999/revoke").status_code == 400
    assert client.post("/settings/api-tokens", data={"name": "No CSRF"}).status_code == 400
