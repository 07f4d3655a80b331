"""The client of the current request, as the audit record, the security log and refusals name it."""

from flask import request


def client_ip() -> str:
    """The client's IP address, or "" when the server was not told one.

    Behind TRUSTED_PROXY_COUNT proxies, Werkzeug's ProxyFix (`trust_reverse_proxies` in training/__init__.py)
    has already put the address the proxies forwarded into `remote_addr`, so this is never a proxy's own.
    """
    return request.remote_addr or ""
