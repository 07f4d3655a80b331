"""URLs: the public address of a page, and checks for URLs and values that come from the request."""

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import IntegerConverter

MAX_RECORD_ID = 2**31 - 1  # the largest id an integer column holds: beyond it a value is unknown, not a database error


def public_url(path: str) -> str:
    """The full address of `path` as people outside reach it (PUBLIC_BASE_URL): for emails and QR codes."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def is_safe_next(target: str | None) -> bool:
    """True only for a path on this site, such as '/courses/x?y=1' (never '//evil' or 'https://...')."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def is_number(text: str | None) -> bool:
    """Digits 0-9 only, as a form sends an id or a version number.

    Not `str.isdigit()` alone, which is also true of "²" and other characters that `int()` refuses.
    """
    return bool(text) and text.isascii() and text.isdigit()


class RecordIdConverter(IntegerConverter):
    """`<int:...>` limited to ids a database integer column can hold: a larger number is a 404,
    not an overflow error from SQLite or PostgreSQL."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_RECORD_ID)
        super().__init__(url_map, *args, **kwargs)
