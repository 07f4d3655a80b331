"""Structured logs: one JSON object per line, each carrying the request id of the request it is about.

Every request gets an id: the `X-Request-ID` a proxy in front of the app sent (when it looks like an
id), or a new random one. It is returned in the response's `X-Request-ID` header, shown on the
error page, and added to every log line written while the request runs, so that one complaint
("reference 3f2a…") leads to the access-log line, the security-log line and the traceback.

`LOG_FORMAT=json` (the default in production) writes the app's own loggers (`training.*`) as JSON
lines to standard error; under gunicorn, `training.serving.GunicornJsonLogger` writes the access
and error logs the same way (gunicorn.conf.py).
"""

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_JSON_HANDLER_NAME = "training-json-lines"


def init_app(app: Flask) -> None:
    app.before_request(_assign_request_id)
    app.after_request(_return_request_id)
    if app.config["LOG_FORMAT"] == "json":
        write_json_lines(logging.getLogger(app.import_name))
        # Flask-Limiter says on its own logger when Redis is lost and found again; unhandled, that
        # warning would vanish.
        write_json_lines(logging.getLogger("flask-limiter"))


def current_request_id() -> str:
    """The id of the request being handled, or "" outside a request."""
    if not has_request_context():
        return ""
    return g.get("request_id", "")


def _assign_request_id() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _ACCEPTABLE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


def _return_request_id(response):
    if g.get("request_id"):
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def write_json_lines(logger: logging.Logger) -> None:
    """Send `logger` (and its children) to standard error as JSON lines; idempotent per logger."""
    if any(handler.get_name() == _JSON_HANDLER_NAME for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_JSON_HANDLER_NAME)
    handler.setFormatter(JsonLineFormatter())
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    # Flask's own handler would write each line a second time, as plain text.
    from flask.logging import default_handler

    logger.removeHandler(default_handler)


class JsonLineFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, request id, extra fields.

    Extra fields come from `extra={"fields": {...}}`. JSON escaping keeps a value with a line break
    from forging a second log line.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or current_request_id()
        if request_id:
            line["request_id"] = request_id
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
