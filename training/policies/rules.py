"""Pure rules for policies: slugs, the text fingerprint of a version, the default statement, reading time."""

import hashlib
import math
import re
import unicodedata
from datetime import datetime

SLUG_MAX = 64
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Addresses the policy pages use themselves: a policy with such a slug could never be opened.
RESERVED_SLUGS = frozenset({"manage", "new"})
STATEMENT_MAX = 500


def slugify(title: str) -> str:
    """A web address part from a title: "Social Media & You" -> "social-media-you" (ASCII, at most 64)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def slug_problem(slug: str) -> str | None:
    """Why a slug cannot be used, or None when it can."""
    if not slug:
        return "Enter an address, or a title it can be made from."
    if len(slug) > SLUG_MAX:
        return f"Use at most {SLUG_MAX} characters."
    if not SLUG_PATTERN.match(slug):
        return "Use lower-case letters, digits and single hyphens only, such as social-media-policy."
    if slug in RESERVED_SLUGS:
        return f"The address {slug!r} is used by the site itself; choose another."
    return None


def normalise_body(body: str) -> str:
    """The stored text: Unix line endings, no trailing spaces on lines, no blank lines at either end."""
    lines = (body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def content_hash(body: str) -> str:
    """SHA-256 of the normalised text: two versions with the same hash say the same thing."""
    return hashlib.sha256(normalise_body(body).encode("utf-8")).hexdigest()


def default_statement(title: str, version: int) -> str:
    return f"I have read and will follow {title}, version {version}."[:STATEMENT_MAX]


def seconds_left(opened_at: datetime, min_reading_seconds: int, now: datetime) -> int:
    """Whole seconds (rounded up) until the minimum reading time since `opened_at` has passed; 0 when it has."""
    remaining = min_reading_seconds - (now - opened_at).total_seconds()
    return max(0, math.ceil(remaining))


def reading_time(seconds: int) -> str:
    """Seconds in words: "1 minute", "2 minutes 30 seconds", "45 seconds"."""
    minutes, rest = divmod(max(0, seconds), 60)
    parts = [f"{minutes} minute{'' if minutes == 1 else 's'}"] if minutes else []
    if rest or not minutes:
        parts.append(f"{rest} second{'' if rest == 1 else 's'}")
    return " ".join(parts)
