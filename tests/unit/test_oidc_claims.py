"""From an OpenID provider's claims to an IdpIdentity: sub identifies, every claim kept as strings."""

from training.sso.oidc_claims import as_strings, identity_from_claims


def test_the_person_is_identified_by_issuer_and_sub_and_every_claim_is_kept_as_strings():
    claims = {
        "sub": 248289761001,
        "email": "nora@hospital.example",
        "email_verified": True,
        "name": "Nora Nurse",
        "groups": ["Nursing", "Training-HR"],
        "employee_id": "E1001",
        "amr": ["pwd", "mfa"],
        "acr": "urn:hospital:loa:2",
        "address": {"country": "NL"},
    }
    identity = identity_from_claims("https://login.hospital.example", claims)
    assert (identity.protocol, identity.issuer, identity.subject) == (
        "oidc",
        "https://login.hospital.example",
        "248289761001",
    )
    assert (identity.email, identity.email_verified, identity.name) == ("nora@hospital.example", True, "Nora Nurse")
    assert identity.attributes["groups"] == ("Nursing", "Training-HR")
    assert identity.attributes["email_verified"] == ("true",)
    assert identity.attributes["address"] == ('{"country": "NL"}',)
    assert identity.authn_context == "pwd mfa urn:hospital:loa:2"


def test_only_a_real_true_verifies_an_email():
    for value, verified in ((True, True), ("true", True), ("True", False), (1, False), (None, False)):
        claims = {"sub": "s", "email": "a@b.example", "email_verified": value}
        assert identity_from_claims("https://i.example", claims).email_verified is verified


def test_missing_and_odd_values():
    identity = identity_from_claims("https://i.example", {"sub": "s", "name": ["not", "a", "string"]})
    assert (identity.email, identity.name, identity.authn_context) == ("", "", "")
    assert as_strings(None) == () and as_strings([1, [2, None]]) == ("1", "2") and as_strings(False) == ("false",)
