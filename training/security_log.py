"""Refusals worth a security analyst's eye that are not records of what people did (ASVS 16.3.3).

A form without a valid CSRF token, a rate limit reached, an API call over plain HTTP: each is one
line on the `training.security` logger (through Flask's handler to standard error, or wherever the
operator routes it), as `event key="value" ...`. Values are JSON-quoted, so a path with a line break
cannot forge a second line (ASVS 16.4.1); passwords, tokens and form contents are never logged.
"""

import json
import logging

from flask import request

log = logging.getLogger("training.security")


def security_event(event: str, **fields: object) -> None:
    """Log one refusal of the current request, with its method, path and client address."""
    values = {"method": request.method, "path": request.path[:200], "ip": request.remote_addr or "", **fields}
    log.warning("%s %s", event, " ".join(f"{key}={json.dumps(str(value))}" for key, value in values.items()))


def rate_limit_breached(limit) -> None:
    """Flask-Limiter's `on_breach` callback: which limit, not the key (it may hold an email address)."""
    security_event("rate_limited", limit=limit.limit)
