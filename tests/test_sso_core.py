"""Who may come in through single sign-on (issue 18, item 3), and passwords when it is on (item 4).

The protocols (tests/test_sso_oidc.py, tests/test_sso_saml.py) sign people in through real identity
providers; these tests hold the rules every protocol shares, on both databases.
"""

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth, csrf_token
from training.audit.models import AuditEvent
from training.auth.models import PasswordReset, User
from training.compliance.models import Obligation
from training.extensions import db
from training.sso.identity import IdpIdentity, SsoRefused, person_for_identity
from training.sso.models import SsoIdentity
from training.sso.settings import sso_rules

ISSUER = "https://login.hospital.example/tenant"


def identity(subject="sub-1", **attributes):
    email = attributes.pop("email", "")
    verified = attributes.pop("email_verified", False)
    name = attributes.pop("name", "")
    values = {key: (value,) if isinstance(value, str) else tuple(value) for key, value in attributes.items()}
    return IdpIdentity("oidc", ISSUER, subject, email, verified, name, values, "pwd mfa")


def events(action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def links():
    return db.session.execute(select(SsoIdentity)).scalars().all()


def test_the_first_sign_in_links_by_employee_id_and_the_next_by_the_link(app, make_user):
    nurse = make_user(employee_id="E-1001")
    with app.app_context():
        person = person_for_identity(identity(employee_id="E-1001"), sso_rules({}))
        assert person.id == nurse.id
        assert [(link.issuer, link.subject, link.user_id) for link in links()] == [(ISSUER, "sub-1", nurse.id)]
        assert events("sso.linked")[0].details["subject"] == "sub-1"
        # The employee id may change at the provider: the link still finds the person.
        assert person_for_identity(identity(employee_id="E-9999"), sso_rules({})).id == nurse.id
        assert len(links()) == 1


def test_an_employee_id_under_another_attribute_name_is_found(app, make_user):
    nurse = make_user(employee_id="E-2002")
    with app.app_context():
        person = person_for_identity(identity(employeeNumber="E-2002"), sso_rules({}))
        assert person.id == nurse.id


def test_an_email_links_only_when_configured_and_verified_by_the_provider(app, make_user):
    nurse = make_user(email="ana@example.org")
    claims = {"email": "Ana@Example.org"}
    with app.app_context():
        with pytest.raises(SsoRefused) as not_configured:
            person_for_identity(identity(**claims, email_verified=True), sso_rules({}))
        with pytest.raises(SsoRefused):
            person_for_identity(identity(**claims, email_verified=False), sso_rules({"SSO_LINK_BY_EMAIL": "1"}))
        assert not_configured.value.reason == "unknown_person"
        assert links() == []
        person = person_for_identity(identity(**claims, email_verified=True), sso_rules({"SSO_LINK_BY_EMAIL": "1"}))
        assert person.id == nurse.id


def test_an_unknown_person_is_refused_and_nothing_is_written(app, make_user):
    make_user(employee_id="E-1")
    with app.app_context():
        people = db.session.execute(select(func.count(User.id))).scalar()
        with pytest.raises(SsoRefused) as refused:
            person_for_identity(
                identity(employee_id="E-404", email="x@example.org", email_verified=True), sso_rules({})
            )
        db.session.rollback()
        assert refused.value.reason == "unknown_person" and refused.value.status == 403
        assert db.session.execute(select(func.count(User.id))).scalar() == people
        assert links() == [] and events("sso.linked") == []


def test_a_deactivated_person_is_refused_even_with_a_link(app, make_user):
    nurse = make_user(employee_id="E-7")
    with app.app_context():
        person_for_identity(identity(employee_id="E-7"), sso_rules({}))
        db.session.get(User, nurse.id).active = False
        db.session.commit()
        with pytest.raises(SsoRefused) as refused:
            person_for_identity(identity(employee_id="E-7"), sso_rules({}))
        assert refused.value.reason == "deactivated"


def test_a_person_already_linked_to_another_subject_of_the_provider_is_refused(app, make_user):
    make_user(employee_id="E-8")
    with app.app_context():
        person_for_identity(identity("first", employee_id="E-8"), sso_rules({}))
        with pytest.raises(SsoRefused) as refused:
            person_for_identity(identity("second", employee_id="E-8"), sso_rules({}))
        db.session.rollback()
        assert refused.value.reason == "linked_elsewhere"
        assert [link.subject for link in links()] == ["first"]


def test_just_in_time_creation_makes_staff_with_department_job_title_and_obligations(app, course, make_requirement):
    make_requirement("test-course")
    rules = sso_rules({"SSO_CREATE_ACCOUNTS": "1"})
    claims = identity(
        "new-sub",
        email="New.Nurse@Example.org",
        name="Nia Okafor",
        employee_id="E-31",
        department="Emergency",
        job_title="Registered Nurse",
        groups=["Training-HR"],
    )
    with app.app_context():
        person = person_for_identity(claims, rules)
        assert (person.email, person.name, person.role, person.employee_id) == (
            "new.nurse@example.org",
            "Nia Okafor",
            "staff",
            "E-31",
        )
        assert (person.department.name, person.job_title) == ("Emergency", "Registered Nurse")
        assert db.session.execute(select(Obligation).where(Obligation.user_id == person.id)).scalars().all()
        assert events("staff.created")[0].details["source"] == "sso:oidc"


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "not an address", "name": "Someone"},
        {"email": "ok@example.org", "name": ""},
        {"email": "ok@example.org", "name": "Eve\u202eevil"},
        {"email": "ok@example.org", "name": "Eve", "department": "Ward\r\nBcc: x"},
    ],
)
def test_just_in_time_creation_refuses_claims_it_cannot_use_and_writes_nothing(app, claims):
    with app.app_context():
        with pytest.raises(SsoRefused) as refused:
            person_for_identity(identity("sub-x", **claims), sso_rules({"SSO_CREATE_ACCOUNTS": "1"}))
        db.session.rollback()
        assert refused.value.reason == "claims"
        assert db.session.execute(select(func.count(User.id))).scalar() == 0


def test_roles_follow_mapped_groups_only(app, make_user):
    nurse = make_user(employee_id="E-50")
    admin = make_user(role="admin", employee_id="E-51")
    rules = sso_rules({"SSO_ROLE_GROUPS": "hr=Training-HR;author=Training-Authors"})
    with app.app_context():
        assert person_for_identity(identity("n", employee_id="E-50", groups=["Training-HR"]), rules).role == "hr"
        assert person_for_identity(identity("n", employee_id="E-50", groups=["Nurses"]), rules).role == "staff"
        # admin is not mapped: the provider neither gives nor takes it.
        assert person_for_identity(identity("a", employee_id="E-51", groups=[]), rules).role == "admin"
        assert [e.details["to"] for e in events("staff.role_changed")] == ["hr", "staff"]
        # Without a map, groups are ignored.
        assert person_for_identity(identity("n", employee_id="E-50", groups=["Training-HR"]), sso_rules({})).role == (
            "staff"
        )
    assert admin.role == "admin" and nurse.role == "staff"


# --- Through HTTP -------------------------------------------------------------------------------


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"PASSWORD_SIGN_IN": "admins-only"}], indirect=True)
def test_admins_only_refuses_a_staff_password_but_keeps_admins(app, client, auth, make_user):
    nurse = make_user()
    admin = make_user(role="admin")
    response = auth.login(nurse)
    assert response.status_code == 403
    assert "signs you in with its own account" in response.get_data(as_text=True)
    assert client.get("/", follow_redirects=False).status_code == 302  # not signed in
    with app.app_context():
        assert events("user.sign_in_failed")[-1].details["reason"] == "password_sign_in_off"
    assert auth.login(admin).status_code == 302


@pytest.mark.parametrize(
    "app_config", [{"PASSWORD_SIGN_IN": "admins-only", "PASSWORD_SIGN_IN_ACCOUNTS": "glass@example.org"}], indirect=True
)
def test_a_named_break_glass_account_keeps_its_password(app, auth, make_user):
    assert Auth(app.test_client()).login(make_user(role="hr")).status_code == 403
    assert auth.login(make_user(role="hr", email="glass@example.org")).status_code == 302


@pytest.mark.parametrize("app_config", [{"PASSWORD_SIGN_IN": "admins-only"}], indirect=True)
def test_no_reset_link_is_sent_to_someone_who_signs_in_through_sso(app, client, make_user):
    nurse = make_user()
    token = csrf_token(client, "/password/forgot")
    response = client.post("/password/forgot", data={"email": nurse.email, "csrf_token": token})
    assert response.status_code in (200, 302)
    with app.app_context():
        assert events("password.reset_requested")[-1].details["outcome"] == "password_sign_in_off"
        assert db.session.execute(select(PasswordReset)).scalars().all() == []


def test_hr_sees_a_persons_link_and_removes_it(app, client, auth, make_user):
    nurse = make_user(employee_id="E-60")
    other = make_user(employee_id="E-61")
    with app.app_context():
        person_for_identity(identity("nurse-sub", employee_id="E-60"), sso_rules({}))
        person_for_identity(identity("other-sub", employee_id="E-61"), sso_rules({}))
        nurse_link, other_link = (link.id for link in links())
    auth.login(make_user(role="hr"))
    page = client.get(f"/staff/{nurse.id}/edit").get_data(as_text=True)
    assert "Organization sign-in" in page and "nurse-sub" in page
    # Another person's link through this person's address is not found and stays.
    assert (
        auth.post(f"/staff/{nurse.id}/sso/{other_link}/unlink", token_from=f"/staff/{nurse.id}/edit").status_code == 404
    )
    response = auth.post(f"/staff/{nurse.id}/sso/{nurse_link}/unlink", token_from=f"/staff/{nurse.id}/edit")
    assert response.status_code == 302
    with app.app_context():
        assert [link.user_id for link in links()] == [other.id]
        assert events("sso.unlinked")[0].details["subject"] == "nurse-sub"


def test_staff_cannot_remove_links(app, client, auth, make_user):
    nurse = make_user(employee_id="E-70")
    with app.app_context():
        person_for_identity(identity("s", employee_id="E-70"), sso_rules({}))
        link_id = links()[0].id
    auth.login(nurse)
    assert auth.post(f"/staff/{nurse.id}/sso/{link_id}/unlink").status_code == 403
    with app.app_context():
        assert len(links()) == 1


def test_the_sign_in_page_shows_no_sso_button_until_a_protocol_is_configured(client):
    page = client.get("/login").get_data(as_text=True)
    assert "sso-buttons" not in page
