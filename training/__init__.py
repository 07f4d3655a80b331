"""The staff-training application: `create_app()` builds a configured Flask app."""

from flask import Flask

from training import logs
from training.config import PROJECT_ROOT, load_config
from training.urls import RecordIdConverter


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.update(load_config(app.instance_path, config))
    refuse_debug_outside_development(app)
    trust_reverse_proxies(app)
    app.url_map.converters["int"] = RecordIdConverter
    logs.init_app(app)  # first, so that every later hook (CSRF, rate limits) and error page knows the request id
    register_extensions(app)
    register_blueprints(app)
    register_sso(app)
    register_cli(app)
    register_web(app)
    return app


def refuse_debug_outside_development(app: Flask) -> None:
    """The debugger runs code typed into the browser: never outside development (ASVS 13.4.2)."""
    if app.debug and app.config["TRAINING_ENV"] != "development":
        raise RuntimeError("Debug mode is only allowed with TRAINING_ENV=development.")


def trust_reverse_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_COUNT proxies, take the client's address and scheme from X-Forwarded-*."""
    count = app.config["TRUSTED_PROXY_COUNT"]
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_extensions(app: Flask) -> None:
    from training.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from training import session_end

    session_end.init_app(app)  # after db.init_app: its teardown runs first
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    from training.web import refuse_malformed_referrer

    app.before_request(refuse_malformed_referrer)  # before CSRFProtect's own check, which would fail with a 500
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    import training.auth.search  # keeps the words people are found by, at each commit
    import training.compliance.subscribers
    import training.models  # every model registered before the mappers configure
    import training.reports.exports  # noqa: F401 - registers the export jobs and their ready email
    from training.audit import forwarding

    forwarding.init_app(app)
    from training.jobs import queue

    queue.init_app(app, factory=create_app)


def register_blueprints(app: Flask) -> None:
    from training.api.routes import bp as api_bp
    from training.api.token_routes import bp as api_tokens_bp
    from training.auth.account_routes import bp as account_bp
    from training.auth.mfa_routes import bp as mfa_bp
    from training.auth.reset_routes import bp as password_reset_bp
    from training.auth.routes import bp as auth_bp
    from training.authoring.courses.routes import bp as authoring_courses_bp
    from training.authoring.questions.routes import bp as authoring_bp
    from training.authoring.stats.routes import bp as authoring_stats_bp
    from training.authoring.transfer.routes import bp as authoring_transfer_bp
    from training.certificates.routes import bp as certificates_bp
    from training.compliance import status_routes  # noqa: F401 - adds its routes to the courses and policies blueprints
    from training.compliance.routes import bp as compliance_bp
    from training.courses.quiz_routes import bp as quizzes_bp
    from training.courses.routes import bp as courses_bp
    from training.health import bp as health_bp
    from training.integrations.routes import bp as integrations_bp
    from training.policies.routes import bp as policies_bp
    from training.reminders.routes import bp as reminders_bp
    from training.reports.audit_routes import bp as audit_bp
    from training.reports.routes import bp as reports_bp
    from training.scim.routes import bp as scim_bp
    from training.scim.token_routes import bp as scim_tokens_bp
    from training.staff.routes import bp as staff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(password_reset_bp)
    app.register_blueprint(mfa_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(quizzes_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(compliance_bp)
    app.register_blueprint(policies_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(scim_bp)
    app.register_blueprint(scim_tokens_bp)
    app.register_blueprint(authoring_bp)
    app.register_blueprint(authoring_courses_bp)
    app.register_blueprint(authoring_stats_bp)
    app.register_blueprint(authoring_transfer_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(integrations_bp)


def register_sso(app: Flask) -> None:
    """The single sign-on protocols the organisation configured; each registers nothing when it is not."""
    from training.sso import oidc_routes, saml

    oidc_routes.init_app(app)
    saml.init_app(app)


def register_cli(app: Flask) -> None:
    from training.audit.cli import audit_cli
    from training.auth.cli import users_cli
    from training.certificates.cli import certificates_cli
    from training.cli import demo_command
    from training.compliance.cli import compliance_cli
    from training.content.cli import content_cli
    from training.jobs.cli import jobs_cli
    from training.reminders.cli import reminders_cli
    from training.staff.cli import staff_cli

    app.cli.add_command(content_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(compliance_cli)


def register_web(app: Flask) -> None:
    from training import web

    web.init_app(app)
