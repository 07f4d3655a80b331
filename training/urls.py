"""Checks for URLs that come from the request."""

from urllib.parse import urlsplit


def is_safe_next(target: str | None) -> bool:
    """True only for a path on this site, such as '/courses/x?y=1' (never '//evil' or 'https://...')."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
