"""Ending the identity provider's session after ours, for the protocols that offer it.

A protocol registers how to build its provider's logout address from what it kept at sign-in
(`session["sso_logout"]`, e.g. the ID token for OpenID Connect's RP-initiated logout); POST /logout
ends our session first, then sends the browser there.
"""

from collections.abc import Callable

from flask import session

SESSION_KEY = "sso_logout"
_builders: dict[str, Callable[[dict], str | None]] = {}


def register_idp_logout(protocol: str, build: Callable[[dict], str | None]) -> None:
    _builders[protocol] = build


def remember_for_logout(info: dict | None) -> None:
    """Keep what the provider's logout needs (after the sign-in has cleared the session)."""
    if info:
        session[SESSION_KEY] = info


def idp_logout_url() -> str | None:
    """The provider's logout address for this session's sign-in, or None (a password sign-in, or none offered)."""
    info = session.get(SESSION_KEY)
    if not isinstance(info, dict):
        return None
    build = _builders.get(str(info.get("protocol", "")))
    return build(info) if build else None
