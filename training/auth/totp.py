"""Two-step sign-in arithmetic, with no Flask and no database: TOTP codes and their time steps,
recovery codes, and the encryption that keeps TOTP secrets unreadable in the database."""

import base64
import hashlib
import secrets
from collections.abc import Iterable

import pyotp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyotp.exceptions import OTPVerificationError

STEP_SECONDS = 30
DIGITS = 6
# One step either side of the server's clock: a phone up to 30 s fast or slow still works.
VALID_WINDOW = 1

RECOVERY_CODE_COUNT = 10
# 120 random bits: at or above ASVS 6.5.2's 112 bits, so a plain SHA-256 digest may store them.
RECOVERY_CODE_LENGTH = 24
RECOVERY_GROUP = 4
# Crockford's base32: digits and lower-case letters without i, l, o and u, which are easy to misread.
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_MISREAD = str.maketrans({"i": "1", "l": "1", "o": "0"})


def new_secret() -> str:
    """A fresh TOTP secret: 32 base32 characters (160 bits) from the operating system's CSPRNG."""
    return pyotp.random_base32()


def grouped(text: str, size: int = 4, separator: str = " ") -> str:
    """`ABCDEFGH` as `ABCD EFGH`: easier to copy by hand."""
    return separator.join(text[i : i + size] for i in range(0, len(text), size))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=issuer)


def normalise_code(text: str | None) -> str | None:
    """Six ASCII digits, with spaces and dashes typed between them ignored; None if it is not that."""
    code = "".join((text or "").split()).replace("-", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    return code


def matching_step(secret: str, code: str | None, now: float, last_step: int | None = None) -> int | None:
    """The time step this code belongs to (within one step of `now`), or None.

    A step at or before `last_step` was already used: its code is refused, so a code seen over
    someone's shoulder or replayed from a log cannot be used again (ASVS 6.5.1).
    """
    code = normalise_code(code)
    if code is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    try:
        step = totp.verify_and_get_timecode(code, for_time=now, valid_window=VALID_WINDOW)
    except OTPVerificationError:
        return None
    if last_step is not None and step <= last_step:
        return None
    return step


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh one-time recovery codes, shown to the person as `xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`."""
    return [
        grouped("".join(secrets.choice(CROCKFORD) for _ in range(RECOVERY_CODE_LENGTH)), RECOVERY_GROUP, "-")
        for _ in range(count)
    ]


def normalise_recovery_code(text: str | None) -> str | None:
    """The canonical form of a typed recovery code (case, dashes and spaces ignored; i, l and o read
    as 1, 1 and 0), or None if it cannot be one."""
    code = "".join((text or "").split()).replace("-", "").lower().translate(_MISREAD)
    if len(code) != RECOVERY_CODE_LENGTH or any(c not in CROCKFORD for c in code):
        return None
    return code


def recovery_code_hash(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of its canonical form, in hex."""
    canonical = normalise_recovery_code(code)
    if canonical is None:
        raise ValueError("not a recovery code")
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fernet(key_material: str | bytes) -> Fernet:
    raw = key_material.encode() if isinstance(key_material, str) else key_material
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"totp-secret").derive(raw)
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Authenticated encryption (Fernet) for TOTP secrets under a key derived from SECRET_KEY.

    Keys derived from older secret keys (Flask's SECRET_KEY_FALLBACKS) still decrypt, so SECRET_KEY
    can be rotated without turning everyone's two-step sign-in off.
    """

    def __init__(self, secret_key: str | bytes, fallbacks: Iterable[str | bytes] = ()):
        self._fernet = MultiFernet([_fernet(secret_key), *(_fernet(key) for key in fallbacks)])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str | None, ttl: int | None = None) -> str | None:
        """The secret, or None if the token is missing, altered, from an unknown key or older than `ttl` seconds."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode(), ttl=ttl).decode()
        except (InvalidToken, UnicodeError):
            return None
