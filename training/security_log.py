"""Refusals worth a security analyst's eye that are not records of what people did (ASVS 16.3.3).

A form without a valid CSRF token, a rate limit reached, an API call over plain HTTP: each is one
line on the `training.security` logger (through Flask's handler to standard error, or wherever the
operator routes it), as `event key="value" ...`. Values are JSON-quoted, so a path with a line break
cannot forge a second line (ASVS 16.4.1); passwords, tokens and form contents are never logged.

Refusals that only a crafted request can cause (an option that is not in the attempt, another
person's attempt or staged-import token, a department the viewer may not filter by) are `tampering`
lines naming the person and address. They are counted per address and person with the `limits`
library in the rate limiter's storage (Redis when REDIS_URL is set): past TAMPERING_LOG_LIMIT a
flood writes one `tampering_suppressed` line, and the next line written carries how many were left out.
"""

import json
import logging

from flask import current_app, request
from flask_login import current_user
from limits import parse
from sqlalchemy import inspect

from training.client import client_ip

log = logging.getLogger("training.security")
ANONYMOUS = "anonymous"
# How long a count of left-out tampering lines waits for the next line written to report it.
SUPPRESSED_COUNT_SECONDS = 24 * 60 * 60


def security_event(event: str, **fields: object) -> None:
    """Log one refusal of the current request, with its method, path and client address."""
    values = {"method": request.method, "path": request.path[:200], "ip": client_ip(), **fields}
    log.warning("%s %s", event, " ".join(f"{key}={json.dumps(str(value))}" for key, value in values.items()))


def rate_limit_breached(limit) -> None:
    """Flask-Limiter's `on_breach` callback: which limit, not the key (it may hold an email address)."""
    security_event("rate_limited", limit=limit.limit)


def signed_in_person() -> str:
    """The signed-in person's id, or "anonymous"; read from the identity map, so no query is made
    even if the request's transaction was rolled back and expired the object."""
    if not current_user.is_authenticated:
        return ANONYMOUS
    identity = inspect(current_user._get_current_object()).identity
    return str(identity[0]) if identity else ANONYMOUS


def tampering(what: str, **details: object) -> None:
    """Log a refusal only a crafted request can cause, at most TAMPERING_LOG_LIMIT lines per address and person."""
    person = signed_in_person()
    limit = parse(current_app.config["TAMPERING_LOG_LIMIT"])
    try:
        written, left_out = _count_tampering(limit, client_ip(), person)
    except Exception:  # the limiter's storage is unreachable: log unthrottled rather than fail the answer
        written, left_out = True, 0
    if written:
        counted = {"suppressed_before": left_out} if left_out else {}
        security_event("tampering", what=what, person=person, **details, **counted)
    elif left_out == 1:
        security_event("tampering_suppressed", what=what, person=person, limit=limit)


def _count_tampering(limit, address: str, person: str) -> tuple[bool, int]:
    """Count one tampering refusal: (write its line?, lines left out). Written: the lines left out
    since the last one written, now reported; not written: this one's number among those left out."""
    strategy = next(iter(current_app.extensions["limiter"])).limiter
    left_out_key = f"tampering-suppressed/{address}/{person}"
    if strategy.hit(limit, "tampering", address, person):
        left_out = strategy.storage.get(left_out_key)
        if left_out:
            strategy.storage.clear(left_out_key)
        return True, left_out
    return False, strategy.storage.incr(left_out_key, SUPPRESSED_COUNT_SECONDS)
