"""Who gets what on every route: a table of answers per role, checked for every rule of the URL map.

The rules are read from the app's URL map when this module is collected, so a new route fails
`test_every_rule_answers_each_role_as_the_table_says` until it has a row in EXPECTED. Each rule
runs in a fresh `World` (tests/access_world.py) whose records all belong to Olive Owner, whom none
of the roles is: the staff member is her colleague, the manager her department's manager.

A GET-able rule is checked with GET; a POST-only rule with a POST carrying a valid CSRF token and
no other data. Every refused request (a redirect to sign in, 401, 403, 404) must change nothing.
"""

import pytest

from tests.access_world import ROLES, RULES, TOKEN_HOLDERS, build_world, changes, snapshot
from tests.conftest import csrf_token


def answers(anonymous, staff, manager, hr, author, admin, **token_holders) -> dict[str, int]:
    """The status each role gets; API token holders get what anonymous visitors get unless given."""
    values = dict(zip(ROLES, (anonymous, staff, manager, hr, author, admin), strict=True))
    return values | {who: token_holders.get(who.replace(" ", "_"), anonymous) for who in TOKEN_HOLDERS}


# 302 for anonymous visitors is always a redirect to /login; 403 is a role refused; 404 a record
# that exists but is hidden from this person (it answers exactly like a record that does not exist).
PUBLIC = answers(200, 200, 200, 200, 200, 200)
LEARNER = answers(302, 200, 200, 200, 200, 200)  # everyone signed in is a learner
VIEWERS = answers(302, 403, 200, 200, 403, 200)  # compliance: managers (their department), HR, admins
HR_ONLY = answers(302, 403, 403, 200, 403, 200)
AUTHORING = answers(302, 403, 403, 403, 200, 200)
STATISTICS = answers(302, 403, 403, 200, 200, 200)
ADMIN_ONLY = answers(302, 403, 403, 403, 403, 200)
# Olive's attempt: only she may see it, not even an admin.
HERS_ONLY = answers(302, 404, 404, 404, 404, 404)
# Olive's transcript and certificate: hers, her manager's, HR's and admins'; her colleague and an
# author get the same 404 as for a record that does not exist.
HERS_AND_HER_MANAGERS = answers(302, 404, 200, 200, 404, 200)
# Her certificate's PDF: the world's file is not rendered yet (the test apps defer rendering), so those who may
# download it get the "being prepared" page (202) while a job renders it; the others as above.
HER_CERTIFICATE_PDF = answers(302, 404, 202, 202, 404, 202)
# The API takes a bearer token and nothing else: a browser session is not enough.
API = answers(401, 401, 401, 401, 401, 401, token=200, revoked_token=401)

# SCIM takes a SCIM token and nothing else: neither a browser session nor an API token opens it.
SCIM = answers(401, 401, 401, 401, 401, 401, token=401, revoked_token=401)

# POST-only rules, posted with no data: refused roles as above; a role with access gets the
# answer to an empty form (400 or 422, nothing written) or, for a form without fields, does it
# (302). HR posts before the admin, so for those the admin finds it already done.
LEARNER_POST = answers(302, 302, 302, 302, 302, 302)
HR_FORM = answers(302, 403, 403, 422, 403, 422)
HR_DONE_FIRST = answers(302, 403, 403, 302, 403, 409)
AUTHORING_FORM = answers(302, 403, 403, 403, 400, 400)
ADMIN_FORM = answers(302, 403, 403, 403, 403, 422)
ACCOUNT_FORM = answers(302, 422, 422, 422, 422, 422)

EXPECTED: dict[str, dict[str, int]] = {
    # signing in and out
    "GET /login": answers(200, 302, 302, 302, 302, 302),  # signed in: sent on to My training
    "POST /logout": LEARNER_POST,
    # the second step of sign-in: nothing to do without a pending sign-in (back to /login, or on home)
    "GET /login/two-step": answers(302, 302, 302, 302, 302, 302),
    "GET /login/recovery": answers(302, 302, 302, 302, 302, 302),
    # password reset: open to all; without a valid link there is nothing to show
    "GET /password/forgot": PUBLIC,
    "GET /password/reset": answers(404, 404, 404, 404, 404, 404),
    "GET /password/reset/<token>": answers(404, 404, 404, 404, 404, 404),
    # your own account: every signed-in person; posts without the password are refused (422)
    "GET /account": LEARNER,
    "GET /account/sessions": LEARNER,
    "GET /account/password": LEARNER,
    "GET /account/two-step": LEARNER,
    "GET /account/two-step/setup": LEARNER,
    "POST /account/sessions/<int:session_id>/end": ACCOUNT_FORM,
    "POST /account/sessions/end-others": ACCOUNT_FORM,
    "POST /account/two-step/recovery-codes": ACCOUNT_FORM,
    "POST /account/two-step/disable": ACCOUNT_FORM,
    # learning
    "GET /": LEARNER,
    "GET /transcript": LEARNER,
    "GET /courses/<slug>": LEARNER,
    "GET /courses/<slug>/modules/<module_slug>": LEARNER,
    "POST /courses/<slug>/modules/<module_slug>/complete": LEARNER_POST,
    "GET /courses/<slug>/attempts": LEARNER,
    "POST /courses/<slug>/quiz": LEARNER_POST,
    "GET /attempts/<int:attempt_id>": HERS_ONLY,
    "POST /attempts/<int:attempt_id>": HERS_ONLY,
    # policies
    "GET /policies": LEARNER,
    "GET /policies/<slug>": LEARNER,
    "POST /policies/<slug>/attest": answers(302, 422, 422, 422, 422, 422),
    "GET /policies/manage": HR_ONLY,
    "GET /policies/manage/new": HR_ONLY,
    "GET /policies/manage/<slug>": HR_ONLY,
    "GET /policies/manage/<slug>/publish": HR_ONLY,
    "GET /policies/manage/<slug>/versions/<int:number>": HR_ONLY,
    "POST /policies/manage/<slug>/courses": HR_FORM,
    # HR unlinks the course; the admin then finds it not linked.
    "POST /policies/manage/<slug>/courses/<int:course_id>/unlink": answers(302, 403, 403, 302, 403, 404),
    "POST /policies/manage/<slug>/retire": HR_DONE_FIRST,
    # certificates
    "GET /certificates": HR_ONLY,
    # HR asks for the ZIP: a new job, and a redirect to its page.
    "POST /certificates/export": answers(302, 403, 403, 303, 403, 303),
    "GET /certificates/<serial>": HERS_AND_HER_MANAGERS,
    "GET /certificates/<serial>.pdf": HER_CERTIFICATE_PDF,
    "POST /certificates/<serial>/revoke": HR_FORM,
    "GET /verify": PUBLIC,
    # the site's icon, for every browser whoever is signed in
    "GET /favicon.ico": PUBLIC,
    "GET /verify/<serial>": PUBLIC,
    "GET /verify/<serial>.json": PUBLIC,
    # compliance and reports
    "GET /compliance": VIEWERS,
    "GET /compliance/people": VIEWERS,
    "GET /compliance/people/<int:user_id>": VIEWERS,
    "GET /compliance/people/<int:user_id>/transcript.pdf": HERS_AND_HER_MANAGERS,
    "POST /compliance/people/<int:user_id>/allowances": HR_FORM,
    "GET /compliance/requirements": HR_ONLY,
    # HR retires the requirement; the admin then finds no such active requirement.
    "POST /compliance/requirements/<int:requirement_id>/retire": answers(302, 403, 403, 302, 403, 404),
    "GET /compliance/export.csv": VIEWERS,
    # asking for the workbook's job: managers (their department), HR and admins are sent to its page
    "POST /compliance/export.xlsx": answers(302, 403, 303, 303, 403, 303),
    "GET /compliance/packet": VIEWERS,
    # The manager's queued packet of his department: his, HR's and admins'; the file is not ready (back to the page).
    "GET /exports/<int:job_id>": VIEWERS,
    "GET /exports/<int:job_id>/download": answers(302, 403, 302, 302, 403, 302),
    "GET /reminders": HR_ONLY,
    # staff records
    "GET /staff": HR_ONLY,
    "GET /staff/new": HR_ONLY,
    "GET /staff/<int:user_id>/edit": HR_ONLY,
    "GET /staff/<int:user_id>/deactivate": HR_ONLY,
    "POST /staff/<int:user_id>/reactivate": answers(302, 403, 403, 409, 403, 409),  # Olive is active
    "GET /staff/departments": HR_ONLY,
    "POST /staff/departments/<int:department_id>/rename": HR_FORM,
    "GET /staff/import": HR_ONLY,
    "POST /staff/import/apply": answers(302, 403, 403, 400, 403, 400),
    "POST /staff/<int:user_id>/sign-out": answers(302, 403, 403, 302, 403, 302),
    # removing a person's single sign-on link: HR removes it first, the admin then finds no such link
    "POST /staff/<int:user_id>/sso/<int:link_id>/unlink": answers(302, 403, 403, 302, 403, 404),
    # Olive has no two-step sign-in to reset: the admin is told so (409); nobody else may ask
    "POST /staff/<int:user_id>/two-step/reset": answers(302, 403, 403, 403, 403, 409),
    # API tokens and the API
    "GET /settings/api-tokens": HR_ONLY,
    "POST /settings/api-tokens": HR_FORM,
    "POST /settings/api-tokens/<int:token_id>/revoke": HR_DONE_FIRST,
    "GET /api/v1/compliance": API,
    "GET /api/v1/people/<employee_id>/transcript": API,
    "GET /api/v1/certificates/<serial>": API,
    "GET /api/v1/openapi.json": PUBLIC,
    # SCIM provisioning: admins manage its tokens (revoking this world's API token id finds no SCIM token)
    "GET /admin/integrations": ADMIN_ONLY,
    "GET /settings/scim-tokens": ADMIN_ONLY,
    "POST /settings/scim-tokens": ADMIN_FORM,
    "POST /settings/scim-tokens/<int:token_id>/revoke": answers(302, 403, 403, 403, 403, 404),
    "GET /scim/v2/ServiceProviderConfig": SCIM,
    "GET /scim/v2/ResourceTypes": SCIM,
    "GET /scim/v2/ResourceTypes/<name>": SCIM,
    "GET /scim/v2/Schemas": SCIM,
    "GET /scim/v2/Schemas/<schema_id>": SCIM,
    "GET /scim/v2/Users": SCIM,
    "POST /scim/v2/Users": SCIM,
    "GET /scim/v2/Users/<user_id>": SCIM,
    # PUT, PATCH and DELETE rules of that path: posted, they answer SCIM's 405 before any token check
    "POST /scim/v2/Users/<user_id>": answers(405, 405, 405, 405, 405, 405, token=405, revoked_token=405),
    "GET /scim/v2/<any(Groups, Bulk, Me):resource>": SCIM,
    "GET /scim/v2/<any(Groups, Bulk, Me):resource>/<path:rest>": SCIM,
    # authoring
    "GET /authoring": AUTHORING,
    "GET /authoring/guide": AUTHORING,
    "GET /authoring/activity": ADMIN_ONLY,
    "GET /authoring/courses/new": AUTHORING,
    "GET /authoring/courses/<slug>/settings": AUTHORING,
    "POST /authoring/courses/<slug>/publish": AUTHORING_FORM,
    "GET /authoring/courses/<slug>/modules": AUTHORING,
    "GET /authoring/courses/<slug>/modules/new": AUTHORING,
    "GET /authoring/modules/<int:module_id>/edit": AUTHORING,
    "POST /authoring/modules/<int:module_id>/move": AUTHORING_FORM,
    "POST /authoring/modules/<int:module_id>/status": AUTHORING_FORM,
    "GET /authoring/courses/<slug>/questions": AUTHORING,
    "GET /authoring/courses/<slug>/questions/new": AUTHORING,
    "GET /authoring/questions/<int:question_id>": AUTHORING,
    "GET /authoring/questions/<int:question_id>/edit": AUTHORING,
    "POST /authoring/questions/<int:question_id>/status": AUTHORING_FORM,
    "GET /authoring/questions/<int:question_id>/history": AUTHORING,
    "GET /authoring/questions/<int:question_id>/preview": AUTHORING,
    "GET /authoring/statistics": STATISTICS,
    "GET /authoring/courses/<slug>/statistics": STATISTICS,
    "GET /authoring/questions/<int:question_id>/statistics": STATISTICS,
    "GET /authoring/courses/<slug>/import": AUTHORING,
    "POST /authoring/courses/<slug>/import/apply": AUTHORING_FORM,
    "GET /authoring/courses/<slug>/export.yaml": AUTHORING,
    "GET /authoring/courses/<slug>/export.gift": AUTHORING,
    # the audit record
    "GET /audit": ADMIN_ONLY,
    "GET /audit.csv": ADMIN_ONLY,
    # health: open to everyone (a load balancer has no account); 503 here because the test database
    # is made by create_all and carries no migration version (tests/test_serving.py covers 200)
    "GET /healthz": answers(503, 503, 503, 503, 503, 503),
}


DENIALS = (401, 403, 404)


def test_every_rule_is_classified_and_the_table_has_no_stale_rows():
    assert set(EXPECTED) == set(RULES), (
        f"not in EXPECTED: {sorted(set(RULES) - set(EXPECTED))}; no such rule: {sorted(set(EXPECTED) - set(RULES))}"
    )


def request(client, method: str, path: str, csrf_from: str):
    data = {"csrf_token": csrf_token(client, csrf_from)} if method == "POST" else None
    response = client.open(path, method=method, data=data)
    response.get_data()  # streamed downloads run to the end
    response.close()
    return response


@pytest.mark.parametrize("key", sorted(RULES))
def test_every_rule_answers_each_role_as_the_table_says(app, make_user, make_requirement, course, key, saved_worlds):
    assert key in EXPECTED, f"{key} is a new route: add it to EXPECTED with the answer each role should get"
    method, _, _ = key.partition(" ")
    world = build_world(app, make_user, make_requirement, saved_worlds)
    path = world.path_for(app, RULES[key])
    wrong = {}
    clients = {who: world.client_for(app, who) for who in EXPECTED[key]}
    before = snapshot(app)
    for who, expected in EXPECTED[key].items():
        csrf_from = "/" if who in ROLES[1:] else "/login"
        response = request(clients[who], method, path, csrf_from)
        after = snapshot(app)
        refused_visitor = expected == 302 and who not in ROLES[1:]
        if response.status_code != expected:
            wrong[who] = f"{response.status_code}, expected {expected}"
        elif refused_visitor and not response.headers["Location"].startswith("/login"):
            wrong[who] = f"redirected to {response.headers['Location']}, not to sign in"
        elif (refused_visitor or expected in DENIALS) and changes(before, after):
            wrong[who] = f"refused with {expected} but changed {changes(before, after)}"
        before = after
    assert not wrong, f"{key} ({path}): {wrong}"


# --- GET never changes state (ASVS 3.5.3) ------------------------------------------------------------


def _first_opening_of_a_policy(changed: dict, before: dict, after: dict, viewer_id: int) -> bool:
    """Opening a policy version for the first time records when (its minimum reading time starts
    there) and refreshes the viewer's own obligations (a required policy becomes "in progress")."""
    if set(changed) - {"policy_reading", "obligation"} or "policy_reading" not in changed:
        return False
    reading = changed["policy_reading"]
    if len(reading["added"]) != 1 or reading["removed"] or reading["changed"]:
        return False
    (added,) = reading["added"]
    obligations = changed.get("obligation", {})
    touched = [before["obligation"][key] for key in obligations.get("removed", [])]
    touched += [after["obligation"][key] for key in obligations.get("added", [])]
    touched += [after["obligation"][key] for key, _ in obligations.get("changed", [])]
    return after["policy_reading"][added]["user_id"] == viewer_id and all(
        row["user_id"] == viewer_id for row in touched
    )


def _token_marked_used(changed: dict, before: dict, after: dict, viewer_id: int) -> bool:
    """A valid API token is marked used, at most once a minute (its last_used_at, nothing else)."""
    tokens = changed.get("api_token", {})
    return (
        set(changed) == {"api_token"}
        and not tokens["added"]
        and not tokens["removed"]
        and [columns for _, columns in tokens["changed"]] == [["last_used_at"]]
    )


def _nothing(*_) -> bool:
    return False


# The only GETs that write, and a check of exactly what each may write.
GET_WRITES = {
    "GET /policies/<slug>": _first_opening_of_a_policy,
    "GET /api/v1/compliance": _token_marked_used,
    "GET /api/v1/people/<employee_id>/transcript": _token_marked_used,
    "GET /api/v1/certificates/<serial>": _token_marked_used,
}


@pytest.mark.renders_certificates_at_completion
@pytest.mark.parametrize("role", ["staff", "admin"])
def test_no_get_changes_anything(app, make_user, make_requirement, course, role, saved_worlds):
    """Every GET-able rule, requested as this role (the API with a valid token), leaves every table
    as it was, except the sessions and the audit record, and the writes in GET_WRITES."""
    world = build_world(app, make_user, make_requirement, saved_worlds)
    clients = {"session": world.client_for(app, role), "token": world.client_for(app, "token")}
    answered, unexpected = {}, {}
    for key, rule in sorted(RULES.items()):
        if not key.startswith("GET "):
            continue
        client = clients["token" if key.startswith("GET /api/v1/") else "session"]
        before = snapshot(app)
        answered[key] = request(client, "GET", world.path_for(app, rule), "/").status_code
        after = snapshot(app)
        changed = changes(before, after)
        if changed and not GET_WRITES.get(key, _nothing)(changed, before, after, world.user_ids[role]):
            unexpected[key] = changed
    assert not unexpected, unexpected
    assert answered["GET /policies/<slug>"] == 200 and answered["GET /api/v1/compliance"] == 200, "the writers ran"
    if role == "admin":
        not_200 = {key: status for key, status in answered.items() if status != 200}
        assert not_200 == {
            "GET /attempts/<int:attempt_id>": 404,
            "GET /login": 302,
            "GET /login/two-step": 302,
            "GET /login/recovery": 302,
            "GET /password/reset": 404,
            "GET /password/reset/<token>": 404,
            "GET /healthz": 503,  # ran in full: the test database has no migration version
            "GET /exports/<int:job_id>/download": 302,  # the world's packet is still queued: back to its page
            **{key: 401 for key, expected in EXPECTED.items() if expected is SCIM and key.startswith("GET ")},
        }, (
            "the admin reaches every page but Olive's attempt, the sign-in steps (which send a signed-in "
            "person on), a reset without a link and a file not made yet, so each GET ran in full"
        )


def test_rules_that_change_state_refuse_get(app, make_user, make_requirement, course, saved_worlds):
    world = build_world(app, make_user, make_requirement, saved_worlds)
    admin = world.client_for(app, "admin")
    readable = {rule.rule for key, rule in RULES.items() if key.startswith("GET ")}
    post_only = [rule for key, rule in sorted(RULES.items()) if key.startswith("POST ") and rule.rule not in readable]
    assert len(post_only) == 29
    adapter = app.url_map.bind("localhost")
    for rule in post_only:
        path = world.path_for(app, rule)
        response = admin.get(path)
        if adapter.test(path, method="GET"):
            # A GET of /certificates/export is the certificate page of a serial "export": there is none.
            assert response.status_code == 404, rule.rule
            continue
        assert response.status_code == 405, rule.rule
        assert "POST" in response.headers["Allow"], rule.rule
