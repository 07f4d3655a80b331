"""Password hashing with argon2id (OWASP minimum: m=19456 KiB, t=2, p=1)."""

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

OWASP_PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# argon2id at its cheapest, for test apps only: a test suite signs in thousands of times.
TEST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def configured_hasher() -> PasswordHasher:
    """The OWASP parameters, except in an app made for tests that asks for the cheapest ones.

    Both settings can only be given to `create_app` in code (no environment variable sets them),
    and TESTING must be on too, so no deployed site can hash cheaply.
    """
    if has_app_context() and current_app.testing and current_app.config.get("PASSWORD_HASHING_FOR_TESTS_ONLY"):
        return TEST_PASSWORD_HASHER
    return OWASP_PASSWORD_HASHER


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the email is unknown, so a failed sign-in takes the same time either way."""
    return hasher.hash("not a real password, only here for timing")


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or configured_hasher()).hash(password)


def unusable_password_hash() -> str:
    """The hash of a random password nobody is told: the account signs in by single sign-on, or once HR or a
    password reset gives it a password."""
    return hash_password(secrets.token_urlsafe(32))


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = configured_hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return configured_hasher().check_needs_rehash(password_hash)
