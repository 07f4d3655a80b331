"""Certificate and transcript PDFs: Jinja templates and stylesheets of the design folder, by WeasyPrint.

The renderers take plain values (`CertificateView`, the transcript's view), never ORM objects, and
read nothing but the files of their design folder and the QR code made for the document: `DesignFetcher`
refuses every network scheme and every path outside that folder. One `FontConfiguration` and one parsed
stylesheet are kept per design for the life of the process, so fonts are loaded once, not on every document.
A certificate is laid over its design's static page when the design marks its slots (`overlay.py`), and
rendered whole by WeasyPrint when it cannot be.
"""

import base64
import io
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta, select_autoescape
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError, path2url

from training.certificates.overlay import DesignFonts, NotOverlayable, TemplatePage, static_body
from training.errors import DomainError

TEMPLATE_NAME = "certificate.html"
STYLESHEET_NAME = "certificate.css"
PAGE_SIZES = {"A4": "A4 landscape", "Letter": "letter landscape"}
QR_MASK = 2
QR_DARK = "#1d2b36"
# WeasyPrint's image cache of a design holds its own images (used on every render) and each certificate's QR
# code (used once); the least recently used entries go first, so the design's stay and memory stays flat.
IMAGE_CACHE_ENTRIES = 64
# A design's static pages kept per organisation name (one in a deployment; a few in tests and benchmarks).
TEMPLATES_KEPT = 8
# The overlay draws the QR code itself, so the template gets no image to decode for it.
NO_QR_IMAGE = "data:,"
PDF_VARIANTS = ("pdf/a-3u", "pdf/a-3b", "pdf/a-2u", "pdf/a-2b", "")
# What `CertificateRenderer.html` gives the certificate template (certificates/README.md lists them).
CERTIFICATE_VARIABLES = frozenset(
    {
        "serial",
        "recipient_name",
        "course_title",
        "course_version",
        "score_percent",
        "completed_on",
        "expires_on",
        "organisation_name",
        "verify_url",
        "issued_at_iso",
        "logo",
        "qr_image",
        "qr_svg",
    }
)


class DesignError(DomainError):
    """The certificate design folder is missing a file or is misconfigured (a fault of the site, not the user)."""

    status = 503
    code = "certificate_design"


@dataclass(frozen=True)
class CertificateView:
    """Everything printed on a certificate, as display-ready text."""

    serial: str
    recipient_name: str
    course_title: str
    course_version: int
    score_percent: int
    completed_on: str
    expires_on: str
    organisation_name: str
    verify_url: str
    issued_at: datetime


@dataclass(frozen=True)
class DesignSettings:
    folder: Path
    page_size: str = "A4"
    pdf_variant: str = "pdf/a-3u"
    logo: str = "logo.svg"


class DesignFetcher(URLFetcher):
    """Serves `file:` URLs inside the design folder and the PNG images made for one document; refuses the rest."""

    def __init__(self, folder: Path, generated: Mapping[str, bytes] | None = None):
        super().__init__(allowed_protocols=("file",))
        self.folder = folder.resolve()
        self.generated = dict(generated or {})

    def fetch(self, url, headers=None):
        if url in self.generated:
            return URLFetcherResponse(url, self.generated[url], {"Content-Type": "image/png"})
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise URLFetchingError(f"Certificates may only use files of their design folder, not {url!r}")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            raise URLFetchingError(f"Certificates may only use files of their design folder, not {url!r}")
        return super().fetch(path2url(str(path)), headers)


class ImageCache(OrderedDict):
    """WeasyPrint's image cache for one design, holding at most `limit` entries, least recently used out first."""

    def __init__(self, limit: int = IMAGE_CACHE_ENTRIES):
        super().__init__()
        self.limit = limit

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


_FONT_CONFIG: FontConfiguration | None = None
# Pango's font objects behind the shared FontConfiguration are not thread-safe, so one thread renders
# at a time. Rendering is CPU-bound Python, so threads would not run it in parallel anyway.
_RENDER_LOCK = threading.RLock()


def font_configuration() -> FontConfiguration:
    """The process's one FontConfiguration: building one per certificate would reload every font."""
    global _FONT_CONFIG
    with _RENDER_LOCK:
        if _FONT_CONFIG is None:
            _FONT_CONFIG = FontConfiguration()
        return _FONT_CONFIG


class DesignDocument:
    """One template and stylesheet of the design folder, rendered through the shared stack.

    Certificates and transcripts both go through here: the same restricted fetcher, the process's one
    FontConfiguration and the render lock. Build it once per design (see `document_for`) and reuse it.
    """

    def __init__(
        self,
        folder: Path,
        template_name: str,
        stylesheet_name: str,
        page_size: str,
        pdf_variant: str,
        extra_files: tuple[str, ...] = (),
    ):
        folder = folder.resolve()
        if pdf_variant not in PDF_VARIANTS:
            raise DesignError(f"PDF variant must be one of {', '.join(repr(v) for v in PDF_VARIANTS)}.")
        for name in (template_name, stylesheet_name, *extra_files):
            if name and not (folder / name).is_file():
                raise DesignError(f"The certificate design folder {folder} has no file {name}.")
        self.folder = folder
        self.pdf_variant = pdf_variant
        self.fetcher = DesignFetcher(folder)
        self.base_url = path2url(str(folder)) + "/"
        self.environment = Environment(
            loader=FileSystemLoader(folder),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            auto_reload=False,
        )
        self.template = self.environment.get_template(template_name)
        self.template_name = template_name
        fonts = font_configuration()
        self.stylesheets = [
            CSS(
                filename=str(folder / stylesheet_name),
                base_url=self.base_url,
                url_fetcher=self.fetcher,
                font_config=fonts,
            ),
            CSS(string=f"@page {{ size: {page_size}; }}", font_config=fonts),
        ]
        self.cache = ImageCache()

    def html(self, **context) -> str:
        return self.template.render(**context)

    def variables(self) -> set[str]:
        """The names the template reads from its context."""
        source = self.environment.loader.get_source(self.environment, self.template_name)[0]
        return meta.find_undeclared_variables(self.environment.parse(source))

    def render(self, html: str, identifier: bytes, images: Mapping[str, bytes] | None = None) -> bytes:
        """PDF bytes of the rendered HTML; metadata (title, author, dates) comes from its <head>.

        `images` are generated for this document (a QR code), by the `data:` URL the HTML uses for each.
        """
        fetcher = DesignFetcher(self.folder, images) if images else self.fetcher
        document = HTML(string=html, base_url=self.base_url, url_fetcher=fetcher)
        options = {
            "stylesheets": self.stylesheets,
            "font_config": font_configuration(),
            "pdf_identifier": identifier,
            "cache": self.cache,
        }
        if self.pdf_variant:
            options["pdf_variant"] = self.pdf_variant
        with _RENDER_LOCK:
            return document.write_pdf(**options)


@lru_cache(maxsize=8)
def document_for(
    folder: Path, template_name: str, stylesheet_name: str, page_size: str, pdf_variant: str
) -> DesignDocument:
    return DesignDocument(folder, template_name, stylesheet_name, page_size, pdf_variant)


class CertificateRenderer:
    """Renders certificates with one design; build it once (see `renderer_for`) and reuse it."""

    def __init__(self, settings: DesignSettings):
        if settings.page_size not in PAGE_SIZES:
            raise DesignError(f"Page size must be one of {', '.join(PAGE_SIZES)}, not {settings.page_size!r}.")
        self.settings = settings
        self.document = DesignDocument(
            settings.folder,
            TEMPLATE_NAME,
            STYLESHEET_NAME,
            PAGE_SIZES[settings.page_size],
            settings.pdf_variant,
            extra_files=(settings.logo,),
        )
        unknown = self.document.variables() - CERTIFICATE_VARIABLES
        if unknown:
            # A design fault (503) that names the variable, not a Jinja error in the middle of a render.
            raise DesignError(
                f"The certificate template uses {', '.join(sorted(unknown))}, which the renderer does not provide; "
                "see certificates/README.md for the variables it does."
            )
        self.uses_qr_svg = "qr_svg" in self.document.variables()
        self.fonts = DesignFonts(settings.folder.resolve(), STYLESHEET_NAME)
        self.templates: OrderedDict[str, TemplatePage | None] = OrderedDict()
        self.overlayable = self._keeps_changes_in_slots()

    def html(self, view: CertificateView, qr_image: str) -> str:
        # Designs from before the PNG code draw `qr_svg`; it costs a seventh of a render, so only they get it.
        older = {"qr_svg": qr_svg(view.verify_url)} if self.uses_qr_svg else {}
        return self.document.html(
            **older,
            serial=view.serial,
            recipient_name=view.recipient_name,
            course_title=view.course_title,
            course_version=view.course_version,
            score_percent=view.score_percent,
            completed_on=view.completed_on,
            expires_on=view.expires_on,
            organisation_name=view.organisation_name,
            verify_url=view.verify_url,
            issued_at_iso=view.issued_at.isoformat(timespec="seconds"),
            logo=self.settings.logo,
            qr_image=qr_image,
        )

    def render(self, view: CertificateView) -> bytes:
        """The certificate as PDF bytes; the same view and design always give the same bytes.

        Its text laid over the design's static page when the design marks its slots and the text fits them
        (certificates/README.md); otherwise, or for a design without slots, rendered whole by WeasyPrint.
        """
        template = self.template_for(view.organisation_name)
        if template is not None:
            qr = segno.make_qr(view.verify_url, error="m", mask=QR_MASK)
            pdf = template.certificate(self.html(view, NO_QR_IMAGE), qr, view.serial.encode())
            if pdf is not None:
                return pdf
        return self.render_whole(view)

    def render_whole(self, view: CertificateView) -> bytes:
        """The certificate laid out and written by WeasyPrint, as every certificate was before the overlay."""
        png = qr_png(view.verify_url)
        url = data_url(png)
        return self.document.render(self.html(view, url), view.serial.encode(), images={url: png})

    def template_for(self, organisation_name: str) -> TemplatePage | None:
        """The design's static page for this organisation, rendered once; None for a design that has no slots."""
        if not self.overlayable:
            return None
        with _RENDER_LOCK:
            if organisation_name not in self.templates:
                self.templates[organisation_name] = self._template(organisation_name)
                while len(self.templates) > TEMPLATES_KEPT:
                    self.templates.popitem(last=False)
            return self.templates[organisation_name]

    def _template(self, organisation_name: str) -> TemplatePage | None:
        view = replace(SAMPLE_VIEWS[0], organisation_name=organisation_name)
        png = qr_png(view.verify_url)
        url = data_url(png)
        fetcher = DesignFetcher(self.document.folder, {url: png})
        try:
            with _RENDER_LOCK:
                return TemplatePage.render(
                    self.html(view, url), self.document, font_configuration(), self.fonts, fetcher
                )
        except NotOverlayable:
            return None

    def _keeps_changes_in_slots(self) -> bool:
        """Whether everything the samples differ in is inside slots, so one static page serves them all."""
        first, second = (static_body(self.html(view, NO_QR_IMAGE)) for view in SAMPLE_VIEWS)
        return first == second and "slot=" in first


def qr_png(url: str) -> bytes:
    """The URL as a QR code: a PNG of one pixel per module, which the design scales up without smoothing.

    An inline SVG code cost WeasyPrint about a seventh of a certificate's render to parse and draw.
    """
    # A fixed mask pattern skips segno's scoring of all eight (about 3 ms of a certificate's render);
    # any of the eight is valid and every reader handles them all.
    qr = segno.make_qr(url, error="m", mask=QR_MASK)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=1, border=2, dark=QR_DARK)
    return buffer.getvalue()


def qr_svg(url: str) -> Markup:
    """The URL as a QR code in inline SVG, for designs made before `qr_image`."""
    qr = segno.make_qr(url, error="m", mask=QR_MASK)
    svg = qr.svg_inline(scale=1, border=2, dark=QR_DARK, omitsize=True)
    return Markup(svg)  # noqa: S704 - segno's own output, and the URL inside it is escaped by segno


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# Two certificates that differ in every field a design may print per certificate (not the organisation).
SAMPLE_VIEWS = (
    CertificateView(
        serial="7KQ2-M9XD-4HRT-B3VW",
        recipient_name="Maria Delgado-Fitzgerald",
        course_title="Patient Confidentiality and HIPAA on Social Media",
        course_version=3,
        score_percent=90,
        completed_on="12 March 2026",
        expires_on="12 March 2027",
        organisation_name="",
        verify_url="https://training.example.org/verify/7KQ2M9XD4HRTB3VW",
        issued_at=datetime(2026, 3, 12, 10, 30, tzinfo=UTC),
    ),
    CertificateView(
        serial="B3VW-4HRT-M9XD-7KQ2",
        recipient_name="Amara Okonkwo",
        course_title="Fire Safety",
        course_version=12,
        score_percent=100,
        completed_on="1 January 2025",
        expires_on="1 January 2026",
        organisation_name="",
        verify_url="https://other.example.org/verify/B3VW4HRTM9XD7KQ2",
        issued_at=datetime(2025, 1, 1, 8, 0, tzinfo=UTC),
    ),
)


@lru_cache(maxsize=4)
def renderer_for(settings: DesignSettings) -> CertificateRenderer:
    return CertificateRenderer(settings)
