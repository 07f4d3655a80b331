"""The authoring guide (docs/authoring.md) as a page of the app, so that authors' pages link it instead of
naming files and commands."""

from markupsafe import Markup

from training.markdown import render_document
from training.paths import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "authoring.md"


def authoring_guide() -> Markup:
    return render_document(GUIDE.read_text(encoding="utf-8"))
