"""The redirect of plain-HTTP pages to HTTPS goes to the site's own address, never to a client's `Host`.

Talisman rebuilds the request's own URL with `https://`, so a request sent with `Host: evil.example`
(through a proxy or cache that passes the header on) was redirected to https://evil.example/...
With an `https://` PUBLIC_BASE_URL, the address the site is published at, the redirect goes there
instead, keeping the path and query. Without one (the development default is `http://`), Talisman's
redirect stays, but a `Host` that is not a host name at all is refused rather than redirected.
"""

from urllib.parse import quote, urlsplit

from flask import abort, current_app, redirect, request
from flask_talisman import Talisman

INVALID_HOST_MESSAGE = "The request's Host header is not a valid host name."

# Characters kept as they are; everything else is percent-encoded (werkzeug's choice for URLs it builds).
_PATH_SAFE = "/!$&'()*+,:;=@"
_QUERY_SAFE = "!$&'()*+,/:;=?@%"  # the query string arrives percent-encoded already


class SiteTalisman(Talisman):
    """Talisman, with its HTTPS redirect sent to PUBLIC_BASE_URL (ASVS 3.7.2, 4.1.2).

    Talisman decides whether to redirect (FORCE_HTTPS, a view's `force_https=False` such as
    /healthz, X-Forwarded-Proto); only where the redirect goes changes here.
    """

    def _force_https(self):
        response = super()._force_https()
        if response is None:
            return None
        public_base = https_public_base(current_app.config["PUBLIC_BASE_URL"])
        if public_base:
            return redirect(public_location(public_base), code=response.status_code)
        if not request.host:  # Werkzeug reads a Host of invalid characters or port as empty
            abort(400, description=INVALID_HOST_MESSAGE)
        return response


def https_public_base(public_base_url: str) -> str | None:
    """PUBLIC_BASE_URL without its trailing slash if it is an https:// address with a host; else None."""
    parts = urlsplit(public_base_url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return public_base_url.rstrip("/")


def public_location(public_base: str) -> str:
    """This request's path and query (as sent) under the site's public address."""
    location = public_base + quote(request.path, safe=_PATH_SAFE)
    if request.query_string:
        location += "?" + quote(request.query_string, safe=_QUERY_SAFE)
    return location


def plain_http_under(prefix: str) -> bool:
    """With FORCE_HTTPS, a request under `prefix` that came over plain HTTP: the JSON APIs (reporting,
    SCIM) answer it with an error instead of the pages' redirect, which would let a misconfigured
    client go on sending its token unencrypted. HTTPS is counted exactly as Talisman counts it."""
    if not current_app.config["FORCE_HTTPS"] or not request.path.startswith(f"{prefix}/"):
        return False
    return not (request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https")
