"""The conference's Vietnamese documents: minutes (biên bản), conclusion notices (thông báo kết luận) and
reports, from one Jinja2 template each, as HTML (for the screen and the printer, A4) and as PDF laid out
from that same HTML by WeasyPrint, which paginates: text of any length flows across pages.

Fonts come from the system (fontconfig): "Times New Roman" resolves to Liberation Serif (Debian's
fonts-liberation2, metric-compatible, with every Vietnamese letter), DejaVu Serif as a fallback.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    html: str
    pdf: bytes


class Documents:
    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)

    def render(self, template: str, variables: dict[str, Any]) -> Document:
        html = self.env.get_template(template).render(**variables)
        return Document(html, self.pdf(html))

    async def render_async(self, template: str, variables: dict[str, Any]) -> Document:
        """Rendering is CPU work (tenths of a second, more for long documents): off the event loop, so
        consumers, HTTP and the database client keep their pace meanwhile."""
        return await asyncio.to_thread(self.render, template, variables)

    @staticmethod
    def pdf(html: str) -> bytes:
        # Heavy (Pango, fonts): loaded when the first document is made, not at start.
        from weasyprint import HTML

        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
