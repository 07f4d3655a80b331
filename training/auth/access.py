"""Route guards by role. Per-record checks live in the services that load the record."""

from functools import wraps

from flask_login import current_user, login_required

from training.errors import Forbidden


def roles_required(*roles: str):
    """Signed in, and holding one of `roles`; anyone else gets a 403 page."""

    def decorator(view):
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_user.role not in roles:
                raise Forbidden("Your account does not have access to this page.")
            return view(*args, **kwargs)

        return guarded

    return decorator
