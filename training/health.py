"""`/healthz`: can this app server do its work? For a load balancer, a monitor or an operator.

Three checks, each cheap enough to run every few seconds: the database answers, its schema is at
the migration this code expects, and the folders the app writes to (certificates, staged imports)
accept a file and have STORAGE_MIN_FREE_MB free. The answer is 200 when all pass and 503 when any
fails, as JSON naming each check. Details that help an attacker (paths, driver errors) go to the
log, with the request id, not into the answer. The route needs no sign-in, writes nothing to the
database and sets no cookie.
"""

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from training.extensions import db, limiter, talisman
from training.paths import PROJECT_ROOT

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

STORAGE_SETTINGS = ("CERTIFICATE_STORAGE_DIR", "STAFF_IMPORT_DIR", "AUTHORING_IMPORT_DIR")
MB = 1024 * 1024  # as `df -m` counts


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


@bp.get("/healthz")
@limiter.exempt
@talisman(force_https=False)  # a load balancer checks each server directly, often over plain HTTP
def healthz():
    checks = run_checks()
    healthy = all(check.ok for check in checks)
    body = {
        "status": "ok" if healthy else "failing",
        "checks": {check.name: {"ok": check.ok, "message": check.message} for check in checks},
    }
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def run_checks() -> list[Check]:
    """Every health check, in order; the migration check is skipped when the database is down."""
    database = check_database()
    migrations = check_migrations() if database.ok else Check("migrations", False, "not checked: no database")
    return [database, migrations, check_storage()]


def check_database() -> Check:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: the database did not answer")
        db.session.rollback()
        return Check("database", False, "the database did not answer")
    finally:
        db.session.remove()
    return Check("database", True, "answers")


def check_migrations() -> Check:
    expected = expected_migration_heads()
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        log.exception("health check: could not read the schema version")
        return Check("migrations", False, "could not read the schema version")
    return migration_status(current, expected)


def migration_status(current: set[str], expected: set[str]) -> Check:
    """Compare the database's schema version with the code's; the message says what to run."""
    if current == expected:
        return Check("migrations", True, f"at {', '.join(sorted(current))}")
    if not current:
        return Check("migrations", False, "the database has no schema version: run `flask db upgrade`")
    found, wanted = ", ".join(sorted(current)), ", ".join(sorted(expected))
    return Check("migrations", False, f"the database is at {found}, this code expects {wanted}: run `flask db upgrade`")


@cache
def expected_migration_heads() -> frozenset[str]:
    """The newest migration(s) shipped with this code; read once, as the files cannot change while running."""
    return frozenset(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())


def check_storage() -> Check:
    """Every storage folder accepts a file and has at least STORAGE_MIN_FREE_MB free.

    The free-space figures warn of a filling disk while writes still work; they name the settings,
    never the paths.
    """
    minimum_mb = current_app.config["STORAGE_MIN_FREE_MB"]
    unwritable, short_of_space = [], []
    for setting in STORAGE_SETTINGS:
        folder = current_app.config[setting]
        if not folder_accepts_a_file(folder):
            unwritable.append(setting)
        elif (free_mb := shutil.disk_usage(folder).free // MB) < minimum_mb:
            short_of_space.append(f"{setting} has {free_mb} MB free")
    problems = []
    if unwritable:
        problems.append("cannot write to " + ", ".join(unwritable))
    if short_of_space:
        problems.append(f"less free space than the {minimum_mb} MB minimum: " + ", ".join(short_of_space))
    if problems:
        return Check("storage", False, "; ".join(problems))
    return Check("storage", True, "writable")


def folder_accepts_a_file(folder: str) -> bool:
    """Create the folder if it is missing (as the app would), then write and remove a small file in it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".healthz-", dir=folder)
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError:
        log.exception("health check: cannot write to %s", folder)
        return False
    return True
