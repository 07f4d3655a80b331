"""Certificates as one static page per design with each certificate's own text laid over it.

WeasyPrint lays out and writes a whole certificate in about eight times the cost of a bare page. Most of that
page never changes: the frame, the headings, the logo, the labels. So the design is rendered by WeasyPrint once
per process (and organisation name) around sample text, and the text and images of every element the design
marks `data-slot="..."` are taken out of the laid-out page before it is written (their boxes, borders and
backgrounds stay). That page is the template; the same layout says where each slot is and how its text looks
(font file, size, colour, alignment, letter spacing). Per certificate, reportlab draws the slots' text with the
design's own fonts (embedded subsets with ToUnicode maps, so the text stays extractable) into a page that pikepdf
lays over the template as a form XObject, beside the QR code as a one-bit image, one pixel per module; pikepdf
then writes the certificate's metadata (Info dictionary and the XMP packet that PDF/A asks for, as WeasyPrint
writes them) and its file identifier (the serial).

A text that WeasyPrint would lay out differently from the sample (empty, longer than its slot's line, with a
character the font lacks, marks to combine or right-to-left script) gives None: the renderer then renders the
whole certificate with WeasyPrint, so a certificate is always right, and fast when it can be.
"""

import hashlib
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pikepdf
import segno
import tinycss2
from fontTools.ttLib import TTFont as FontToolsFont
from fontTools.ttLib import TTLibError
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from weasyprint import HTML
from weasyprint.html import parse_w3c_date
from weasyprint.pdf import _w3c_date_to_pdf
from weasyprint.pdf.metadata import DocumentMetadata

SLOT_ATTRIBUTE = "data-slot"
POINTS_PER_PX = 0.75
HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
RIGHT_TO_LEFT = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI"})
XMP_HEADER = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
XMP_FOOTER = b'</x:xmpmeta>\n<?xpacket end="r"?>'


class NotOverlayable(Exception):
    """The design cannot be laid over (no slots, or a slot the overlay cannot draw): render it whole."""


@dataclass(frozen=True)
class TextSlot:
    """Where one line of a slot's text goes, in PDF points from the page's top-left corner, and how it looks."""

    name: str
    left: float
    width: float
    baseline: float
    align: str
    font: str
    size: float
    color: tuple[float, float, float]
    letter_spacing: float
    uppercase: bool
    wraps: bool

    def text_width(self, text: str) -> float:
        return pdfmetrics.stringWidth(text, self.font, self.size) + self.letter_spacing * len(text)

    def x_for(self, width: float) -> float:
        """Where the line starts; a line wider than its box starts at the box's start, as WeasyPrint puts it."""
        if width > self.width or self.align in ("left", "start", "justify"):
            return self.left
        if self.align == "center":
            return self.left + (self.width - width) / 2
        return self.left + self.width - width


@dataclass(frozen=True)
class ImageSlot:
    """The box the QR code fills, in PDF points from the page's top-left corner."""

    name: str
    left: float
    top: float
    width: float
    height: float


class DesignFonts:
    """The design's @font-face files as reportlab fonts, each registered once per process."""

    def __init__(self, folder: Path, stylesheet: str):
        self.faces: dict[tuple[str, int, str], str] = {}
        rules = tinycss2.parse_stylesheet((folder / stylesheet).read_text(), skip_comments=True, skip_whitespace=True)
        for rule in rules:
            if rule.type == "at-rule" and rule.lower_at_keyword == "font-face" and rule.content:
                self._register(folder, font_face(rule.content))

    def _register(self, folder: Path, face: dict[str, str]) -> None:
        source = (folder / face.get("src", "")).resolve()
        if not source.is_file() or not source.is_relative_to(folder.resolve()) or source.suffix.lower() != ".ttf":
            return
        name = f"certificate-{source.stem}-{hashlib.sha256(bytes(source)).hexdigest()[:12]}"
        if name not in pdfmetrics.getRegisteredFontNames():
            try:
                pdfmetrics.registerFont(TTFont(name, without_long_names(source), asciiReadable=False))
            except (TTFError, TTLibError):
                return  # a font reportlab cannot embed: slots in it make the design render whole
        weight = {"normal": 400, "bold": 700}.get(face.get("font-weight", "normal"))
        weight = weight or int(face.get("font-weight", "400"))
        self.faces[(face.get("font-family", ""), weight, face.get("font-style", "normal"))] = name

    def font_for(self, style) -> str:
        family = style["font_family"][0]
        wanted = (family, int(style["font_weight"]), style["font_style"])
        if wanted not in self.faces:
            raise NotOverlayable(f"no @font-face file for {wanted}")
        return self.faces[wanted]


def without_long_names(source: Path) -> io.BytesIO:
    """The font with only the names that identify it (name IDs 0-6, as HarfBuzz's subsetter keeps).

    reportlab copies the whole `name` table into every subset: the licence text alone was about a fifth of
    each certificate's bytes.
    """
    output = io.BytesIO()
    with FontToolsFont(source, lazy=True, recalcTimestamp=False) as font:
        font["name"].names = [record for record in font["name"].names if record.nameID <= 6]
        font.save(output)
    output.seek(0)
    return output


def font_face(content) -> dict[str, str]:
    """The family, weight, style and TrueType file of one @font-face rule (its first `url()` source)."""
    face = {}
    for declaration in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if declaration.type != "declaration":
            continue
        tokens = [token for token in declaration.value if token.type not in ("whitespace", "comment")]
        if declaration.lower_name == "src":
            urls = [t.value for t in tokens if t.type == "url"]
            urls += [t.arguments[0].value for t in tokens if t.type == "function" and t.lower_name == "url"]
            face["src"] = urls[0] if urls else ""
        elif tokens:
            first = tokens[0]
            face[declaration.lower_name] = str(first.int_value if first.type == "number" else first.value)
    return face


class SlotText(HTMLParser):
    """The text of each `data-slot` element of a rendered template, white space collapsed as HTML does."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, str] = {}
        self.slot: str | None = None
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.slot is not None:
            if tag == "br":
                self.parts.append("\n")
            elif tag not in VOID_ELEMENTS:
                self.depth += 1
            return
        slot = dict(attrs).get(SLOT_ATTRIBUTE)
        if slot is not None and tag not in VOID_ELEMENTS:
            self.slot, self.depth, self.parts = slot, 1, []

    def handle_endtag(self, tag):
        if self.slot is None or tag in VOID_ELEMENTS:
            return
        self.depth -= 1
        if self.depth == 0:
            lines = "".join(self.parts).split("\n")
            self.texts[self.slot] = "\n".join(HTML_SPACE.sub(" ", line).strip(" ") for line in lines)
            self.slot = None

    def handle_data(self, data):
        if self.slot is not None:
            self.parts.append(data)


class StaticBody(HTMLParser):
    """The <body> of a rendered template without what its slots hold: what the static page draws."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_body = False
        self.slot_depth = 0

    def handle_starttag(self, tag, attrs):
        if self.slot_depth:
            self.slot_depth += tag not in VOID_ELEMENTS
            return
        self.in_body = self.in_body or tag == "body"
        attributes = dict(attrs)
        if SLOT_ATTRIBUTE in attributes:
            self.parts.append(f"<{tag} slot={attributes[SLOT_ATTRIBUTE]}>")
            self.slot_depth = int(tag not in VOID_ELEMENTS)
        elif self.in_body:
            self.parts.append(f"<{tag} {sorted(attributes.items())}>")

    def handle_endtag(self, tag):
        if self.slot_depth:
            self.slot_depth -= tag not in VOID_ELEMENTS
        elif self.in_body:
            self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        if self.in_body and not self.slot_depth:
            self.parts.append(data)


def static_body(html: str) -> str:
    parser = StaticBody()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def slot_texts(html: str) -> dict[str, str]:
    parser = SlotText()
    parser.feed(html)
    parser.close()
    return parser.texts


def read_slots(page_box, fonts: DesignFonts) -> tuple[list[TextSlot], list[ImageSlot]]:
    """Each slot's box in a WeasyPrint layout, as the overlay draws it."""
    texts, images = [], []
    seen: set[str] = set()
    for box, block in boxes_with_blocks(page_box, None):
        element = getattr(box, "element", None)
        slot = element.get(SLOT_ATTRIBUTE) if element is not None else None
        if slot is None or slot in seen:
            continue
        seen.add(slot)
        if element.tag == "img":
            images.append(image_slot(slot, box))
        else:
            texts.append(text_slot(slot, box, block, fonts))
    return texts, images


def boxes_with_blocks(box, block):
    """Every box of the layout beside its nearest enclosing block container (the box its lines align in)."""
    yield box, block
    children = getattr(box, "children", None) or ()
    if children and type(box).__name__ in ("BlockBox", "BlockContainerBox", "InlineBlockBox", "TableCellBox"):
        block = box
    for child in children:
        yield from boxes_with_blocks(child, block)


def first_text_box(box):
    if type(box).__name__ == "TextBox":
        return box
    for child in getattr(box, "children", None) or ():
        found = first_text_box(child)
        if found is not None:
            return found
    return None


def text_slot(name: str, box, block, fonts: DesignFonts) -> TextSlot:
    line_container = box if type(box).__name__ == "BlockBox" else block
    text_box = first_text_box(box)
    if text_box is None or line_container is None:
        raise NotOverlayable(f"the slot {name} has no text in the sample")
    style = text_box.style
    red, green, blue = style["color"].to("srgb").coordinates
    spacing = style["letter_spacing"]
    return TextSlot(
        name=name,
        left=line_container.content_box_x() * POINTS_PER_PX,
        width=line_container.width * POINTS_PER_PX,
        baseline=(text_box.position_y + text_box.baseline) * POINTS_PER_PX,
        align=str(line_container.style["text_align_all"]),
        font=fonts.font_for(style),
        size=style["font_size"] * POINTS_PER_PX,
        color=(red, green, blue),
        letter_spacing=0.0 if spacing == "normal" else spacing * POINTS_PER_PX,
        uppercase=style["text_transform"] == "uppercase",
        wraps=style["white_space"] not in ("nowrap", "pre"),
    )


def image_slot(name: str, box) -> ImageSlot:
    return ImageSlot(
        name=name,
        left=box.content_box_x() * POINTS_PER_PX,
        top=box.content_box_y() * POINTS_PER_PX,
        width=box.width * POINTS_PER_PX,
        height=box.height * POINTS_PER_PX,
    )


def hide_slot_contents(box) -> None:
    """Takes the slots' text and images out of the laid-out page; their boxes stay, with borders and backgrounds.

    (`visibility: hidden` would hide a slot's border too: the line under the recipient's name.)
    """
    children = getattr(box, "children", None)
    if not children:
        return
    kept = []
    for child in children:
        element = getattr(child, "element", None)
        in_slot = element is not None and element.get(SLOT_ATTRIBUTE) is not None
        if in_slot and type(child).__name__ in ("TextBox", "BlockReplacedBox", "InlineReplacedBox"):
            continue
        hide_slot_contents(child)
        kept.append(child)
    box.children = type(children)(kept) if isinstance(children, tuple) else kept


def drawable(text: str, slot: TextSlot) -> bool:
    """Whether the overlay draws this text as WeasyPrint would: one line, in the slot's font, left to right.

    An empty slot has no line at all in WeasyPrint's layout, so the boxes around it move: not drawable either.
    """
    if "\n" in text or not text.strip():
        return False
    face = pdfmetrics.getFont(slot.font).face
    for character in text:
        if ord(character) not in face.charToGlyph and not character.isspace():
            return False
        if unicodedata.combining(character) or unicodedata.bidirectional(character) in RIGHT_TO_LEFT:
            return False
    return not slot.wraps or slot.text_width(text) <= slot.width


@dataclass(frozen=True)
class PdfVariant:
    """What the XMP packet says of a PDF variant: 'pdf/a-3u' is part 3, conformance U."""

    part: int
    conformance: str

    @classmethod
    def of(cls, variant: str) -> "PdfVariant | None":
        match = re.fullmatch(r"pdf/a-(\d)([abu])", variant)
        return cls(int(match.group(1)), match.group(2).upper()) if match else None


class TemplatePage:
    """One design's static page (rendered once) and its slots; lays each certificate's text over it."""

    def __init__(self, pdf: bytes, size: tuple[float, float], texts, images, variant: PdfVariant | None):
        self.pdf = pdf
        self.size = size
        self.texts = {slot.name: slot for slot in texts}
        self.images = {slot.name: slot for slot in images}
        self.variant = variant

    @classmethod
    def render(cls, html: str, document, font_config, fonts: DesignFonts, fetcher) -> "TemplatePage":
        """Lay out the design around sample text with the slots hidden, and write it once.

        `document` is the design's `render.DesignDocument` (its stylesheets, image cache and PDF variant);
        `fetcher` serves the design's files and the sample's QR code.
        """
        layout = HTML(string=html, base_url=document.base_url, url_fetcher=fetcher).render(
            stylesheets=document.stylesheets, font_config=font_config, cache=document.cache
        )
        page = layout.pages[0]
        if len(layout.pages) != 1:
            raise NotOverlayable("the sample certificate is not one page")
        texts, images = read_slots(page._page_box, fonts)
        if not texts and not images:
            raise NotOverlayable("the design marks no slots")
        hide_slot_contents(page._page_box)
        write = {"pdf_identifier": b"template"}
        if document.pdf_variant:
            write["pdf_variant"] = document.pdf_variant
        pdf = layout.write_pdf(**write)
        size = (page.width * POINTS_PER_PX, page.height * POINTS_PER_PX)
        return cls(pdf, size, texts, images, PdfVariant.of(document.pdf_variant))

    def certificate(self, html: str, qr: segno.QRCode, identifier: bytes) -> bytes | None:
        """The certificate whose template rendered to `html`, or None when WeasyPrint must lay it out."""
        texts = slot_texts(html)
        if set(texts) != set(self.texts):
            return None
        for name, text in texts.items():
            slot = self.texts[name]
            if not drawable(text.upper() if slot.uppercase else text, slot):
                return None
        overlay = self.overlay(texts)
        return self.merged(overlay, qr, metadata_of(html), identifier)

    def overlay(self, texts: Mapping[str, str]) -> bytes:
        """One page holding only the slots' text, the design's fonts embedded as subsets."""
        buffer = io.BytesIO()
        # The canvas's first font is one of the design's: its default, Helvetica, is not embedded (PDF/A forbids).
        first = next(iter(self.texts.values()))
        canvas = Canvas(
            buffer, pagesize=self.size, invariant=1, pageCompression=1, initialFontName=first.font, initialFontSize=10
        )
        height = self.size[1]
        for name, text in texts.items():
            slot = self.texts[name]
            line = text.upper() if slot.uppercase else text
            drawn = canvas.beginText()
            drawn.setFont(slot.font, slot.size)
            drawn.setCharSpace(slot.letter_spacing)
            drawn.setFillColorRGB(*slot.color)
            drawn.setTextOrigin(slot.x_for(slot.text_width(line)), height - slot.baseline)
            drawn.textOut(line)
            canvas.drawText(drawn)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def merged(self, overlay: bytes, qr: segno.QRCode, metadata: DocumentMetadata, identifier: bytes) -> bytes:
        with pikepdf.Pdf.open(io.BytesIO(self.pdf)) as pdf, pikepdf.Pdf.open(io.BytesIO(overlay)) as text:
            page = pdf.pages[0]
            form = pdf.copy_foreign(text.pages[0].as_form_xobject())
            tag_font_subsets(form)
            drawings = [draw_form(pdf, page, form, TEXT_FORM)]
            drawings += [draw_qr(pdf, page, slot, qr, self.size[1]) for slot in self.images.values()]
            # The template's own drawing leaves its flipped coordinates behind: draw ours after restoring them.
            page.contents_add(pikepdf.Stream(pdf, b"q"), prepend=True)
            page.contents_add(pikepdf.Stream(pdf, b"\n".join([b"Q", *drawings])), prepend=False)
            write_metadata(pdf, metadata, self.variant)
            pdf.trailer.ID = pikepdf.Array([pikepdf.String(identifier), pikepdf.String(identifier)])
            output = io.BytesIO()
            pdf.save(output, preserve_pdfa=False, fix_metadata_version=False, static_id=True)
            return output.getvalue()


def tag_font_subsets(form) -> None:
    """Gives each font subset its own tag, made from its bytes: reportlab tags every one AAAAAA, and ISO 32000
    (9.6.4) asks that different subsets in one file have different tags."""
    for font in form.Resources.get(pikepdf.Name.Font, pikepdf.Dictionary()).values():
        descriptor = font.FontDescriptor
        digest = hashlib.sha256(descriptor.FontFile2.read_raw_bytes()).digest()
        tag = "".join(chr(ord("A") + byte % 26) for byte in digest[:6])
        name = "/" + tag + "+" + str(font.BaseFont).split("+", 1)[-1]
        font.BaseFont = descriptor.FontName = pikepdf.Name(name)


def draw_form(pdf: pikepdf.Pdf, page: pikepdf.Page, xobject, name: str) -> bytes:
    """Adds the XObject to the page's resources under a fixed name (same certificate, same bytes); its drawing."""
    resources = page.obj.get(pikepdf.Name.Resources)
    if resources is None:
        resources = page.obj.Resources = pikepdf.Dictionary()
    if pikepdf.Name.XObject not in resources:
        resources.XObject = pikepdf.Dictionary()
    resources.XObject[name] = xobject
    return f"q {name} Do Q".encode()


def draw_qr(pdf: pikepdf.Pdf, page: pikepdf.Page, slot: ImageSlot, qr: segno.QRCode, height: float) -> bytes:
    """The code as a one-bit image, one pixel per module, scaled up without smoothing (/Interpolate false)."""
    rows = [bytes(row) for row in qr.matrix_iter(scale=1, border=2)]
    modules = len(rows)
    packed = b"".join(pack_bits(row) for row in rows)
    image = pikepdf.Stream(pdf, packed)
    image.Type = pikepdf.Name.XObject
    image.Subtype = pikepdf.Name.Image
    image.Width = image.Height = modules
    image.BitsPerComponent = 1
    image.ColorSpace = pikepdf.Array([pikepdf.Name.Indexed, pikepdf.Name.DeviceRGB, 1, pikepdf.String(QR_PALETTE)])
    image.Interpolate = False
    draw_form(pdf, page, image, QR_IMAGE)
    bottom = height - slot.top - slot.height
    return f"q {slot.width:.4f} 0 0 {slot.height:.4f} {slot.left:.4f} {bottom:.4f} cm {QR_IMAGE} Do Q".encode()


TEXT_FORM = "/CertificateText"
QR_IMAGE = "/CertificateQR"
QR_PALETTE = bytes.fromhex("ffffff1d2b36")  # white, then the code's dark colour (render.QR_DARK)


def pack_bits(row: bytes) -> bytes:
    """One row of modules (0 light, 1 dark) as bits, most significant first, padded to a whole byte."""
    padded = row + bytes(-len(row) % 8)
    return bytes(
        sum(bit << (7 - shift) for shift, bit in enumerate(padded[start : start + 8]))
        for start in range(0, len(padded), 8)
    )


class HeadMetadata(HTMLParser):
    """The metadata WeasyPrint reads from a document's <head> (`weasyprint.html.get_html_metadata`), without
    parsing the whole document: the title, author, description, keywords, generator and dates."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: dict = {"authors": [], "keywords": []}
        self.in_title = False
        self.title: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.fields.setdefault("lang", attributes.get("lang"))
        elif tag == "title" and self.title is None:
            self.in_title, self.title = True, []
        elif tag == "meta":
            self.meta((attributes.get("name") or "").lower(), attributes.get("content") or "")

    def meta(self, name: str, content: str) -> None:
        fields = self.fields
        if name == "keywords":
            for keyword in (keyword.strip(" \t\n\r\f") for keyword in content.split(",")):
                if keyword not in fields["keywords"]:
                    fields["keywords"].append(keyword)
        elif name == "author":
            fields["authors"].append(content)
        elif name in ("description", "generator"):
            fields.setdefault(name, content)
        elif name in ("dcterms.created", "dcterms.modified"):
            fields.setdefault(name.split(".")[1], parse_w3c_date(name, content))

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)


def metadata_of(html: str) -> DocumentMetadata:
    """The PDF metadata of the rendered template: what WeasyPrint would read from its <head>."""
    parser = HeadMetadata()
    parser.feed(html.split("<body", 1)[0])
    parser.close()
    title = "".join(parser.title) if parser.title is not None else None
    return DocumentMetadata(title=title, **parser.fields)


def write_metadata(pdf: pikepdf.Pdf, metadata: DocumentMetadata, variant: PdfVariant | None) -> None:
    """The certificate's Info dictionary and, for PDF/A, its XMP packet, as WeasyPrint writes them."""
    info = {
        "/Title": metadata.title,
        "/Author": ", ".join(metadata.authors) or None,
        "/Subject": metadata.description,
        "/Keywords": ", ".join(metadata.keywords) or None,
        "/Creator": metadata.generator,
        "/CreationDate": _w3c_date_to_pdf(metadata.created, "created"),
        "/ModDate": _w3c_date_to_pdf(metadata.modified, "modified"),
    }
    docinfo = pdf.docinfo
    for key, value in info.items():
        if value is None:
            if key in docinfo:
                del docinfo[key]
        else:
            docinfo[key] = pikepdf.String(value)
    if variant is not None:
        rdf = metadata.generate_rdf_metadata("a", variant.part, variant.conformance)
        packet = b"\n".join((XMP_HEADER, rdf, XMP_FOOTER))
        pdf.Root.Metadata.write(packet)
