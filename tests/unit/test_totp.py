"""The pure part of two-step sign-in: codes and time steps, recovery codes, secret encryption."""

import base64
import math
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken

from training.auth import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 30 * 60_000_000 + 12.0
STEP = 60_000_000


def code(offset_steps: int = 0) -> str:
    return pyotp.TOTP(SECRET).at(NOW + 30 * offset_steps)


def test_new_secrets_are_160_bits_of_base32_and_differ():
    secrets = {totp.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        assert len(pyotp.TOTP(secret).byte_secret()) * 8 == 160


def test_the_secret_is_shown_in_groups_of_four():
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_the_provisioning_uri_names_issuer_and_account():
    uri = urlparse(totp.provisioning_uri(SECRET, account="dana@example.org", issuer="St Mary's Health"))
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == "/St Mary's Health:dana@example.org"
    assert query["secret"] == [SECRET] and query["issuer"] == ["St Mary's Health"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("123-456", "123456"), ("12345", None), ("1234567", None)],
)
def test_codes_are_six_digits_with_spaces_ignored(typed, expected):
    assert totp.normalise_code(typed) == expected


@pytest.mark.parametrize("typed", ["", None, "abcdef", "١٢٣٤٥٦", "12 34 5"])
def test_anything_else_is_not_a_code(typed):
    assert totp.normalise_code(typed) is None


@pytest.mark.parametrize(("offset", "step"), [(0, STEP), (-1, STEP - 1), (1, STEP + 1)])
def test_a_code_from_one_step_either_side_matches_its_step(offset, step):
    assert totp.matching_step(SECRET, code(offset), NOW) == step


@pytest.mark.parametrize("offset", [-2, 2, 10])
def test_a_code_further_away_does_not_match(offset):
    assert totp.matching_step(SECRET, code(offset), NOW) is None


def test_a_code_at_or_before_the_last_used_step_is_refused():
    assert totp.matching_step(SECRET, code(), NOW, last_step=STEP) is None
    assert totp.matching_step(SECRET, code(-1), NOW, last_step=STEP - 1) is None
    assert totp.matching_step(SECRET, code(), NOW, last_step=STEP - 1) == STEP
    assert totp.matching_step(SECRET, code(1), NOW, last_step=STEP) == STEP + 1


def test_a_code_for_another_secret_does_not_match():
    other = pyotp.TOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").at(NOW)
    assert other not in {code(-1), code(), code(1)}
    assert totp.matching_step(SECRET, other, NOW) is None


def test_ten_recovery_codes_of_120_random_bits_in_groups():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for recovery_code in codes:
        groups = recovery_code.split("-")
        assert [len(g) for g in groups] == [4] * 6
        assert set("".join(groups)) <= set(totp.CROCKFORD)
    assert totp.RECOVERY_CODE_LENGTH * math.log2(len(totp.CROCKFORD)) >= 112, "ASVS 6.5.2: a plain hash needs 112 bits"


def test_recovery_codes_are_read_however_they_are_typed():
    canonical = "0123456789abcdefghjkmnpq"
    for typed in (
        "0123-4567-89ab-cdef-ghjk-mnpq",
        " 0123 4567 89AB CDEF GHJK MNPQ ",
        "O123-4567-89ab-cdef-ghjk-mnpq",  # letter O for zero
        "0I23-4567-89ab-cdef-ghjk-mnpq",  # letter I for one
        "0l23456789ABCDEFGHJKMNPQ",  # letter l for one
    ):
        assert totp.normalise_recovery_code(typed) == canonical, typed
        assert totp.recovery_code_hash(typed) == totp.recovery_code_hash(canonical)


@pytest.mark.parametrize("typed", ["", None, "0123-4567-89ab-cdef-ghjk", "0123-4567-89ab-cdef-ghjk-mnpu", "x" * 200])
def test_other_text_is_not_a_recovery_code(typed):
    assert totp.normalise_recovery_code(typed) is None


def test_a_recovery_code_is_stored_as_a_sha256_digest_of_its_canonical_form():
    digest = totp.recovery_code_hash("0123-4567-89ab-cdef-ghjk-mnpq")
    assert len(digest) == 64 and "0123" not in digest
    with pytest.raises(ValueError):
        totp.recovery_code_hash("not a code")


def test_secrets_are_encrypted_and_decrypt_only_with_the_key():
    box = totp.SecretBox("the secret key")
    sealed = box.encrypt(SECRET)
    assert SECRET not in sealed and sealed != box.encrypt(SECRET), "a fresh IV each time"
    assert box.decrypt(sealed) == SECRET
    assert totp.SecretBox("another key").decrypt(sealed) is None
    assert box.decrypt(sealed[:-4] + "AAAA") is None
    assert box.decrypt("") is None and box.decrypt(None) is None


def test_a_rotated_secret_key_still_decrypts_through_its_fallback():
    sealed = totp.SecretBox("old key").encrypt(SECRET)
    assert totp.SecretBox("new key", ["old key"]).decrypt(sealed) == SECRET
    assert totp.SecretBox("new key").decrypt(sealed) is None


def test_the_key_is_derived_from_secret_key_not_secret_key_itself():
    sealed = totp.SecretBox("k" * 32).encrypt(SECRET)
    with pytest.raises(InvalidToken):
        Fernet(base64.urlsafe_b64encode(b"k" * 32)).decrypt(sealed.encode())
