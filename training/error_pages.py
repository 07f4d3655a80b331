"""Error answers in the form the caller reads: the HTML error page, or JSON for the API and JSON clients."""

from flask import jsonify, render_template, request

TOO_LARGE_MESSAGE = "The data sent was larger than this site accepts."


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path.endswith(".json")
        or request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, code: str, message: str, title: str | None = None):
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template(
        "error.html", status=status, title=title or _TITLES.get(status, "Error"), message=message
    ), status


_TITLES = {
    400: "Something was wrong with that request",
    401: "Please sign in",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That has already happened",
    410: "No longer available",
    413: "That upload is too large",
    422: "Please check what you entered",
    429: "Too many requests",
    503: "Temporarily unavailable",
}
