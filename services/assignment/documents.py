"""The conference's Vietnamese documents: minutes (biên bản) and conclusion notices (thông báo kết luận),
as HTML (for the screen and the printer, A4) and PDF (fpdf2, with a Unicode font for Vietnamese)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
_BODY = re.compile(r"<body>(.*)</body>", re.S)
_SVG = re.compile(r'<div class="chart">.*?</div>', re.S)


@dataclass(frozen=True)
class Document:
    html: str
    pdf: bytes


class Documents:
    def __init__(self, font_dir: Path) -> None:
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)
        self.font_dir = font_dir

    def render(self, template: str, variables: dict[str, Any]) -> Document:
        html = self.env.get_template(template).render(**variables)
        return Document(html, self._pdf(html, variables.get("charts", [])))

    def _pdf(self, html: str, charts: list[str]) -> bytes:
        from fpdf import FPDF  # heavy (fonts, images): loaded when the first document is made, not at start

        pdf = FPDF(format="A4")
        pdf.set_margins(20, 20, 20)
        pdf.add_page()
        pdf.add_font("DejaVu", "", str(self.font_dir / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(self.font_dir / "DejaVuSans-Bold.ttf"))
        pdf.add_font("DejaVu", "I", str(self.font_dir / "DejaVuSans-Oblique.ttf"))
        pdf.set_font("DejaVu", size=10)
        match = _BODY.search(html)
        body = match.group(1) if match else html
        # fpdf2 takes an escaped "<" inside a table cell for a nested tag; print lookalikes instead.
        body = body.replace("&lt;", "‹").replace("&gt;", "›")
        pdf.write_html(_SVG.sub("", body), font_family="DejaVu")
        for chart in charts:  # fpdf2 draws SVG itself
            pdf.image(io.BytesIO(chart.encode()), w=170)
            pdf.ln(4)
        return bytes(pdf.output())
