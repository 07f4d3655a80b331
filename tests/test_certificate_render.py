"""The certificate PDF itself, read back with pypdf: layout, text, fonts, metadata and isolation."""

import io
import logging
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from weasyprint.urls import URLFetchingError

from training.certificates.render import (
    CertificateRenderer,
    CertificateView,
    DesignError,
    DesignFetcher,
    DesignSettings,
    ImageCache,
    data_url,
    qr_png,
)
from training.config import PROJECT_ROOT

DESIGN = PROJECT_ROOT / "certificates"
VIEW = CertificateView(
    serial="7KQ2-M9XD-4HRT-B3VW",
    recipient_name="Maria Delgado-Fitzgerald",
    course_title="Patient Confidentiality and HIPAA on Social Media",
    course_version=3,
    score_percent=90,
    completed_on="March 12, 2026",
    expires_on="March 12, 2027",
    organisation_name="Riverside Community Hospital",
    verify_url="https://training.example.org/verify/7KQ2M9XD4HRTB3VW",
    issued_at=datetime(2026, 3, 12, 10, 30, tzinfo=UTC),
)
POINTS_PER_MM = 72 / 25.4


def render(view=VIEW, **settings) -> PdfReader:
    return PdfReader(io.BytesIO(CertificateRenderer(DesignSettings(folder=DESIGN, **settings)).render(view)))


def page_text(reader: PdfReader) -> str:
    return " ".join(reader.pages[0].extract_text().split())


def fonts_of(reader: PdfReader) -> dict[str, dict]:
    """Every font of the page, those of its form XObjects too (the certificate's text is laid over as one)."""
    return fonts_in(reader.pages[0]["/Resources"])


def fonts_in(resources) -> dict[str, dict]:
    resources = resources.get_object()
    fonts = {str(font.get_object()["/BaseFont"]): font.get_object() for font in resources.get("/Font", {}).values()}
    for xobject in resources.get("/XObject", {}).values():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
            fonts.update(fonts_in(xobject["/Resources"]))
    return fonts


def descriptor_of(font) -> dict:
    if "/DescendantFonts" in font:
        return font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    return font["/FontDescriptor"].get_object()


def test_one_a4_landscape_page_with_the_certificate_text():
    reader = render()
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width / POINTS_PER_MM), round(height / POINTS_PER_MM)) == (297, 210)
    text = page_text(reader)
    for expected in (
        "Maria Delgado-Fitzgerald",
        "Patient Confidentiality and HIPAA on Social Media",
        "7KQ2-M9XD-4HRT-B3VW",
        "March 12, 2026",
        "March 12, 2027",
        "Riverside Community Hospital".upper(),
        "Course version 3",
        "90%",
        "https://training.example.org/verify/7KQ2M9XD4HRTB3VW",
    ):
        assert expected in text, expected


def test_us_letter_is_configurable_and_a_long_name_still_fits_one_page():
    view = VIEW.__class__(
        **{
            **VIEW.__dict__,
            "recipient_name": "Maria Alejandra Delgado-Fitzgerald de la Cruz Montgomery-Ramirez",
            "course_title": "Patient Confidentiality, HIPAA and Professional Boundaries on Social Media Platforms",
        }
    )
    reader = render(view, page_size="Letter")
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (792, 612)
    assert "de la Cruz Montgomery-Ramirez" in page_text(reader)


def test_only_the_shipped_fonts_are_used_and_all_are_embedded():
    fonts = fonts_of(render())
    # The static page's fonts, as WeasyPrint names them, and the certificate's text laid over it (reportlab).
    assert {name.split("+", 1)[1] for name in fonts} == {
        "Lato",
        "Lato-Bold",
        "Lato-Regular",
        "EBGaramond12-Italic",
    }
    assert len({name.split("+", 1)[0] for name in fonts}) == len(fonts), "each subset has its own tag"
    for font in fonts.values():
        descriptor = descriptor_of(font)
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_metadata_names_the_certificate():
    reader = render()
    meta = reader.metadata
    assert meta.title == "Certificate of completion: Patient Confidentiality and HIPAA on Social Media"
    assert meta.author == "Riverside Community Hospital"
    assert "7KQ2-M9XD-4HRT-B3VW" in meta.subject and "Maria Delgado-Fitzgerald" in meta.subject
    assert meta.creation_date == datetime(2026, 3, 12, 10, 30, tzinfo=UTC)


def xmp_packet(reader: PdfReader) -> bytes:
    metadata = reader.trailer["/Root"].get("/Metadata")
    return metadata.get_object().get_data() if metadata else b""


def test_archival_pdf_a_is_the_default_and_can_be_turned_off():
    assert b'pdfaid:part="3" pdfaid:conformance="U"' in xmp_packet(render())
    assert b"pdfaid:part" not in xmp_packet(render(pdf_variant=""))


def test_the_archival_pdf_has_what_pdf_a_3u_requires_of_it():
    """What veraPDF would check that a test can: an sRGB output intent, no encryption, embedded fonts whose
    text maps back to Unicode (the "u"), and the image of the QR code among the page's resources."""
    reader = render()
    (intent,) = reader.trailer["/Root"]["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    assert not reader.is_encrypted and "/Encrypt" not in reader.trailer
    for font in fonts_of(render()).values():
        assert "/ToUnicode" in font
    assert len(reader.pages[0].images) == 1


def test_poppler_extracts_the_certificate_text(tmp_path):
    """The text a search index or screen reader gets (pdftotext, README: test packages)."""
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(CertificateRenderer(DesignSettings(folder=DESIGN)).render(VIEW))
    text = subprocess.run(["pdftotext", pdf, "-"], check=True, capture_output=True, text=True).stdout
    text = " ".join(text.split())
    for expected in (
        VIEW.recipient_name,
        VIEW.course_title,
        VIEW.serial,
        VIEW.completed_on,
        VIEW.expires_on,
        VIEW.verify_url,
        "Course version 3",
    ):
        assert expected in text, expected


def test_the_qr_code_is_one_pixel_per_module_drawn_without_smoothing():
    """Scaled up with /Interpolate false, every module prints as a sharp square, as vector art did."""
    (image,) = render().pages[0].images
    modules = image.image.size
    assert modules == (33 + 4, 33 + 4), "a version 4 code (33 modules) and its 2-module quiet zone, 1 pixel each"
    assert image.indirect_reference.get_object()["/Interpolate"].value is False


def test_rendering_is_deterministic():
    """A lost file can be re-rendered to the very bytes whose SHA-256 was recorded."""
    renderer = CertificateRenderer(DesignSettings(folder=DESIGN))
    assert renderer.render(VIEW) == renderer.render(VIEW)


def test_harfbuzz_subsets_the_fonts_not_the_slow_fonttools_fallback(caplog):
    """Without the system library libharfbuzz-subset0 WeasyPrint logs "Using fontTools" and is 8-10x slower."""
    caplog.set_level(logging.DEBUG, logger="weasyprint")
    render()
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "Using fontTools" in m], "install libharfbuzz-subset0 (see README)"


def test_names_with_markup_are_printed_as_text():
    view = VIEW.__class__(**{**VIEW.__dict__, "recipient_name": '<img src="file:///etc/hostname"> <b>Bold</b>'})
    text = page_text(render(view))
    assert '<img src="file:///etc/hostname"> <b>Bold</b>' in text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/logo.png",
        "https://example.org/font.ttf",
        "ftp://example.org/x",
        "data:text/plain;base64,SGVsbG8=",
        "file:///etc/passwd",
        "file://otherhost" + str(DESIGN / "logo.svg"),
        (DESIGN / "logo.svg").as_uri().replace("logo.svg", "../README.md"),
        (DESIGN / "missing.svg").as_uri(),
    ],
)
def test_the_fetcher_refuses_the_network_and_files_outside_the_design(url):
    with pytest.raises(URLFetchingError):
        DesignFetcher(DESIGN).fetch(url)


def test_the_fetcher_serves_a_generated_qr_code_only_to_the_document_it_was_made_for():
    png = qr_png(VIEW.verify_url)
    url = data_url(png)
    response = DesignFetcher(DESIGN, {url: png}).fetch(url)
    try:
        assert response.read() == png
    finally:
        response.close()
    with pytest.raises(URLFetchingError):
        DesignFetcher(DESIGN).fetch(url)
    with pytest.raises(URLFetchingError):
        DesignFetcher(DESIGN, {url: png}).fetch(data_url(qr_png("https://example.org/other")))


def test_the_image_cache_keeps_the_images_in_use_and_drops_the_oldest():
    cache = ImageCache(limit=3)
    cache["logo"] = "logo"
    for number in range(5):
        assert cache["logo"] == "logo"
        cache[f"qr-{number}"] = number
    assert list(cache) == ["qr-3", "logo", "qr-4"]


def test_each_certificate_s_qr_code_leaves_the_design_s_cache_and_the_logo_stays():
    """Memory stays flat however many certificates a process renders."""
    renderer = CertificateRenderer(DesignSettings(folder=DESIGN))
    renderer.document.cache = ImageCache(limit=4)
    for number in range(4):
        renderer.render(VIEW.__class__(**{**VIEW.__dict__, "verify_url": f"{VIEW.verify_url}{number}"}))
    assert len(renderer.document.cache) <= 4
    assert (DESIGN / "logo.svg").as_uri() in renderer.document.cache


def test_the_fetcher_serves_files_of_the_design():
    response = DesignFetcher(DESIGN).fetch((DESIGN / "logo.svg").as_uri())
    try:
        assert response.read().startswith(b"<svg")
    finally:
        response.close()


def test_a_hostile_design_cannot_read_files_or_reach_the_network(tmp_path, caplog):
    """Someone who can edit the design still cannot make rendering fetch anything outside it."""
    design = tmp_path / "design"
    shutil.copytree(DESIGN, design)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET CONTENT")
    template = (design / "certificate.html").read_text()
    template = template.replace(
        "<body>",
        f'<body><object data="{secret.as_uri()}"></object><img src="http://127.0.0.1:9/x.png" alt="">'
        f'<iframe src="{secret.as_uri()}"></iframe>',
    )
    (design / "certificate.html").write_text(template)
    (design / "certificate.css").write_text(
        (design / "certificate.css").read_text() + f'\nbody {{ background: url("{secret.as_uri()}"); }}\n'
    )
    caplog.set_level(logging.WARNING, logger="weasyprint")
    data = CertificateRenderer(DesignSettings(folder=design)).render(VIEW)
    assert b"TOP SECRET" not in data
    assert "TOP SECRET" not in page_text(PdfReader(io.BytesIO(data)))
    refused = [r.getMessage() for r in caplog.records if "design folder" in r.getMessage()]
    assert any("127.0.0.1:9" in m for m in refused) and any("secret.txt" in m for m in refused)


def test_a_design_folder_missing_its_files_is_a_clear_error(tmp_path):
    with pytest.raises(DesignError, match=r"has no file certificate\.html"):
        CertificateRenderer(DesignSettings(folder=tmp_path))


def test_a_template_asking_for_a_variable_the_renderer_does_not_give_is_a_clear_error(tmp_path):
    design = tmp_path / "design"
    shutil.copytree(DESIGN, design)
    template = (design / "certificate.html").read_text()
    (design / "certificate.html").write_text(template.replace("{{ serial }}", "{{ serial_number }}"))
    with pytest.raises(DesignError, match=r"uses serial_number, which the renderer does not provide"):
        CertificateRenderer(DesignSettings(folder=design))


def test_a_design_from_before_the_png_code_still_gets_its_svg_code(tmp_path):
    """A hospital's own design written for `qr_svg` keeps rendering, with a code that still scans."""
    design = tmp_path / "design"
    shutil.copytree(DESIGN, design)
    template = (design / "certificate.html").read_text()
    (design / "certificate.html").write_text(
        template.replace(
            '<img class="qr" data-slot="qr_image" src="{{ qr_image }}" alt="">', '<div class="qr">{{ qr_svg }}</div>'
        )
    )
    renderer = CertificateRenderer(DesignSettings(folder=design))
    html = renderer.html(VIEW, data_url(qr_png(VIEW.verify_url)))
    assert "<svg" in html and "data:image/png" not in html
    pdf = tmp_path / "old-design.pdf"
    pdf.write_bytes(renderer.render(VIEW))
    assert scanned_code(pdf, tmp_path) == VIEW.verify_url


@pytest.mark.parametrize(("setting", "value"), [("page_size", "A3"), ("pdf_variant", "pdf/x-4")])
def test_unknown_settings_are_refused(setting, value):
    with pytest.raises(DesignError):
        CertificateRenderer(DesignSettings(folder=Path(DESIGN), **{setting: value}))


def word_positions(pdf: Path) -> dict[str, tuple[float, float]]:
    """Where poppler finds each word: its top-left corner in points, the first time it appears."""
    html = subprocess.run(["pdftotext", "-bbox", pdf, "-"], check=True, capture_output=True, text=True).stdout
    positions = {}
    for x, y, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" [^>]*>([^<]*)</word>', html):
        positions.setdefault(word, (float(x), float(y)))
    return positions


def test_the_footer_is_where_the_inline_block_layout_put_it(tmp_path):
    """The footer's absolute boxes replaced inline-blocks for speed; the look stays. The positions are those
    the inline-block footer gave this certificate (pdftotext -bbox, A4), within half a point: the text laid over
    the static page is not kerned, so a word after a kerned pair moves by a fraction of a point."""
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(CertificateRenderer(DesignSettings(folder=DESIGN)).render(VIEW))
    positions = word_positions(pdf)
    for word, expected in {
        "COMPLETED": (91.28, 510.01),
        "VALID": (227.94, 510.01),
        "SERIAL": (425.95, 510.01),
        "2027": (279.91, 521.35),
        VIEW.serial: (364.60, 521.35),
        "Scan": (671.98, 516.35),
        VIEW.verify_url: (555.63, 524.35),
    }.items():
        assert positions[word] == pytest.approx(expected, abs=0.5), word


def scanned_code(pdf: Path, folder: Path) -> str:
    """Printed and scanned: the page rasterised by poppler, the code read by zbar (README: test packages)."""
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", pdf, folder / "page"], check=True)
    scanned = subprocess.run(
        ["zbarimg", "--quiet", "--raw", folder / "page.png"], check=True, capture_output=True, text=True
    )
    return scanned.stdout.strip()


def test_the_qr_code_scans_to_the_verification_url(tmp_path):
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(CertificateRenderer(DesignSettings(folder=DESIGN)).render(VIEW))
    assert scanned_code(pdf, tmp_path) == VIEW.verify_url


def laid_over(data: bytes) -> bool:
    """Whether the certificate's text was laid over the design's static page (not rendered whole)."""
    xobjects = PdfReader(io.BytesIO(data)).pages[0]["/Resources"].get("/XObject", {})
    return "/CertificateText" in xobjects


def with_(**fields) -> CertificateView:
    return VIEW.__class__(**{**VIEW.__dict__, **fields})


def test_the_shipped_design_lays_the_text_over_its_static_page():
    renderer = CertificateRenderer(DesignSettings(folder=DESIGN))
    assert laid_over(renderer.render(VIEW))
    assert renderer.template_for(VIEW.organisation_name) is renderer.template_for(VIEW.organisation_name)


@pytest.mark.parametrize(
    "fields",
    [
        {"recipient_name": "Maria Alejandra Delgado-Fitzgerald de la Cruz Montgomery-Ramirez"},
        {"course_title": "Patient Confidentiality, HIPAA and Professional Boundaries on Social Media Platforms"},
        {"recipient_name": "王小明"},
        {"recipient_name": "Jose\u0301 Garci\u0301a"},
        {"expires_on": ""},
    ],
)
def test_text_the_overlay_cannot_draw_as_weasyprint_would_is_rendered_whole(fields, tmp_path):
    """Two lines, a character the design's fonts lack, combining marks, an empty slot: WeasyPrint lays those out."""
    view = with_(**fields)
    data = CertificateRenderer(DesignSettings(folder=DESIGN)).render(view)
    assert not laid_over(data)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(data)
    assert view.serial in subprocess.run(["pdftotext", pdf, "-"], check=True, capture_output=True, text=True).stdout


def test_a_design_without_slots_is_rendered_whole(tmp_path):
    """An organisation's own design from before the slots keeps working, rendered by WeasyPrint."""
    design = tmp_path / "design"
    shutil.copytree(DESIGN, design)
    template = (design / "certificate.html").read_text()
    (design / "certificate.html").write_text(re.sub(r' data-slot="[a-z_]+"', "", template))
    renderer = CertificateRenderer(DesignSettings(folder=design))
    assert not renderer.overlayable
    data = renderer.render(VIEW)
    assert not laid_over(data)
    assert VIEW.recipient_name in page_text(PdfReader(io.BytesIO(data)))


def test_a_design_that_prints_a_certificate_s_value_outside_a_slot_is_rendered_whole(tmp_path):
    design = tmp_path / "design"
    shutil.copytree(DESIGN, design)
    template = (design / "certificate.html").read_text()
    (design / "certificate.html").write_text(
        template.replace("This certifies that", "This certifies that {{ serial }}")
    )
    renderer = CertificateRenderer(DesignSettings(folder=design))
    assert not renderer.overlayable
    assert not laid_over(renderer.render(VIEW))


def raster(data: bytes, folder: Path, name: str):
    from PIL import Image

    pdf = folder / f"{name}.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "50", "-gray", "-png", "-singlefile", pdf, folder / name], check=True)
    return Image.open(folder / f"{name}.png").convert("L")


def test_the_laid_over_certificate_looks_like_the_one_weasyprint_renders_whole(tmp_path):
    """The look stays: at 50 dpi under 3% of the pixels differ visibly (glyph edges: the overlay is not kerned)."""
    from PIL import ImageChops

    renderer = CertificateRenderer(DesignSettings(folder=DESIGN))
    whole = raster(renderer.render_whole(VIEW), tmp_path, "whole")
    laid = raster(renderer.render(VIEW), tmp_path, "laid")
    assert whole.size == laid.size
    histogram = ImageChops.difference(whole, laid).histogram()
    assert sum(histogram[33:]) / (whole.size[0] * whole.size[1]) < 0.03


def test_rendering_laid_over_is_deterministic_across_renderers():
    first = CertificateRenderer(DesignSettings(folder=DESIGN)).render(VIEW)
    assert laid_over(first)
    assert CertificateRenderer(DesignSettings(folder=DESIGN)).render(VIEW) == first


def test_each_certificate_gets_its_own_metadata_and_xmp_packet():
    """The static page was written for a sample certificate: none of the sample's metadata may stay."""
    view = with_(course_title="Fire Safety", recipient_name="Amara Okonkwo", serial="B3VW-4HRT-M9XD-7KQ2")
    data = CertificateRenderer(DesignSettings(folder=DESIGN)).render(view)
    assert laid_over(data)
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Certificate of completion: Fire Safety"
    assert "B3VW-4HRT-M9XD-7KQ2" in reader.metadata.subject and "Amara Okonkwo" in reader.metadata.subject
    packet = xmp_packet(reader)
    assert b"Certificate of completion: Fire Safety" in packet and b'pdfaid:part="3"' in packet
    assert b"Patient Confidentiality" not in packet and b"7KQ2-M9XD" not in packet
    assert reader.trailer["/ID"][0] == "B3VW-4HRT-M9XD-7KQ2"


def test_the_overlay_reads_the_same_metadata_from_the_head_as_weasyprint():
    from weasyprint import HTML
    from weasyprint.html import get_html_metadata

    from training.certificates.overlay import metadata_of

    renderer = CertificateRenderer(DesignSettings(folder=DESIGN))
    html = renderer.html(with_(recipient_name="Zoë & <Ann>"), "data:,")
    expected = get_html_metadata(HTML(string=html))
    ours = metadata_of(html)
    for field in ("title", "description", "generator", "keywords", "authors", "created", "modified", "lang"):
        assert getattr(ours, field) == expected[field], field
