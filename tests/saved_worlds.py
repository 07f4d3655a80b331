"""Worlds built once per test module and restored for each of its tests.

Building an organisation through the services (people, a completed course, policies, tokens) takes
far longer than the request a test then checks. `built_once` builds it in the first test of a
module that asks for it, keeps every row of every table and the files in certificate storage, and
gives each later test of the module (on the same backend) an exact copy instead: the same rows
with the same ids, so the ids the builder returned still name them. Each test still has a database
of its own, restored before it starts and emptied after it, so a test may change its world freely.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Integer, delete, select, text

from training.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class SavedWorld:
    """What a builder returned, the rows of every table in dependency order and the stored files."""

    value: object
    rows: dict[str, list[dict]]
    files: dict[str, bytes]


# Tables written by triggers on other tables (the people list's counts, by triggers on "user").
KEPT_BY_TRIGGERS = ("people_count",)

# Settings that name this test's own folders and database: they differ in every test, and a world
# moves between them whole.
PER_TEST_SETTINGS = frozenset(
    {"SQLALCHEMY_DATABASE_URI", "CONTENT_MODULES_DIR", "CONTENT_QUIZZES_DIR", "CERTIFICATE_STORAGE_DIR"}
)


def built_once(saved: dict, name: str, app, build: Callable[[], T]) -> T:
    """The world `build` makes, built in this test if `saved` holds none of this name for an app
    of these settings (and this backend) yet, and otherwise restored from there into this test's
    database; returns what `build` returned."""
    key = (name, _settings_of(app))
    if key in saved:
        restore(app, saved[key])
        return saved[key].value
    value = build()
    saved[key] = save(app, value)
    return value


def _settings_of(app) -> str:
    """The app's settings but its own folders, and its database's backend: what a world may depend on."""
    settings = sorted((name, repr(value)) for name, value in app.config.items() if name not in PER_TEST_SETTINGS)
    return repr((app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0], settings))


def save(app, value) -> SavedWorld:
    with app.app_context():
        rows = {
            table.name: [dict(row) for row in db.session.execute(select(table).order_by(*table.primary_key)).mappings()]
            for table in db.metadata.sorted_tables
        }
        db.session.remove()
    return SavedWorld(value, rows, _stored_files(Path(app.config["CERTIFICATE_STORAGE_DIR"])))


def restore(app, world: SavedWorld) -> None:
    """Replace whatever the test's fixtures wrote so far with the saved rows and files."""
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        if postgresql:
            db.session.execute(text("SET LOCAL session_replication_role = replica"))  # audit rows too
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        tables = db.metadata.sorted_tables
        if not postgresql:  # triggers stay on: restoring "user" writes people_count, then the saved rows replace it
            tables = [t for t in tables if t.name not in KEPT_BY_TRIGGERS] + [db.metadata.tables[KEPT_BY_TRIGGERS[0]]]
        for table in tables:
            if table.name in KEPT_BY_TRIGGERS:
                db.session.execute(delete(table))
            if world.rows[table.name]:
                db.session.execute(table.insert(), world.rows[table.name])
        if postgresql:
            _continue_sequences_after_the_restored_ids()
        db.session.commit()
        db.session.remove()
    _restore_files(Path(app.config["CERTIFICATE_STORAGE_DIR"]), world.files)


def _continue_sequences_after_the_restored_ids() -> None:
    """Each table's sequence goes on after its highest restored id, all in one statement."""
    settings = [
        f"setval(pg_get_serial_sequence('\"{key.table.name}\"', '{key.name}'), "
        f'COALESCE((SELECT MAX("{key.name}") FROM "{key.table.name}"), 0) + 1, false)'
        for key in _serial_keys()
    ]
    db.session.execute(text("SELECT " + ", ".join(settings)))


def _serial_keys():
    """The integer primary keys numbered by a sequence (single-column, autoincrementing)."""
    for table in db.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer) and keys[0].autoincrement in (True, "auto"):
            yield keys[0]


def _stored_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def _restore_files(folder: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
