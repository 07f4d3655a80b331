"""SCIM 2.0 provisioning at /scim/v2: the request sequences Entra ID and Okta send, scim2-tester's RFC checks,
bad input answered with RFC 7644 §3.12 errors, and the admin pages for SCIM tokens."""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from training import create_app
from training.audit.models import AuditEvent
from training.auth.models import Department, User, UserSession
from training.compliance.models import Obligation
from training.extensions import db
from training.scim.models import ScimToken

SCIM = "/scim/v2"
SCIM_JSON = "application/scim+json"
TOKEN_ON_PAGE = re.compile(r'value="(scim_[A-Za-z0-9_-]{43})"')
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def create_scim_token(app, client, admin_email: str, name: str = "Entra ID provisioning") -> str:
    """Through the admin page, as an admin would; the token appears once on the response."""
    from tests.conftest import Auth

    auth = Auth(client)
    auth.login(admin_email)
    response = auth.post("/settings/scim-tokens", {"name": name}, token_from="/settings/scim-tokens")
    auth.logout()
    assert response.status_code == 200
    return TOKEN_ON_PAGE.search(response.get_data(as_text=True)).group(1)


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", email="admin@example.org", name="Ada Admin")


@pytest.fixture
def token(app, client, admin):
    return create_scim_token(app, client, admin.email)


@pytest.fixture
def scim(client, token):
    """Call /scim/v2 with the SCIM token: scim("POST", "/Users", body)."""

    def call(method, path, body=None, *, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        return client.open(SCIM + path, method=method, data=data, content_type=SCIM_JSON, headers=all_headers)

    return call


def person(app, email):
    with app.app_context():
        found = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if found is not None:
            db.session.expunge(found)
        return found


def table_counts(app) -> tuple:
    with app.app_context():
        counts = [
            db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (User, AuditEvent, Department, Obligation)
        ]
        return (*counts, db.session.execute(select(func.max(User.updated_at))).scalar_one())


def assert_scim_error(response, status, scim_type=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.json
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type


# --- The exact sequences identity providers send ------------------------------------------------


def test_entra_id_sequence_creates_finds_updates_disables_and_deletes_a_user(app, scim, make_user):
    """Microsoft's "Develop and plan provisioning for a SCIM endpoint" requests, in the order Entra sends
    them; userName is a UPN (an email), as real tenants map userPrincipalName to it."""
    manager = make_user(role="manager", email="manager@testuser.com", name="Morgan Manager")
    upn = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com"
    absent = scim("GET", f'/Users?filter=userName eq "{upn}"')
    assert absent.status_code == 200 and absent.json["totalResults"] == 0 and absent.json["Resources"] == []
    created = scim(
        "POST",
        "/Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": upn,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": upn}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
        },
    )
    assert created.status_code == 201, created.json
    user_id = created.json["id"]
    assert created.headers["Location"] == f"https://training.example.org/scim/v2/Users/{user_id}"
    assert created.json["meta"]["version"] == created.headers["ETag"]
    found = scim("GET", f'/Users?filter=userName eq "{upn.upper()}"')
    assert [u["id"] for u in found.json["Resources"]] == [user_id], "userName is compared ignoring case"
    assert scim("GET", f"/Users/{user_id}").json["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert scim("GET", '/Users?filter=userName eq "non-existent user"').json["totalResults"] == 0

    patched = scim(
        "PATCH",
        f"/Users/{user_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Replace", "path": "title", "value": "Staff Nurse"},
                {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-4242"},
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": str(manager.id)},
            ],
        },
    )
    assert patched.status_code == 200, patched.json
    saved = person(app, upn.lower())
    assert (saved.name, saved.job_title, saved.employee_id, saved.manager_id) == (
        "givenName updatedFamilyName",
        "Staff Nurse",
        "E-4242",
        manager.id,
    )
    renamed = scim(
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "userName", "value": "renamed@testuser.com"}]},
    )
    assert renamed.status_code == 200 and renamed.json["userName"] == "renamed@testuser.com"
    removed = scim(
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": f"{ENTERPRISE}:manager"}]},
    )
    assert removed.status_code == 200 and person(app, "renamed@testuser.com").manager_id is None

    disabled = scim(
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert disabled.status_code == 200 and disabled.json["active"] is False
    assert person(app, "renamed@testuser.com").active is False

    assert scim("DELETE", f"/Users/{user_id}").status_code == 204
    assert_scim_error(scim("GET", f"/Users/{user_id}"), 404)
    kept = person(app, "renamed@testuser.com")
    assert kept is not None and kept.active is False and kept.deprovisioned_at is not None, "history kept"


def test_okta_sequence_creates_replaces_and_deactivates_a_user(app, scim):
    """Okta's "SCIM 2.0 protocol reference" requests: lookup with paging, create (with a password we ignore),
    replace with PUT, deactivate with a path-less replace."""
    lookup = scim("GET", "/Users?filter=userName%20eq%20%22test.user%40okta.example.com%22&startIndex=1&count=100")
    assert lookup.status_code == 200 and lookup.json["totalResults"] == 0
    created = scim(
        "POST",
        "/Users",
        {
            "schemas": [CORE],
            "userName": "test.user@okta.example.com",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.example.com", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )
    assert created.status_code == 201, created.json
    user_id = created.json["id"]
    assert "password" not in created.json
    with app.app_context():
        saved = db.session.get(User, int(user_id))
        assert saved.name == "Test User" and saved.external_id == "00ujl29u0le5T6Aj10h7"
        assert saved.password_hash and "1mz050nq" not in saved.password_hash
    body = scim("GET", f"/Users/{user_id}").json
    body["name"] = {"givenName": "Another", "familyName": "User"}
    body["title"] = "Pharmacist"
    replaced = scim("PUT", f"/Users/{user_id}", body)
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["name"]["formatted"] == "Another User" and replaced.json["title"] == "Pharmacist"
    deactivated = scim(
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert deactivated.status_code == 200 and deactivated.json["active"] is False
    reactivated = scim(
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]},
    )
    assert reactivated.json["active"] is True and person(app, "test.user@okta.example.com").active is True


def test_entra_deactivation_ends_the_persons_sessions_at_once(app, scim, make_user):
    from tests.conftest import Auth

    nurse = make_user(email="nurse@example.org")
    browser = app.test_client()
    Auth(browser).login(nurse.email)
    assert browser.get("/").status_code == 200 and "Sign out" in browser.get("/").get_data(as_text=True)
    response = scim(
        "PATCH",
        f"/Users/{nurse.id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert response.status_code == 200 and response.json["active"] is False
    with app.app_context():
        live = db.session.execute(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == nurse.id, UserSession.ended_at.is_(None))
        ).scalar_one()
    assert live == 0
    assert browser.get("/").status_code == 302, "the open session no longer works: back to sign-in"
    assert Auth(app.test_client()).login(nurse.email, PASSWORD).status_code == 401, "sign-in refused"
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "staff.deactivated")).scalars().all()
        token_id = db.session.execute(select(ScimToken.id)).scalar_one()
    assert [(e.actor_id, e.details["channel"], e.details["scim_token_id"]) for e in events] == [
        (None, "scim", token_id)
    ]


def test_enterprise_fields_set_the_department_and_obligations_at_once(app, scim, make_requirement, course, make_user):
    make_user(department="Pharmacy")  # the department exists
    make_requirement(course, department="Pharmacy")
    created = scim(
        "POST",
        "/Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "userName": "Pat.Pharm@Example.org",
            "displayName": "Pat Pharm",
            ENTERPRISE: {"employeeNumber": "P-77", "department": "pharmacy"},
        },
    )
    assert created.status_code == 201, created.json
    assert created.json[ENTERPRISE] == {"employeeNumber": "P-77", "department": "Pharmacy"}
    assert created.json["userName"] == "pat.pharm@example.org"
    with app.app_context():
        saved = db.session.get(User, int(created.json["id"]))
        obligations = db.session.execute(
            select(func.count()).select_from(Obligation).where(Obligation.user_id == saved.id)
        )
        assert saved.employee_id == "P-77" and saved.department.name == "Pharmacy"
        assert obligations.scalar_one() == 1, "the department's course is owed from the moment SCIM creates the person"
    unknown = scim(
        "POST",
        "/Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "userName": "x@example.org",
            "displayName": "X",
            ENTERPRISE: {"department": "Radiology"},
        },
    )
    assert_scim_error(unknown, 400, "invalidValue")
    assert "Radiology" in unknown.json["detail"] and person(app, "x@example.org") is None


def test_unknown_departments_are_created_with_scim_create_departments(app, scim):
    app.config["SCIM_CREATE_DEPARTMENTS"] = True
    body = {
        "schemas": [CORE, ENTERPRISE],
        "userName": "r@example.org",
        "displayName": "R",
        ENTERPRISE: {"department": "Radiology"},
    }
    assert scim("POST", "/Users", body).status_code == 201
    assert person(app, "r@example.org").department_id is not None


# --- Queries ------------------------------------------------------------------------------------


def test_filters_and_pagination(app, scim, make_user):
    people = [make_user(email=f"p{n}@example.org") for n in range(5)]
    with app.app_context():
        db.session.get(User, people[2].id).external_id = "ext-2"
        db.session.commit()
    page = scim("GET", "/Users?startIndex=2&count=2")
    admin_and_people = 6
    assert page.json["totalResults"] == admin_and_people and page.json["startIndex"] == 2
    assert page.json["itemsPerPage"] == 2 and [u["id"] for u in page.json["Resources"]] == [
        str(people[0].id),
        str(people[1].id),
    ]
    counted = scim("GET", "/Users?count=0").json
    assert counted["totalResults"] == admin_and_people and counted.get("Resources", []) == []
    assert [u["id"] for u in scim("GET", '/Users?filter=externalId eq "ext-2"').json["Resources"]] == [
        str(people[2].id)
    ]
    assert scim("GET", '/Users?filter=externalId eq "EXT-2"').json["totalResults"] == 0, "externalId is caseExact"
    assert_scim_error(scim("GET", '/Users?filter=emails[value eq "p3@example.org"]'), 400, "invalidFilter")
    assert [u["id"] for u in scim("GET", '/Users?filter=emails.value eq "P4@example.org"').json["Resources"]] == [
        str(people[4].id)
    ]
    for unsupported in (
        'userName co "p"',
        'userName eq "a@b.org" or userName eq "c@d.org"',
        "displayName pr",
        "userName eq",
    ):
        assert_scim_error(scim("GET", f"/Users?filter={unsupported}"), 400, "invalidFilter")
    assert_scim_error(scim("GET", "/Users?startIndex=abc"), 400, "invalidValue")


def test_discovery_endpoints_describe_what_is_served(scim):
    config = scim("GET", "/ServiceProviderConfig")
    assert config.status_code == 200 and config.mimetype == SCIM_JSON
    assert config.json["patch"]["supported"] is True and config.json["bulk"]["supported"] is False
    assert config.json["sort"]["supported"] is False and config.json["filter"]["supported"] is True
    types = scim("GET", "/ResourceTypes").json["Resources"]
    assert [t["id"] for t in types] == ["User"], "Groups are not offered (docs/scim.md)"
    schemas = {s["id"]: s for s in scim("GET", "/Schemas").json["Resources"]}
    assert set(schemas) == {CORE, ENTERPRISE}
    assert {a["name"] for a in schemas[ENTERPRISE]["attributes"]} == {"employeeNumber", "department", "manager"}
    assert scim("GET", f"/Schemas/{CORE}").json["id"] == CORE
    assert_scim_error(scim("GET", "/Groups"), 404)
    assert_scim_error(scim("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}), 404)
    assert_scim_error(scim("POST", "/ServiceProviderConfig", {}), 405)


def test_scim2_tester_rfc_checks_pass(app, token):
    """scim2-tester's RFC 7643/7644 checks through the WSGI app itself: discovery and misc all pass.

    Its CRUD checks create Users with a random userName (a UUID), which we refuse because userName is the
    person's sign-in email: each of them stops at that one refusal, a 400 invalidValue, which is checked too.
    """
    client = WSGISCIMClient(
        app.wsgi_app, base_url=f"http://localhost{SCIM}", headers={"Authorization": f"Bearer {token}"}
    )
    results = check_server(client, include_tags={"discovery", "misc"})
    failures = [(r.title, r.reason) for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]
    assert len(results) > 5 and not failures
    crud = check_server(client, include_tags={"crud:create"}, resource_types=["User"])
    assert crud and {r.reason for r in crud if r.status == Status.ERROR} <= {
        "Enter a valid email address (An email address must have an @-sign.)."
    }


# --- Bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic YWRtaW46cGFzcw==", "Bearer scim_" + "A" * 43, "Bearer trn_" + "A" * 43],
    ids=["missing", "empty", "basic", "wrong", "api-shaped"],
)
def test_a_call_without_a_valid_scim_token_is_a_scim_401(app, client, token, header):
    before = table_counts(app)
    headers = {"Authorization": header} if header else {}
    body = json.dumps({"schemas": [CORE], "userName": "new@example.org", "displayName": "New"})
    response = client.post(f"{SCIM}/Users", data=body, content_type=SCIM_JSON, headers=headers)
    assert_scim_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert table_counts(app) == before


def test_a_revoked_scim_token_is_refused_and_tokens_do_not_cross_apis(app, client, admin, token, scim):
    from tests.api_fixtures import TOKEN_ON_PAGE as API_TOKEN_ON_PAGE
    from tests.conftest import Auth

    auth = Auth(client)
    auth.login(admin.email)
    api_page = auth.post("/settings/api-tokens", {"name": "Reporting"}, token_from="/settings/api-tokens")
    api_token = API_TOKEN_ON_PAGE.search(api_page.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/compliance", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert_scim_error(client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {api_token}"}), 401)
    with app.app_context():
        token_id = db.session.execute(select(ScimToken.id)).scalar_one()
    auth.post(f"/settings/scim-tokens/{token_id}/revoke", token_from="/settings/scim-tokens")
    assert_scim_error(scim("GET", "/Users"), 401)


@pytest.fixture
def production_app(app):
    """Makes an app configured as production (the default TRAINING_ENV) on the `app` fixture's database;
    made when called, after the `app` fixture's pages have been used (creating the token, say)."""
    shared = ("SQLALCHEMY_DATABASE_URI", "CONTENT_MODULES_DIR", "CONTENT_QUIZZES_DIR", "CERTIFICATE_STORAGE_DIR")
    made = []

    def make():
        made.append(
            create_app(
                {"TESTING": True, "SECRET_KEY": "test secret key", "MFA_REQUIRED": False}
                | {key: app.config[key] for key in shared}
            )
        )
        assert made[-1].config["TRAINING_ENV"] == "production"
        return made[-1]

    yield make
    for production in made:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()


def test_scim_refuses_plain_http_instead_of_redirecting(token, production_app, caplog):
    """ASVS 4.1.2, as for the reporting API: an identity provider calling over plain HTTP gets a SCIM
    error, not the redirect pages get, which would hide that its token crossed the network unencrypted."""
    client = production_app().test_client()
    headers = {"Authorization": f"Bearer {token}"}
    plain = client.get(f"{SCIM}/Users", base_url="http://training.example.org", headers=headers)
    assert_scim_error(plain, 403)
    assert "Location" not in plain.headers and "HTTPS only" in plain.json["detail"]
    security = [r.getMessage() for r in caplog.records if r.name == "training.security" and r.levelname == "WARNING"]
    assert any(line.startswith("https_required ") for line in security)
    assert client.get(f"{SCIM}/Users", base_url="https://training.example.org", headers=headers).status_code == 200


def test_bad_scim_requests_get_scim_errors_and_change_nothing(app, scim, make_user):
    nurse = make_user(email="nurse@example.org", name="Nina Nurse")
    make_user(email="taken@example.org")
    before = table_counts(app)
    cases = [
        (scim("POST", "/Users", raw="{not json"), 400, "invalidSyntax"),
        (scim("POST", "/Users", raw="[1, 2]"), 400, "invalidSyntax"),
        (scim("POST", "/Users", {"schemas": [CORE], "userName": 42, "active": "maybe"}), 400, "invalidSyntax"),
        (
            scim("POST", "/Users", {"schemas": [CORE], "userName": "not an email", "displayName": "X"}),
            400,
            "invalidValue",
        ),
        (
            scim("POST", "/Users", {"schemas": [CORE], "userName": "NURSE@example.org", "displayName": "X"}),
            409,
            "uniqueness",
        ),
        (
            scim(
                "PATCH",
                f"/Users/{nurse.id}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "favouriteColour", "value": "x"}]},
            ),
            400,
            "invalidPath",
        ),
        (
            scim(
                "PATCH",
                f"/Users/{nurse.id}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "Replace", "path": "title", "value": "Changed"},
                        {"op": "Replace", "path": "userName", "value": "taken@example.org"},
                    ],
                },
            ),
            409,
            "uniqueness",
        ),
        (
            scim(
                "PATCH",
                f"/Users/{nurse.id}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "999"}]},
            ),
            400,
            "invalidValue",
        ),
        (scim("PATCH", f"/Users/{nurse.id}", {"schemas": [PATCH_OP], "Operations": "replace"}), 400, "invalidSyntax"),
        (scim("PUT", f"/Users/{nurse.id}", {"schemas": [CORE], "userName": "nurse@example.org"}), 400, "invalidValue"),
        (scim("GET", "/Users/99999"), 404, None),
        (scim("GET", "/Users/abc"), 404, None),
        (scim("DELETE", "/Users/99999"), 404, None),
        (
            scim(
                "PUT",
                f"/Users/{nurse.id}",
                {"schemas": [CORE], "userName": "n@example.org", "displayName": "N"},
                headers={"If-Match": 'W/"1"'},
            ),
            412,
            None,
        ),
    ]
    for response, status, scim_type in cases:
        assert_scim_error(response, status, scim_type)
    assert table_counts(app) == before
    assert person(app, "nurse@example.org").job_title == "Registered Nurse", "half a PATCH is never saved"


def test_hr_and_admin_accounts_are_out_of_scims_reach(app, scim, admin):
    response = scim(
        "PATCH",
        f"/Users/{admin.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "userName", "value": "attacker@evil.example"}],
        },
    )
    assert_scim_error(response, 403)
    assert person(app, admin.email) is not None and person(app, admin.email).active
    assert_scim_error(scim("DELETE", f"/Users/{admin.id}"), 403)


def test_scim_is_rate_limited_per_token(app, client, admin, scim):
    other = create_scim_token(app, client, admin.email, name="Okta")
    app.config["SCIM_RATE_LIMIT"] = "2 per minute"
    assert [scim("GET", "/Users").status_code for _ in range(2)] == [200, 200]
    assert_scim_error(scim("GET", "/ServiceProviderConfig"), 429)
    assert client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_a_deleted_user_provisioned_again_is_the_same_person_reactivated(app, scim, make_user):
    nurse = make_user(email="nurse@example.org", name="Nina Nurse")
    assert scim("DELETE", f"/Users/{nurse.id}").status_code == 204
    assert scim("GET", '/Users?filter=userName eq "nurse@example.org"').json["totalResults"] == 0
    again = scim("POST", "/Users", {"schemas": [CORE], "userName": "nurse@example.org", "displayName": "Nina Nurse"})
    assert again.status_code == 201 and again.json["id"] == str(nurse.id) and again.json["active"] is True
    with app.app_context():
        actions = (
            db.session.execute(
                select(AuditEvent.action).where(AuditEvent.subject_id == str(nurse.id)).order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    assert actions == ["staff.deactivated", "staff.deprovisioned", "staff.reactivated", "staff.updated"]


# --- The admin pages ---------------------------------------------------------------------------------


def test_scim_tokens_are_shown_once_listed_with_last_use_and_audited(app, client, admin, scim, make_user):
    from tests.conftest import Auth

    assert scim("GET", "/Users").status_code == 200
    auth = Auth(client)
    auth.login(admin.email)
    page = client.get("/settings/scim-tokens").get_data(as_text=True)
    assert "Entra ID provisioning" in page and "scim_" in page and not TOKEN_ON_PAGE.search(page), "never shown again"
    assert "Never" not in page, "the last SCIM call is shown"
    with app.app_context():
        stored = db.session.execute(select(ScimToken)).scalar_one()
        assert len(stored.token_hash) == 64 and stored.last_used_at is not None
        actions = (
            db.session.execute(select(AuditEvent.action).where(AuditEvent.subject_type == "scim_token")).scalars().all()
        )
    assert actions == ["scim_token.created"]
    auth.post(f"/settings/scim-tokens/{stored.id}/revoke", token_from="/settings/scim-tokens")
    with app.app_context():
        assert db.session.get(ScimToken, stored.id).revoked_at is not None
    auth.logout()
    hr = make_user(role="hr")
    auth.login(hr.email)
    assert client.get("/settings/scim-tokens").status_code == 403, "admins only"


# --- Random JSON ----------------------------------------------------------------------------------

SCIM_KEYS = st.sampled_from(
    [
        "schemas",
        "userName",
        "name",
        "emails",
        "active",
        "externalId",
        "title",
        "Operations",
        "op",
        "path",
        "value",
        ENTERPRISE,
        "employeeNumber",
        "department",
        "manager",
        "givenName",
        "familyName",
        "formatted",
        "primary",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(SCIM_KEYS | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(body=JSON_VALUES, patch=st.booleans())
def test_random_json_is_answered_with_scim_errors(app, scim, make_user, body, patch):
    """Whatever JSON an identity provider (or anyone with a token) sends: a SCIM answer, never a 500,
    and a refused request changes nothing."""
    target = person(app, "target@example.org") or make_user(email="target@example.org", employee_id="T1")
    before = table_counts(app)
    response = scim("PATCH", f"/Users/{target.id}", body) if patch else scim("POST", "/Users", body)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    if response.status_code >= 400:
        assert response.json["schemas"] == [ERROR]
        assert table_counts(app) == before
