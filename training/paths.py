"""Where the project's own folders are: the checkout holds the content files, templates and certificate design."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
