"""Flask extensions, created unbound and initialised in the application factory."""

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
limiter = Limiter(key_func=get_remote_address, on_breach=rate_limit_breached)
talisman = SiteTalisman()
