"""Flask extensions, created unbound and initialised in the application factory."""

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from training.db import Base
from training.https_redirect import SiteTalisman
from training.security_log import rate_limit_breached

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class RouteLimiter(Limiter):
    """Flask-Limiter without its before-request pass on the routes it has nothing to check for.

    Our limits are all on routes (decorators, which check them when the view is called): no default,
    application, meta or blueprint limits. Flask-Limiter still resolved and filtered limit lists before every
    request, about 2% of a learner page's CPU; it is skipped while none of those exist, no earlier request
    hinted a limit for this endpoint and the storage is reachable (its in-memory fallback needs the full pass).
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and self._nothing_before_views():
            return
        super()._check_request_limit(callable_name, in_middleware)

    def _nothing_before_views(self) -> bool:
        manager = self.limit_manager
        return not (
            manager._application_limits
            or manager._default_limits
            or manager._blueprint_limits
            or self._meta_limits
            or self._storage_dead
            or manager.has_hints(request.endpoint or "")
        )


limiter = RouteLimiter(key_func=get_remote_address, on_breach=rate_limit_breached)
talisman = SiteTalisman()
