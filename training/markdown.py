"""Markdown to safe HTML: raw HTML is disabled in the parser and the output is sanitised again."""

import re
from functools import lru_cache
from itertools import pairwise

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}


@lru_cache(maxsize=512)
def render_markdown(text: str) -> Markup:
    """Render author Markdown to HTML that cannot carry scripts, styles or event handlers."""
    html = _parser.render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above


def heading_id(text: str) -> str:
    """A heading's anchor: `Import and export` -> `import-and-export`."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


@lru_cache(maxsize=8)
def render_document(text: str) -> Markup:
    """Render one of the product's own guides (docs/*.md) as a help page: sanitised as author text is, with a
    top heading and an id on every heading, so that pages can link a section."""
    tokens = _parser.parse(text or "")
    for token, inline in pairwise(tokens):
        if token.type == "heading_open":
            token.attrSet("id", heading_id(inline.content))
    html = _parser.renderer.render(tokens, _parser.options, {})
    headings = {tag: {"id"} for tag in ("h1", "h2", "h3", "h4")}
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS | {"h1"},
        attributes={**ALLOWED_ATTRIBUTES, **headings},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above
