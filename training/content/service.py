"""Content operations shared by the CLI and, later, the authoring pages."""

from pathlib import Path

from flask import current_app

from training.content.loader import load_content
from training.content.schema import ContentBundle
from training.content.sync import SyncReport, sync_content
from training.paths import PROJECT_ROOT


def load_configured_content() -> ContentBundle:
    """Read the content folders named in the configuration (modules/ and quizzes/ by default)."""
    return load_content(
        Path(current_app.config["CONTENT_MODULES_DIR"]),
        Path(current_app.config["CONTENT_QUIZZES_DIR"]),
        root=PROJECT_ROOT,
    )


def sync_configured_content(prefer_files: bool = False) -> SyncReport:
    """Sync the configured folders; browser edits are kept unless `prefer_files` (docs/authoring.md)."""
    return sync_content(load_configured_content(), prefer_files=prefer_files)
