"""Configuration read from environment variables, with safe defaults for development."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from training.paths import PROJECT_ROOT
from training.sso.settings import sso_rules
from training.syslog import SyslogDestination, syslog_destination

SSO_SETTINGS = (
    "SSO_EMPLOYEE_ID_ATTRIBUTE",
    "SSO_NAME_ATTRIBUTE",
    "SSO_DEPARTMENT_ATTRIBUTE",
    "SSO_JOB_TITLE_ATTRIBUTE",
    "SSO_GROUPS_ATTRIBUTE",
    "SSO_ROLE_GROUPS",
    "SSO_LINK_BY_EMAIL",
    "SSO_CREATE_ACCOUNTS",
    "SSO_TWO_STEP",
    "SSO_CONTACT",
    "PASSWORD_SIGN_IN_ACCOUNTS",
)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain postgres:// and postgresql:// URLs (as hosting platforms hand them out)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'training.sqlite3'}"
    return normalise_database_url(url)


def engine_options(url: str) -> dict:
    """SQLite waits up to 30 s for a lock instead of failing at once when requests overlap.

    PostgreSQL connections are not tested before each use (`pool_pre_ping`): that was a round trip on every
    request, about 4% of a learner page's CPU. A connection the database dropped (a restart) is handled when
    it fails instead: SQLAlchemy then discards the pool's older connections too, the signed-in user's loader
    tries once more on a new one, and any other request gets web.py's 503 to try again (docs/operations.md).
    """
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {}


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Settings for a run: everything secret or site-specific comes from the environment.

    `overrides` (tests, scripts) win over the environment.
    """
    overrides = overrides or {}
    secret = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY") or _dev_secret_key(instance_path)
    config = {
        "SECRET_KEY": secret,
        # Earlier secret keys, comma-separated, still accepted after SECRET_KEY changes: they keep old
        # session cookies valid and still decrypt stored two-step sign-in secrets.
        "SECRET_KEY_FALLBACKS": [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()],
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "CONTENT_MODULES_DIR": os.environ.get("CONTENT_MODULES_DIR", str(PROJECT_ROOT / "modules")),
        "CONTENT_QUIZZES_DIR": os.environ.get("CONTENT_QUIZZES_DIR", str(PROJECT_ROOT / "quizzes")),
        "ORGANISATION_NAME": os.environ.get("ORGANISATION_NAME", "Demo Health"),
        "ORGANISATION_TIMEZONE": os.environ.get("ORGANISATION_TIMEZONE", "UTC"),
        "COMPLIANCE_DUE_SOON_DAYS": int(os.environ.get("COMPLIANCE_DUE_SOON_DAYS", "30")),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "CERTIFICATE_DESIGN_DIR": os.environ.get("CERTIFICATE_DESIGN_DIR", str(PROJECT_ROOT / "certificates")),
        "CERTIFICATE_LOGO": os.environ.get("CERTIFICATE_LOGO", "logo.svg"),
        "CERTIFICATE_PAGE_SIZE": os.environ.get("CERTIFICATE_PAGE_SIZE", "A4"),
        "CERTIFICATE_PDF_VARIANT": os.environ.get("CERTIFICATE_PDF_VARIANT", "pdf/a-3u"),
        "CERTIFICATE_STORAGE_DIR": os.environ.get("CERTIFICATE_STORAGE_DIR", str(Path(instance_path) / "certificates")),
        # Render a certificate's PDF as soon as it is issued (off: by a job on its first download or export).
        "CERTIFICATE_RENDER_AT_COMPLETION": True,
        "STAFF_IMPORT_DIR": os.environ.get("STAFF_IMPORT_DIR", str(Path(instance_path) / "staff-imports")),
        "AUTHORING_IMPORT_DIR": os.environ.get("AUTHORING_IMPORT_DIR", str(Path(instance_path) / "question-imports")),
        # Where background jobs write their files (finished exports, and the parts a retry continues from).
        "JOBS_RESULT_DIR": os.environ.get("JOBS_RESULT_DIR", str(Path(instance_path) / "exports")),
        # `flask staff sync` refuses a run that would deactivate more than this % of the people the feed manages.
        "STAFF_SYNC_MAX_DEACTIVATE_PERCENT": _whole_number("STAFF_SYNC_MAX_DEACTIVATE_PERCENT", 10, 100),
        # /healthz fails its storage check when any of the three folders above has less free space (MB; 0: off).
        "STORAGE_MIN_FREE_MB": _whole_number("STORAGE_MIN_FREE_MB", 100, 1_000_000),
        "VERIFY_RATE_LIMIT": os.environ.get("VERIFY_RATE_LIMIT", "30 per minute; 300 per hour"),
        "POLICY_MIN_READING_SECONDS": _seconds_setting("POLICY_MIN_READING_SECONDS", 60, 3600),
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        "SCIM_RATE_LIMIT": os.environ.get("SCIM_RATE_LIMIT", "1200 per minute"),
        # SCIM provisioning: a department name the identity provider sends that HR has not made is created
        # (on) or refused with a SCIM error naming it (off, the default, like the CSV import's unticked box).
        "SCIM_CREATE_DEPARTMENTS": os.environ.get("SCIM_CREATE_DEPARTMENTS", "0") == "1",
        "EXPORT_RATE_LIMIT": os.environ.get("EXPORT_RATE_LIMIT", "20 per minute; 200 per hour"),
        "TAMPERING_LOG_LIMIT": os.environ.get("TAMPERING_LOG_LIMIT", "10 per minute"),
        # Background jobs (heavy exports): a redis:// URL of the queue that `flask jobs work` reads; without it
        # the app runs its jobs on a worker thread of its own (docs/operations.md, "Background jobs").
        "JOBS_BROKER_URL": os.environ.get("JOBS_BROKER_URL") or None,
        "JOBS_MAX_TRIES": max(1, _whole_number("JOBS_MAX_TRIES", 3, 20)),
        # Processes a job renders PDFs with (audit packets' transcripts): one per core by default.
        "JOBS_RENDER_PROCESSES": max(1, _whole_number("JOBS_RENDER_PROCESSES", os.cpu_count() or 1, 64)),
        # How long a finished export can be downloaded, in hours.
        "JOBS_RESULT_SECONDS": _whole_number("JOBS_RESULT_HOURS", 24, 24 * 14) * 3600,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        # Redis unreachable: count in each worker's memory until it is back, rather than fail every
        # rate-limited request (sign-in, verification, the API) with a 500 (ASVS 16.5.2).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # "production" (the default) or "development" (`make run`): see _environment_settings.
        "TRAINING_ENV": os.environ.get("TRAINING_ENV", "production"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Sessions (ASVS 7.3): idle timeout, absolute lifetime, and how long "remember me" lasts (0: not offered).
        "SESSION_IDLE_MINUTES": _whole_number("SESSION_IDLE_MINUTES", 30, 24 * 60),
        "SESSION_MAX_HOURS": _whole_number("SESSION_MAX_HOURS", 12, 24 * 7),
        "REMEMBER_ME_DAYS": _whole_number("REMEMBER_ME_DAYS", 14, 30),
        # Two-step sign-in (TOTP) is required of these roles when MFA_REQUIRED is 1 (the default).
        "MFA_REQUIRED": os.environ.get("MFA_REQUIRED", "1") == "1",
        "MFA_REQUIRED_ROLES": ("hr", "admin"),
        # Wrong second-step codes (and wrong passwords on the two-step page) allowed per account and per address.
        "MFA_RATE_LIMIT_ACCOUNT": os.environ.get("MFA_RATE_LIMIT_ACCOUNT", "5 per 5 minutes"),
        "MFA_RATE_LIMIT_ADDRESS": os.environ.get("MFA_RATE_LIMIT_ADDRESS", "20 per 5 minutes"),
        "PASSWORD_RESET_MINUTES": _whole_number("PASSWORD_RESET_MINUTES", 30, 24 * 60),
        "SIGN_IN_RATE_LIMIT_ACCOUNT": os.environ.get("SIGN_IN_RATE_LIMIT_ACCOUNT", "5 per 15 minutes"),
        "SIGN_IN_RATE_LIMIT_ADDRESS": os.environ.get("SIGN_IN_RATE_LIMIT_ADDRESS", "30 per 15 minutes"),
        # Per signed-in person: changing the password and confirming it to end sessions, together.
        "ACCOUNT_PASSWORD_RATE_LIMIT": os.environ.get("ACCOUNT_PASSWORD_RATE_LIMIT", "10 per 15 minutes"),
        # Requests for a password-reset link (each counts), per client address and per email asked for.
        "PASSWORD_RESET_RATE_LIMIT_ADDRESS": os.environ.get("PASSWORD_RESET_RATE_LIMIT_ADDRESS", "10 per hour"),
        "PASSWORD_RESET_RATE_LIMIT_EMAIL": os.environ.get("PASSWORD_RESET_RATE_LIMIT_EMAIL", "3 per hour"),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none).
        "TRUSTED_PROXY_COUNT": _whole_number("TRUSTED_PROXY_COUNT", 0, 5),
        "WTF_CSRF_TIME_LIMIT": None,
        # Reminder emails (training/reminders): no MAIL_SERVER prints them to the console instead.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": os.environ.get("MAIL_PORT", "587"),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "1"),
        "MAIL_USE_SSL": os.environ.get("MAIL_USE_SSL", "0"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", ""),
        "MAIL_TIMEOUT": os.environ.get("MAIL_TIMEOUT", "10"),
        "REMINDER_INTERVAL_DAYS": os.environ.get("REMINDER_INTERVAL_DAYS", "7"),
        # "json" (JSON lines with the request id) or "text"; unset: json in production, text in development.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", ""),
        # The audit record and the security log forwarded to the SIEM as RFC 5424 syslog (empty: not sent).
        "AUDIT_SYSLOG_URL": os.environ.get("AUDIT_SYSLOG_URL", ""),
        "AUDIT_SYSLOG_CA_FILE": os.environ.get("AUDIT_SYSLOG_CA_FILE", ""),
        "AUDIT_SYSLOG_CLIENT_CERT": os.environ.get("AUDIT_SYSLOG_CLIENT_CERT", ""),
        "AUDIT_SYSLOG_CLIENT_KEY": os.environ.get("AUDIT_SYSLOG_CLIENT_KEY", ""),
        "AUDIT_SYSLOG_TIMEOUT": os.environ.get("AUDIT_SYSLOG_TIMEOUT", "5"),
        # Single sign-on: who may come in through the identity provider (docs/sso.md).
        **{name: os.environ.get(name, "") for name in SSO_SETTINGS},
        "PASSWORD_SIGN_IN": os.environ.get("PASSWORD_SIGN_IN", "on"),
        # OpenID Connect sign-in (docs/sso.md): off while OIDC_ISSUER is empty.
        "OIDC_ISSUER": os.environ.get("OIDC_ISSUER", ""),
        "OIDC_CLIENT_ID": os.environ.get("OIDC_CLIENT_ID", ""),
        "OIDC_CLIENT_SECRET": os.environ.get("OIDC_CLIENT_SECRET", ""),
        "OIDC_SCOPES": os.environ.get("OIDC_SCOPES", "openid email profile"),
        "OIDC_BUTTON_LABEL": os.environ.get("OIDC_BUTTON_LABEL", "Sign in with your organization account"),
        # SAML 2.0 sign-in (training/sso/saml): off while SAML_IDP_METADATA is empty.
        "SAML_IDP_METADATA": os.environ.get("SAML_IDP_METADATA", ""),
        "SAML_IDP_METADATA_CA_FILE": os.environ.get("SAML_IDP_METADATA_CA_FILE", ""),
        "SAML_IDP_METADATA_REFRESH_MINUTES": _whole_number("SAML_IDP_METADATA_REFRESH_MINUTES", 60, 7 * 24 * 60),
        "SAML_SP_ENTITY_ID": os.environ.get("SAML_SP_ENTITY_ID", ""),
        "SAML_SP_KEY": os.environ.get("SAML_SP_KEY", ""),
        "SAML_SP_CERT": os.environ.get("SAML_SP_CERT", ""),
        "SSO_SAML_EMAIL_VERIFIED": os.environ.get("SSO_SAML_EMAIL_VERIFIED", "0") == "1",
        "SAML_BUTTON_LABEL": os.environ.get("SAML_BUTTON_LABEL", "Sign in with your organization account"),
    } | overrides
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(config["SQLALCHEMY_DATABASE_URI"]))
    config.setdefault("PERMANENT_SESSION_LIFETIME", longest_session(config))
    for key, value in _environment_settings(config["TRAINING_ENV"]).items():
        config.setdefault(key, value)
    config["LOG_FORMAT"] = _log_format(config)
    config["AUDIT_SYSLOG_DESTINATION"] = _audit_syslog_destination(config)
    config["SSO_RULES"] = sso_rules(config)
    check_oidc_settings(config)
    return config


def check_oidc_settings(config: dict) -> None:
    """OpenID Connect settings that cannot work stop the start with the setting's name: the issuer must be
    an https:// address (plain http only in development, for a provider on this machine), with a client id
    and secret, and the scopes must ask for `openid`."""
    issuer = config["OIDC_ISSUER"]
    if not issuer:
        return
    parts = urlsplit(issuer)
    local_http = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        not parts.hostname
        or parts.query
        or parts.fragment
        or not (parts.scheme == "https" or (local_http and config["TRAINING_ENV"] == "development"))
    ):
        raise ValueError(f"OIDC_ISSUER must be an https:// address without query or fragment, not {issuer!r}")
    for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        if not config[name].strip():
            raise ValueError(f"{name} must be set when OIDC_ISSUER is")
    if "openid" not in config["OIDC_SCOPES"].split():
        raise ValueError(f"OIDC_SCOPES must include openid, not {config['OIDC_SCOPES']!r}")


def _audit_syslog_destination(config: dict) -> SyslogDestination | None:
    """The SIEM's address and TLS files, checked at start-up: a wrong value stops the start with its name."""
    if not config["AUDIT_SYSLOG_URL"]:
        return None
    raw_timeout = config["AUDIT_SYSLOG_TIMEOUT"]
    try:
        timeout = float(raw_timeout)
    except ValueError:
        raise ValueError(f"AUDIT_SYSLOG_TIMEOUT must be a number of seconds, not {raw_timeout!r}") from None
    return syslog_destination(
        config["AUDIT_SYSLOG_URL"],
        ca_file=config["AUDIT_SYSLOG_CA_FILE"],
        client_cert=config["AUDIT_SYSLOG_CLIENT_CERT"],
        client_key=config["AUDIT_SYSLOG_CLIENT_KEY"],
        timeout=timeout,
    )


def _log_format(config: dict) -> str:
    chosen = config["LOG_FORMAT"] or ("json" if config["TRAINING_ENV"] == "production" else "text")
    if chosen not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text, not {chosen!r}")
    return chosen


def longest_session(config: dict) -> timedelta:
    """No session cookie is accepted once signed longer ago than the longest session can last.

    A remembered sign-in's cookie expires with its own server-side record (see web.py); this is
    the outer bound Flask also uses to refuse old signed cookies.
    """
    return max(timedelta(days=config["REMEMBER_ME_DAYS"]), timedelta(hours=config["SESSION_MAX_HOURS"]))


def _environment_settings(environment: str) -> dict:
    """Production: a `__Host-` cookie sent only over HTTPS, HSTS and redirects to HTTPS (ASVS 3.3, 3.4).

    Development serves plain HTTP on 127.0.0.1, where a Secure cookie would not come back.
    """
    if environment not in ("production", "development"):
        raise ValueError(f"TRAINING_ENV must be production or development, not {environment!r}")
    production = environment == "production"
    return {
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
        "FORCE_HTTPS": production,
        "HSTS_SECONDS": 365 * 24 * 3600 if production else 0,
    }


def _dev_secret_key(instance_path: str) -> str:
    """A random key kept in instance/ so development sessions survive a restart.

    Production sets SECRET_KEY; this file is never committed (instance/ is ignored).
    """
    import secrets

    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _whole_number(name: str, default: int, maximum: int) -> int:
    """A whole number from the environment, refused at start-up when out of range."""
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit() or int(raw) > maximum:
        raise ValueError(f"{name} must be a whole number from 0 to {maximum}, not {raw!r}")
    return int(raw)


def _seconds_setting(name: str, default: int, maximum: int) -> int:
    """A whole number of seconds from the environment, refused at start-up when out of range."""
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit() or int(raw) > maximum:
        raise ValueError(f"{name} must be a whole number of seconds from 0 to {maximum}, not {raw!r}")
    return int(raw)
