"""The Vietnamese documents an office files as its own (minutes, conclusion notices, plan, announcement,
invitation) and the reports: one Jinja2 template each, rendered to HTML (the screen, the printer), to PDF
laid out from that HTML by WeasyPrint (paginated: text of any length flows across pages) and to DOCX built
from the same HTML with python-docx, so the office can edit a document before it is signed.

The form follows Nghị định 30/2020/NĐ-CP, Phụ lục I (administrative documents: the issuing body over the
number on the left, the national title and motto on the right, place and date, type and summary, body,
recipients and the signature with its authority) and, for the Party committee's documents, Hướng dẫn
36-HD/VPTW ("ĐẢNG CỘNG SẢN VIỆT NAM", "Số 05-TB/ĐU", "T/M ĐẢNG ỦY"). A4, margins 20/20/30/15 mm, Times
New Roman 14 pt: fontconfig resolves it to Liberation Serif (Debian's fonts-liberation2, the same metrics,
every Vietnamese letter), DejaVu Serif as a fallback.

The DOCX writer understands the small HTML vocabulary the templates use (see `_official.html.j2`):
paragraphs and headings with a few classes, bold/italic/underline, line breaks, tables with column
widths and spans, a short rule, a page break. What the templates do not use, it does not need.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from shared.clock import VIETNAM
from shared.events import Head
from shared.text import vn_number
from shared.units import Unit

TEMPLATES = Path(__file__).parent / "templates"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    html: str
    pdf: bytes
    docx: bytes | None = None


class Documents:
    """Renders a template to HTML, PDF and (for the documents an office edits) DOCX. `templates` may name
    another folder (a deployment's own wording, or a test's broken one)."""

    def __init__(self, templates: Path = TEMPLATES) -> None:
        self.templates = templates
        self.env = Environment(loader=FileSystemLoader(str(templates)), autoescape=True, undefined=StrictUndefined)
        self.env.filters["vn_number"] = vn_number

    def render(self, template: str, variables: dict[str, Any], *, docx: bool = False) -> Document:
        html = self.env.get_template(template).render(**variables)
        return Document(html, self.pdf(html), docx_from_html(html) if docx else None)

    async def render_async(self, template: str, variables: dict[str, Any], *, docx: bool = False) -> Document:
        """Rendering is CPU work (tenths of a second, seconds for a 300-opinion conference): off the event
        loop, so consumers, HTTP and the database client keep their pace meanwhile."""
        return await asyncio.to_thread(self.render, template, variables, docx=docx)

    def pdf(self, html: str) -> bytes:
        # Heavy (Pango, fonts): loaded when the first document is made, not at start.
        from weasyprint import HTML

        return HTML(string=html, base_url=str(self.templates)).write_pdf()


# ---- the form: dates, issuing bodies, numbers, signatures ----------------------------------------------

WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def local(moment: datetime) -> datetime:
    return moment.astimezone(VIETNAM)


def long_date(day: date) -> str:
    """ "ngày 05 tháng 01 năm 2026", "ngày 30 tháng 11 năm 2026": a 0 before days below 10 and the months 1 and
    2 (NĐ 30/2020, Phụ lục I, mục II.6)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def short_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def clock_time(moment: datetime) -> str:
    """ "08 giờ 00 phút", Vietnam time."""
    moment = local(moment)
    return f"{moment.hour:02d} giờ {moment.minute:02d} phút"


def weekday(day: date) -> str:
    return WEEKDAYS[day.weekday()]


# The Party committee's abbreviation in document numbers (Hướng dẫn 36-HD/VPTW).
PARTY_ABBREVIATIONS = {"Đảng ủy": "ĐU", "Quận ủy": "QU", "Huyện ủy": "HU", "Thị ủy": "TU", "Thành ủy": "TU"}


@dataclass(frozen=True)
class Signature:
    """The signature block: authority lines ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), space for the signature and
    the seal, the signer's name (blank when the directory has none: written by hand)."""

    lines: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class Issuer:
    """A body that issues documents, as its documents show it."""

    key: Literal["committee", "council", "party"]
    system: Literal["state", "party"]
    lines: tuple[str, ...]  # the body's name in capitals, bold: ("ỦY BAN NHÂN DÂN", "PHƯỜNG BỒ ĐỀ")
    superior: str | None  # the Party committee above, not bold: "ĐẢNG BỘ THÀNH PHỐ HÀ NỘI"
    abbreviation: str  # in numbers: UBND, HĐND, ĐU
    name: str  # in running text: "Ủy ban nhân dân phường Bồ Đề"
    place: str  # the place in the date line: "Bồ Đề"
    signature: Signature
    archive: str  # the last recipient: "VT, VP" or "Văn phòng Đảng ủy"

    def symbol(self, code: str, number: int) -> str:
        """ "12/BB-UBND" (NĐ 30: number / type-body), "05-TB/ĐU" (HD 36: number-type / body)."""
        if self.system == "party":
            return f"{number:02d}-{code}/{self.abbreviation}"
        return f"{number:02d}/{code}-{self.abbreviation}"

    def number_line(self, code: str, number: int) -> str:
        return f"Số {self.symbol(code, number)}" if self.system == "party" else f"Số: {self.symbol(code, number)}"

    def register(self, code: str) -> str:
        """Where the number comes from. An administrative body numbers all its documents of a year in one
        sequence (NĐ 30, Phụ lục I, mục II.3); a Party committee numbers each kind of document on its own
        (HD 36, mục II.1.3; the guidance counts within a committee's term, this register within a year)."""
        return f"{self.abbreviation}-{code}" if self.system == "party" else self.abbreviation

    def archive_line(self) -> str:
        return f"Lưu {self.archive}." if self.system == "party" else f"Lưu: {self.archive}."


def issuers(unit: Unit, heads: dict[Head, str], parent: Unit | None = None) -> dict[str, Issuer]:
    """The three bodies of a unit whose heads hold dialogue conferences, each signed by its head."""
    place = unit.proper
    unit_caps = f"{unit.kind} {unit.proper}".upper()
    party = unit.party_committee  # "Đảng ủy phường Bồ Đề", "Thành ủy Hà Nội"
    party_word = next((w for w in PARTY_ABBREVIATIONS if party.startswith(w)), "Đảng ủy")
    commune_level = party_word == "Đảng ủy"
    return {
        "committee": Issuer(
            key="committee",
            system="state",
            lines=("ỦY BAN NHÂN DÂN", unit_caps),
            superior=None,
            abbreviation="UBND",
            name=unit.committee,
            place=place,
            signature=Signature(("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), heads.get(Head.COMMITTEE_CHAIR, "")),
            archive="VT, VP",
        ),
        "council": Issuer(
            key="council",
            system="state",
            lines=("HỘI ĐỒNG NHÂN DÂN", unit_caps),
            superior=None,
            abbreviation="HĐND",
            name=unit.council,
            place=place,
            signature=Signature(("TM. THƯỜNG TRỰC HĐND", "CHỦ TỊCH"), heads.get(Head.COUNCIL_CHAIR, "")),
            archive="VT, VP",
        ),
        "party": Issuer(
            key="party",
            system="party",
            lines=(party.upper(),),
            superior=f"ĐẢNG BỘ {parent.kind} {parent.proper}".upper() if parent else None,
            abbreviation=PARTY_ABBREVIATIONS[party_word],
            name=party,
            place=place,
            signature=Signature(
                ("T/M ĐẢNG ỦY" if commune_level else "T/M BAN THƯỜNG VỤ", "BÍ THƯ"),
                heads.get(Head.PARTY_SECRETARY, ""),
            ),
            archive=f"Văn phòng {party_word}",
        ),
    }


# The body whose head concludes: Party matters are the Party secretary's (his conclusions are the Party
# committee's notice), council matters the HĐND chair's, government matters the People's Committee chair's.
ISSUER_OF_HEAD = {Head.PARTY_SECRETARY: "party", Head.COUNCIL_CHAIR: "council", Head.COMMITTEE_CHAIR: "committee"}


# ---- DOCX from the templates' HTML ---------------------------------------------------------------------

PAGE_TEXT_WIDTH_MM = 210 - 30 - 15


@dataclass(frozen=True)
class _Format:
    size: float = 14
    bold: bool = False
    italic: bool = False
    align: str = "justify"
    indent_cm: float = 1.0
    before: float = 0
    after: float = 6
    keep_next: bool = False


BODY = _Format()
GRID_CELL = _Format(size=12, align="left", indent_cm=0, after=0)
PLAIN_CELL = _Format(size=13, align="center", indent_cm=0, after=0)

TAG_FORMAT: dict[str, dict[str, Any]] = {
    "h1": {"bold": True, "align": "center", "indent_cm": 0, "before": 12, "after": 0, "keep_next": True},
    "h2": {"bold": True, "before": 6, "keep_next": True},
    "h3": {"bold": True, "keep_next": True},
    "th": {"bold": True, "align": "center"},
}
CLASS_FORMAT: dict[str, dict[str, Any]] = {
    "center": {"align": "center", "indent_cm": 0},
    "right": {"align": "right", "indent_cm": 0},
    "left": {"align": "left", "indent_cm": 0},
    "noindent": {"indent_cm": 0},
    "small": {"size": 12},
    "tiny": {"size": 11},
    "summary": {"bold": True, "align": "center", "indent_cm": 0, "after": 0, "keep_next": True},
    "nation": {"size": 13},
    "recipients-head": {"size": 12, "bold": True, "italic": True, "align": "left", "indent_cm": 0, "after": 0},
    "recipient": {"size": 11, "align": "left", "indent_cm": 0, "after": 0},
    "space": {"after": 54},
}
SKIPPED = {"style", "script", "title", "head", "meta", "colgroup", "col"}
BLOCKS = {"p", "h1", "h2", "h3", "h4", "div", "section", "table", "ul", "ol", "li"}


def _classes(element: Any) -> list[str]:
    return (element.get("class") or "").split()


def _format(base: _Format, element: Any) -> _Format:
    fmt = replace(base, **TAG_FORMAT.get(element.tag, {}))
    for name in _classes(element):
        fmt = replace(fmt, **CLASS_FORMAT.get(name, {}))
    return fmt


class _CellBody:
    """A table cell as a place for paragraphs: its first (empty) paragraph is used first."""

    def __init__(self, cell: Any) -> None:
        self.cell = cell
        self.used = False

    def add_paragraph(self) -> Any:
        if not self.used:
            self.used = True
            return self.cell.paragraphs[0]
        return self.cell.add_paragraph()

    def add_table(self, rows: int, cols: int) -> Any:
        return self.cell.add_table(rows, cols)


class _DocxWriter:
    def __init__(self, document: Any) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        self.document = document
        self.align = {
            "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
            "center": WD_ALIGN_PARAGRAPH.CENTER,
            "left": WD_ALIGN_PARAGRAPH.LEFT,
            "right": WD_ALIGN_PARAGRAPH.RIGHT,
        }

    def blocks(self, element: Any, container: Any, base: _Format, width_mm: float) -> None:
        for child in element:
            if not isinstance(child.tag, str) or child.tag in SKIPPED:
                continue
            if child.tag == "table":
                self.table(child, container, width_mm)
            elif child.tag in ("div", "section", "ul", "ol"):
                if "page-break" in _classes(child):
                    self.page_break(container)
                else:
                    self.blocks(child, container, _format(base, child), width_mm)
            else:
                self.paragraph(child, container, _format(base, child), width_mm)

    def page_break(self, container: Any) -> None:
        from docx.enum.text import WD_BREAK

        container.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def paragraph(self, element: Any, container: Any, fmt: _Format, width_mm: float) -> None:
        from docx.shared import Cm, Pt

        paragraph = container.add_paragraph()
        pf = paragraph.paragraph_format
        pf.alignment = self.align[fmt.align]
        pf.first_line_indent = Cm(fmt.indent_cm) if fmt.indent_cm else None
        pf.space_before, pf.space_after = Pt(fmt.before), Pt(fmt.after)
        pf.keep_with_next = fmt.keep_next or None
        if "rule" in _classes(element):
            self.rule(paragraph, width_mm)
            return
        pieces: list[tuple[str, bool, bool, bool]] = []  # text ("\n" a line break), bold, italic, underline
        self.inline(element, pieces, fmt.bold, fmt.italic, False)
        for text, bold, italic, underline in _collapse(pieces):
            run = paragraph.add_run()
            if text == "\n":
                run.add_break()
                continue
            run.text = text
            run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
            run.font.size = Pt(fmt.size)

    def inline(self, element: Any, pieces: list[tuple[str, bool, bool, bool]], b: bool, i: bool, u: bool) -> None:
        if element.text:
            pieces.append((element.text, b, i, u))
        for child in element:
            if isinstance(child.tag, str) and child.tag not in SKIPPED:
                if child.tag == "br":
                    pieces.append(("\n", b, i, u))
                else:
                    self.inline(
                        child,
                        pieces,
                        b or child.tag in ("b", "strong"),
                        i or child.tag in ("i", "em"),
                        u or child.tag == "u",
                    )
            if child.tail:
                pieces.append((child.tail, b, i, u))

    def rule(self, paragraph: Any, width_mm: float) -> None:
        """A short centred line (under the issuing body, under the summary): a paragraph's top border,
        a third of the width it stands in."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Mm, Pt

        side = width_mm / 3
        pf = paragraph.paragraph_format
        pf.left_indent, pf.right_indent, pf.first_line_indent = Mm(side), Mm(side), None
        pf.space_before, pf.space_after = Pt(2), Pt(4)
        borders = OxmlElement("w:pBdr")
        top = OxmlElement("w:top")
        for attribute, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
            top.set(qn(attribute), value)
        borders.append(top)
        paragraph._p.get_or_add_pPr().insert_element_before(
            borders, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc", "w:rPr", "w:sectPr"
        )

    def table(self, element: Any, container: Any, width_mm: float) -> None:
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Mm

        rows = element.xpath("./thead/tr|./tbody/tr|./tr|./tfoot/tr")
        if not rows:
            return
        cells_of = [[c for c in row if c.tag in ("td", "th")] for row in rows]
        columns = max(sum(int(c.get("colspan", "1")) for c in cells) for cells in cells_of)
        shares = [float(c.get("width", "0").rstrip("%") or 0) for c in element.xpath("./colgroup/col")]
        if len(shares) != columns or not sum(shares):
            shares = [1.0] * columns
        widths = [width_mm * s / sum(shares) for s in shares]
        grid = "grid" in _classes(element)
        table = container.add_table(rows=len(rows), cols=columns)
        if grid:
            table.style = self.document.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for index, column in enumerate(table.columns):
            column.width = Mm(widths[index])
        base = GRID_CELL if grid else PLAIN_CELL
        # Row by row through the row's own cells: table.cell(r, c) rebuilds the whole grid on every call.
        for row_element, cells, row in zip(rows, cells_of, table.rows, strict=True):
            if row_element.getparent().tag == "thead":  # repeated at the top of every page
                header = OxmlElement("w:tblHeader")
                header.set(qn("w:val"), "true")
                row._tr.get_or_add_trPr().append(header)
            for index, width in enumerate(widths):
                row.cells[index].width = Mm(width)
            c = 0
            for cell_element in cells:
                span = int(cell_element.get("colspan", "1"))
                cell = row.cells[c]
                if span > 1:
                    cell = cell.merge(row.cells[c + span - 1])
                body = _CellBody(cell)
                fmt = _format(base, cell_element)
                cell_width = sum(widths[c : c + span])
                if any(isinstance(x.tag, str) and x.tag in BLOCKS for x in cell_element):
                    self.blocks(cell_element, body, fmt, cell_width - 2)
                else:
                    self.paragraph(cell_element, body, fmt, cell_width - 2)
                c += span


def _collapse(pieces: list[tuple[str, bool, bool, bool]]) -> list[tuple[str, bool, bool, bool]]:
    """HTML's whitespace rule: runs of spaces and newlines are one space; none at a line's start or end."""
    out: list[tuple[str, bool, bool, bool]] = []
    at_start = True
    for text, *style in pieces:
        if text == "\n":
            if out and out[-1][0] != "\n":
                out[-1] = (out[-1][0].rstrip(), *out[-1][1:])  # type: ignore[assignment]
            out.append(("\n", *style))  # type: ignore[arg-type]
            at_start = True
            continue
        text = re.sub(r"\s+", " ", text)
        if at_start:
            text = text.lstrip()
        if text:
            out.append((text, *style))  # type: ignore[arg-type]
            at_start = text.endswith(" ")
    if out and out[-1][0] != "\n":
        out[-1] = (out[-1][0].rstrip(), *out[-1][1:])  # type: ignore[assignment]
    return [p for p in out if p[0]]


def docx_from_html(html: str) -> bytes:
    """The document for Word/LibreOffice: A4, the decree's margins, Times New Roman 14, page numbers at the top
    from page 2, the same content and order as the HTML."""
    from docx import Document as new_docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt
    from lxml import html as lxml_html

    tree = lxml_html.document_fromstring(html)
    document = new_docx()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(14)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), "Times New Roman")
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "vi-VN")
    normal.element.get_or_add_rPr().append(language)
    title = tree.findtext(".//title") or ""
    document.core_properties.title = title.strip()
    document.core_properties.language = "vi-VN"
    # Page numbers: centred in the top margin, not on the first page (NĐ 30, Phụ lục I, mục II.11).
    section.different_first_page_header_footer = True
    number = section.header.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    shown = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    shown.append(text)
    field.append(shown)
    number._p.append(field)
    _DocxWriter(document).blocks(tree.body, document, BODY, PAGE_TEXT_WIDTH_MM)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
