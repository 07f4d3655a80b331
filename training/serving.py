"""Production serving under gunicorn (gunicorn.conf.py): JSON-lines logs and a start-up check.

Only gunicorn imports this module; the app itself does not depend on gunicorn being installed.
"""

import gc
import os

from gunicorn.glogging import Logger
from jinja2 import FileSystemBytecodeCache

from training.logs import REQUEST_ID_HEADER, JsonLineFormatter


class GunicornJsonLogger(Logger):
    """Gunicorn's access and error logs as JSON lines, the access line carrying the request id.

    The access line leaves out the query string and the referrer, which can carry a password-reset
    token or a search for a person's name.
    """

    def setup(self, cfg):
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(JsonLineFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        request_id = next((value for name, value in resp.headers if name.lower() == REQUEST_ID_HEADER.lower()), "")
        fields = {
            "remote_addr": environ.get("REMOTE_ADDR", ""),
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "status": int(str(resp.status).split(None, 1)[0]),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
        }
        self.access_log.info("request", extra={"fields": fields, "request_id": request_id})


def startup_problems(config: dict, environ=os.environ) -> list[str]:
    """What stops this configuration from serving production traffic, in words an operator can act on.

    Checked once by gunicorn's master before it starts any worker (`on_starting` in
    gunicorn.conf.py), so a mistake stops the start instead of failing requests one by one.
    """
    problems = []
    production = config["TRAINING_ENV"] == "production"
    if production and not environ.get("SECRET_KEY"):
        problems.append(
            "SECRET_KEY is not set. Every app server must share one secret key, or sign-ins break "
            'between servers: generate one with `python -c "import secrets; print(secrets.token_hex(32))"`.'
        )
    if production and config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        problems.append("DATABASE_URL is not set to PostgreSQL: production serving needs a postgresql:// URL.")
    return problems


def check_before_serving(app) -> list[str]:
    """Start-up problems plus the failing health checks (database, migrations, storage)."""
    from training.extensions import db
    from training.health import run_checks

    problems = startup_problems(app.config)
    with app.app_context():
        problems += [f"{check.name}: {check.message}" for check in run_checks() if not check.ok]
        db.engine.dispose()  # the master forks workers; none of them may inherit its connections
    return problems


def warm_up(app) -> None:
    """Do, once in a new worker, what would otherwise make its first requests slow: compile every template,
    read the published courses and their questions into the content cache, and render their modules.

    The compiled templates are kept on disk for the next worker (Jinja's FileSystemBytecodeCache, in a folder of
    the server's user that only it may read or write, which Jinja checks), so that a worker replacing a recycled
    one loads them instead of compiling them again: the warm-up took 700 ms of CPU without it and 300 ms with it,
    and a saturated server replaces a worker every few seconds (`max_requests`).

    The learner's progress statement is run too, for no one (user id 0), with and without recent attempts:
    SQLAlchemy compiles a statement the first time a process runs it, and compiling that union of six
    queries for PostgreSQL took 200 to 400 ms of CPU.

    Last, what is left is moved out of the garbage collector's sight (`gc.freeze`): the app, its templates and
    its caches live as long as the worker, and a full collection walking them (about 265,000 objects) took
    90 ms on a quiet machine and 200 ms or more under load, at a moment no request chose.

    Gunicorn calls it before the worker takes a request (`post_worker_init` in gunicorn.conf.py), and again
    for each worker that replaces a recycled one. Without it, the first pages each new worker served took up
    to 300 ms under bench/load.py's paced learners, against 16 ms at the 99th percentile once warm. A
    database that cannot be read now only leaves the cache to the first request: the worker still starts.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from training.content import catalog
    from training.courses.services import progress_for
    from training.markdown import render_markdown

    if app.jinja_env.bytecode_cache is None:
        app.jinja_env.bytecode_cache = _template_bytecode_cache(app)
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    with app.app_context():
        try:
            courses = catalog.published_courses()
            for course in courses:
                catalog.drawable_versions(course.id)
                for module in course.modules:
                    render_markdown(module.body)
            for recent in (0, 1):
                progress_for(0, courses, recent=recent)
        except SQLAlchemyError as exc:
            app.logger.warning("worker warm-up skipped the content cache: %s", exc)
    gc.collect()
    gc.freeze()


def _template_bytecode_cache(app) -> "KeptTemplates | None":
    """Jinja's cache of compiled templates in its folder of the server's user, or none (said in the log) when that
    folder cannot be made or is not safe: another account owns it, or it is not a folder. The worker then
    compiles its templates itself, as without the cache; it must not fail to start for want of a cache."""
    try:
        return KeptTemplates(app.logger)
    except (OSError, RuntimeError) as exc:
        app.logger.warning("worker warm-up keeps no compiled templates on disk: %s", exc)
        return None


class KeptTemplates(FileSystemBytecodeCache):
    """Jinja's FileSystemBytecodeCache, except that a compiled template it cannot write (a full disk, its folder
    removed) is only not kept: the template is still used, and the log says so once per worker."""

    def __init__(self, logger, directory: str | None = None) -> None:
        super().__init__(directory)
        self.logger = logger
        self.warned = False

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            if not self.warned:
                self.logger.warning("compiled templates are not kept on disk: %s", exc)
                self.warned = True
