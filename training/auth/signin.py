"""The last step of every sign-in (password, two-step, single sign-on): a fresh session, then the page asked for."""

from flask import g, redirect, request, session, url_for
from flask_login import login_user

from training.auth import sessions
from training.client import client_ip
from training.urls import is_safe_next


def destination(target: str | None) -> str:
    return target if is_safe_next(target) else url_for("courses.home")


def complete_sign_in(
    user, *, next_path: str | None, remember: bool = False, method: str = "password", authn_context: str = ""
):
    """A fresh session id at every sign-in (ASVS 7.2.4): the old cookie's contents are dropped.

    `method` and `authn_context` (single sign-on) reach the sign-in's audit event through `g`.
    """
    session.clear()
    sessions.start_session(
        user,
        user_agent=request.user_agent.string,
        ip_address=client_ip(),
        remember=remember,
        method=method,
    )
    g.sign_in_method, g.sign_in_authn_context = method, authn_context
    login_user(user)
    return redirect(destination(next_path))
