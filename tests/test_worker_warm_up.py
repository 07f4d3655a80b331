"""A new gunicorn worker warms up before its first request (training/serving.py, gunicorn.conf.py's
post_worker_init): templates compiled, the published content cached, the collector's long-lived objects frozen."""

import gc
import logging
import os
import tempfile
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment, FileSystemBytecodeCache

from training import create_app
from training.config import PROJECT_ROOT
from training.content.loader import load_content
from training.content.models import Course
from training.content.sync import sync_content
from training.extensions import db
from training.serving import KeptTemplates, warm_up


@pytest.fixture
def frozen_objects_released():
    """warm_up freezes what is alive; the test process gets its collector back afterwards."""
    yield
    gc.unfreeze()


def _app_on(database: Path):
    settings = {"TESTING": True, "SECRET_KEY": "warm-up test key", "TRAINING_ENV": "development"}
    return create_app(
        settings | {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "RATELIMIT_STORAGE_URI": "memory://"}
    )


def _template_names_cached(app) -> set[str]:
    return {name for _loader, name in app.jinja_env.cache}


def test_a_warmed_worker_has_every_template_compiled_and_every_published_course_cached(app, frozen_objects_released):
    with app.app_context():
        sync_content(load_content(PROJECT_ROOT / "modules", PROJECT_ROOT / "quizzes", root=PROJECT_ROOT))
        published = set(db.session.scalars(db.select(Course.id).where(Course.published.is_(True))))
    assert len(published) >= 2

    warm_up(app)

    assert _template_names_cached(app) == set(app.jinja_env.list_templates())
    entries = app.extensions["content_catalog"]["entries"]
    assert {key[1] for key in entries if isinstance(key, tuple) and key[0] == "drawable"} == published
    assert all(entries[("drawable", course_id)] for course_id in published)  # the questions a quiz draws from
    assert gc.get_freeze_count() > 10_000


def test_a_worker_whose_database_cannot_be_read_still_starts_and_says_why(tmp_path, caplog, frozen_objects_released):
    app = _app_on(tmp_path / "never-migrated.sqlite3")
    with caplog.at_level(logging.WARNING):
        warm_up(app)

    assert "worker warm-up skipped the content cache" in caplog.text
    assert _template_names_cached(app) == set(app.jinja_env.list_templates())
    assert isinstance(app.jinja_env.bytecode_cache, FileSystemBytecodeCache)  # the next worker loads, not compiles


def test_a_worker_whose_template_cache_folder_is_not_safe_starts_without_it(
    tmp_path, monkeypatch, caplog, frozen_objects_released
):
    """A file where Jinja's folder would be, as another account could leave: the worker compiles its templates."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / f"_jinja2-cache-{os.getuid()}").write_text("not a folder")
    app = _app_on(tmp_path / "never-migrated.sqlite3")
    with caplog.at_level(logging.WARNING):
        warm_up(app)

    assert "keeps no compiled templates on disk" in caplog.text
    assert app.jinja_env.bytecode_cache is None
    assert _template_names_cached(app) == set(app.jinja_env.list_templates())


def test_a_compiled_template_that_cannot_be_kept_is_still_used_and_said_once(tmp_path, caplog):
    """Writing the compiled template fails (here its folder is gone; a full disk fails the same way)."""
    logger = logging.getLogger("warm-up test")
    templates = Environment(
        autoescape=True,
        loader=DictLoader({"a.html": "A {{ x }}", "b.html": "B {{ x }}"}),
        bytecode_cache=KeptTemplates(logger, str(tmp_path / "removed")),
    )
    with caplog.at_level(logging.WARNING, logger="warm-up test"):
        rendered = [templates.get_template(name).render(x=1) for name in ("a.html", "b.html")]

    assert rendered == ["A 1", "B 1"]
    assert caplog.text.count("compiled templates are not kept on disk") == 1
