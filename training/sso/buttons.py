"""The sign-in page's single sign-on buttons: one per protocol the organisation configured."""

from flask import current_app, request, url_for

from training.urls import is_safe_next

EXTENSION = "sso_buttons"


def register_sso_button(app, label: str, endpoint: str) -> None:
    """A protocol's init_app calls this when it is configured; the button starts its sign-in."""
    app.extensions.setdefault(EXTENSION, []).append((label, endpoint))


def sso_sign_in_buttons() -> list[tuple[str, str]]:
    """(label, address) pairs; the address carries the page the person was going to, when it is ours."""
    target = request.args.get("next")
    next_path = target if is_safe_next(target) else None
    return [(label, url_for(endpoint, next=next_path)) for label, endpoint in current_app.extensions.get(EXTENSION, [])]
