"""Access, error pages and headers across the app's routes."""

import gc
import io
import re
import sys

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from training.auth.models import Department
from training.extensions import db

LEARNER_PAGES = [
    "/",
    "/courses/test-course",
    "/courses/test-course/modules/intro",
    "/courses/test-course/attempts",
    "/transcript",
    "/policies",
    "/account",
    "/account/sessions",
    "/account/password",
]


def test_every_route_is_listed_here(app):
    """A new route must be added to the access tests below."""
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert rules == {
        "/",
        "/login",
        "/logout",
        "/password/forgot",
        "/password/reset/<token>",
        "/password/reset",
        "/login/two-step",
        "/login/recovery",
        "/account/two-step",
        "/account/two-step/setup",
        "/account/two-step/recovery-codes",
        "/account/two-step/disable",
        "/staff/<int:user_id>/two-step/reset",
        "/account",
        "/account/sessions",
        "/account/sessions/<int:session_id>/end",
        "/account/sessions/end-others",
        "/account/password",
        "/courses/<slug>",
        "/courses/<slug>/modules/<module_slug>",
        "/courses/<slug>/modules/<module_slug>/complete",
        "/courses/<slug>/attempts",
        "/courses/<slug>/quiz",
        "/attempts/<int:attempt_id>",
        "/transcript",
        "/certificates",
        "/certificates/export",
        "/certificates/<serial>",
        "/certificates/<serial>.pdf",
        "/certificates/<serial>/revoke",
        "/verify",
        "/verify/<serial>",
        "/verify/<serial>.json",
        "/compliance",
        "/compliance/people",
        "/compliance/people/<int:user_id>",
        "/compliance/requirements",
        "/compliance/requirements/<int:requirement_id>/retire",
        "/policies",
        "/policies/<slug>",
        "/policies/<slug>/attest",
        "/policies/manage",
        "/policies/manage/new",
        "/policies/manage/<slug>",
        "/policies/manage/<slug>/publish",
        "/policies/manage/<slug>/versions/<int:number>",
        "/policies/manage/<slug>/courses",
        "/policies/manage/<slug>/courses/<int:course_id>/unlink",
        "/policies/manage/<slug>/retire",
        "/reminders",
        "/compliance/export.csv",
        "/compliance/export.xlsx",
        "/compliance/people/<int:user_id>/transcript.pdf",
        "/compliance/packet",
        "/exports/<int:job_id>",
        "/exports/<int:job_id>/download",
        "/staff",
        "/staff/new",
        "/staff/<int:user_id>/edit",
        "/staff/<int:user_id>/deactivate",
        "/staff/<int:user_id>/reactivate",
        "/staff/<int:user_id>/sign-out",
        "/staff/<int:user_id>/sso/<int:link_id>/unlink",
        "/staff/departments",
        "/staff/departments/<int:department_id>/rename",
        "/staff/import",
        "/staff/import/apply",
        "/settings/api-tokens",
        "/settings/api-tokens/<int:token_id>/revoke",
        "/api/v1/compliance",
        "/api/v1/people/<employee_id>/transcript",
        "/api/v1/certificates/<serial>",
        "/api/v1/openapi.json",
        "/admin/integrations",
        "/settings/scim-tokens",
        "/settings/scim-tokens/<int:token_id>/revoke",
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/ResourceTypes",
        "/scim/v2/ResourceTypes/<name>",
        "/scim/v2/Schemas",
        "/scim/v2/Schemas/<schema_id>",
        "/scim/v2/Users",
        "/scim/v2/Users/<user_id>",
        "/scim/v2/<any(Groups, Bulk, Me):resource>",
        "/scim/v2/<any(Groups, Bulk, Me):resource>/<path:rest>",
        "/authoring",
        "/authoring/guide",
        "/authoring/activity",
        "/authoring/courses/<slug>/questions",
        "/authoring/courses/<slug>/questions/new",
        "/authoring/questions/<int:question_id>",
        "/authoring/questions/<int:question_id>/edit",
        "/authoring/questions/<int:question_id>/status",
        "/authoring/questions/<int:question_id>/history",
        "/authoring/questions/<int:question_id>/preview",
        "/authoring/courses/new",
        "/authoring/courses/<slug>/settings",
        "/authoring/courses/<slug>/publish",
        "/authoring/courses/<slug>/modules",
        "/authoring/courses/<slug>/modules/new",
        "/authoring/modules/<int:module_id>/edit",
        "/authoring/modules/<int:module_id>/move",
        "/authoring/modules/<int:module_id>/status",
        "/compliance/people/<int:user_id>/allowances",
        "/authoring/statistics",
        "/authoring/courses/<slug>/statistics",
        "/authoring/questions/<int:question_id>/statistics",
        "/authoring/courses/<slug>/import",
        "/authoring/courses/<slug>/import/apply",
        "/authoring/courses/<slug>/export.yaml",
        "/authoring/courses/<slug>/export.gift",
        "/audit",
        "/audit.csv",
        "/healthz",
        "/favicon.ico",
    }


@pytest.mark.parametrize("path", [*LEARNER_PAGES, "/attempts/1"])
def test_anonymous_visitors_are_sent_to_sign_in(client, course, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("path", "status"), [("/password/forgot", 200), ("/password/reset", 404), ("/password/reset/not-a-token", 404)]
)
def test_password_reset_pages_are_for_everyone_and_show_nothing_without_a_link(client, auth, make_user, path, status):
    assert client.get(path).status_code == status
    auth.login(make_user())
    assert client.get(path).status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/logout",
        "/courses/test-course/quiz",
        "/courses/test-course/modules/intro/complete",
        "/attempts/1",
        "/account/sessions/1/end",
        "/account/sessions/end-others",
        "/account/password",
        "/staff/1/sign-out",
    ],
)
def test_anonymous_posts_change_nothing(client, course, path):
    token = csrf_token(client, "/login")
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["staff", "manager", "hr", "admin"])
@pytest.mark.parametrize("path", LEARNER_PAGES)
def test_every_role_is_a_learner(client, auth, make_user, course, role, path):
    auth.login(make_user(role=role))
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


REPORT_PAGES = ["/compliance/export.csv", "/compliance/packet"]


@pytest.mark.parametrize("path", [*REPORT_PAGES, "/compliance/people/1/transcript.pdf"])
def test_anonymous_visitors_get_no_reports(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("manager", 200), ("hr", 200), ("admin", 200)])
@pytest.mark.parametrize("path", REPORT_PAGES)
def test_reports_are_for_hr_admins_and_managers(client, auth, make_user, role, status, path):
    auth.login(make_user(role=role, department="Ward 1"))
    response = client.get(path)
    assert response.status_code == status
    response.close()


@pytest.mark.parametrize(
    "path", ["/courses/nope", "/courses/test-course/modules/nope", "/attempts/99999", "/no/such/page"]
)
def test_unknown_things_get_a_helpful_404(client, auth, make_user, course, path):
    auth.login(make_user())
    response = client.get(path)
    assert response.status_code == 404
    assert "My training" in response.get_data(as_text=True)


def test_json_clients_get_json_errors(client, auth, make_user, course):
    auth.login(make_user())
    response = client.get("/courses/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_405_not_500(client, auth, make_user, course):
    auth.login(make_user())
    assert client.get("/courses/test-course/quiz").status_code == 405


def test_security_headers_are_set(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_pages_load_no_external_assets(client, auth, make_user, course):
    auth.login(make_user())
    for path in LEARNER_PAGES:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_uploads_are_limited_to_2_mb(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024


def test_oversized_request_is_413(client):
    response = client.post("/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "That upload is too large" in page and "larger than this site accepts" in page


@pytest.mark.parametrize(
    ("path", "title", "message"),
    [
        ("/staff/departments", "That upload is too large", "The data sent was larger than this site accepts."),
        ("/staff/import", "That file is too large", "The file is larger than 2 MB"),
        ("/authoring/courses/test-course/import", "That file is too large", "The upload is larger than 2 MB"),
    ],
)
def test_an_oversized_form_or_upload_gets_the_friendly_413_page(
    app, client, auth, make_user, course, path, title, message
):
    auth.login(make_user("admin"))
    boundary = "b0undary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode(),
            csrf_token(client, path).encode(),
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nWard 9\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'.encode(),
            b"employee_id,name,email\n" + b"x" * (2 * 1024 * 1024),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    response = client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page and message in page
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Department)).scalar() == 0


@pytest.mark.parametrize("path", ["/attempts/99999999999999999999", "/compliance/people/2147483648"])
def test_ids_too_large_for_the_database_are_not_found(client, auth, make_user, path):
    auth.login(make_user("hr"))
    assert client.get(path).status_code == 404


def test_a_refused_upload_leaves_no_temporary_file_open(client, auth, make_user, monkeypatch):
    """A file part over 500 KB is spooled to a temporary file; a later field over the form memory
    limit (500 KB) refuses the body part-way. The file is closed then, not left to the collector."""
    auth.login(make_user("hr"))
    token = csrf_token(client, "/staff/import")
    unclosed = []
    monkeypatch.setattr(sys, "unraisablehook", unclosed.append)
    boundary = "b0undary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="staff.csv"\r\n\r\n'.encode(),
            b"a" * 600_000,
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode(),
            b"b" * 600_000,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    response = client.post("/staff/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    gc.collect()
    assert unclosed == []


@pytest.mark.parametrize(
    "path",
    [
        "/staff?q=%00",
        "/compliance/people?q=a%00b",
        "/reminders?status=all&q=%00",
        "/courses/a%00b",
        "/policies/a%00",
        "/authoring/courses/x%00/questions",
        "/certificates?issued_from=%00",
    ],
)
def test_a_nul_character_in_the_address_is_a_400_not_a_database_error(client, auth, make_user, course, path):
    """PostgreSQL cannot store or compare text with a NUL in it: these were 500s there."""
    auth.login(make_user("admin"))
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/staff/departments", {"name": "Ward\x00 9"}),
        ("/staff/departments", {"name": "Ward 9", "extra\x00": "x"}),
        ("/staff/departments", {"name": ["Ward 9", "\x00"]}),
        ("/staff/import", {"file": (b"employee_id,name,email\n", "staff\x00.csv")}),
    ],
)
def test_a_nul_character_in_a_form_is_a_400_and_writes_nothing(app, client, auth, make_user, path, data):
    auth.login(make_user("admin"))
    data = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in data.items()}
    response = auth.post(path, data=data, token_from=path)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Department)).scalar() == 0


def test_a_multipart_part_without_a_readable_name_is_not_a_500(app, client, auth, make_user):
    """name="\\" escapes its own closing quote: werkzeug gives the part the name None."""
    auth.login(make_user("admin"))
    token = csrf_token(client, "/staff/departments")
    parts = [("csrf_token", token), ("name", "Ward 9"), ("\\", "")]
    body = b"".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in parts
    )
    response = client.post(
        "/staff/departments", data=body + b"--b0undary--\r\n", content_type="multipart/form-data; boundary=b0undary"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Department.name)).scalars().all() == ["Ward 9"]


def test_every_page_names_its_icon_and_describes_the_site(client, auth, make_user, course):
    for signed_in in (False, True):
        if signed_in:
            auth.login(make_user())
        html = client.get("/" if signed_in else "/login").get_data(as_text=True)
        assert '<link rel="icon" href="/favicon.ico" sizes="48x48">' in html
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
        assert re.search(r'<meta name="description" content="Staff training at [^"]+: courses, [^"]+">', html)
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    svg.close()
