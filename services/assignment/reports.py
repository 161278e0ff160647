"""Reports in the shape local governments file them: a period's figures for this instance and every
level below it, or one conference's; as JSON, CSV, XLSX, and a printable Vietnamese summary (HTML
and PDF) with charts (opinions by field, on-time rate per unit).

The counting is done in the database at each instance (`Summaries.figures`); a parent adds up the
summaries its children sent, so a city's report reads its own opinions and a few hundred stored
summaries, never every ward's opinions.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html import escape
from typing import Any

from services.assignment.documents import Document, Documents
from shared.clock import VIETNAM
from shared.events import FIELDS, Figures, Head, Summary
from shared.events.vocabulary import CHANNEL_LABELS, LEVEL_LABELS, Channel
from shared.periods import parse_period
from shared.units import Unit

OUTCOMES = {
    "answered_on_the_spot": "Trả lời tại hội nghị",
    "answered_in_writing": "Trả lời bằng văn bản",
    "off_topic": "Ngoài nội dung hội nghị, trả lời riêng",
    "escalated_to_district": "Chuyển cấp huyện/quận",
    "escalated_to_city": "Chuyển cấp tỉnh/thành phố",
    "redirected_complaint": "Chuyển quy trình khiếu nại, tố cáo",
    "merged": "Gộp vào ý kiến cùng nội dung",
    "pending": "Đang giải quyết",
}

# What a row is, so that nobody adds a whole to its parts: the whole (this unit and every level below it), this
# unit's own figures, each unit directly below, and the units below those (listed under theirs).
KINDS = {
    "whole": "Toàn bộ (cấp này và các cấp dưới)",
    "own": "Riêng cấp này",
    "child": "Đơn vị trực thuộc (đã gồm cấp dưới của đơn vị)",
    "grandchild": "Thuộc đơn vị trực thuộc (đã tính trong dòng của đơn vị đó)",
    "missing": "Chưa gửi báo cáo",
}

COLUMNS: list[tuple[str, str]] = [
    ("kind", "Loại dòng"),
    ("instance", "Đơn vị (mã)"),
    ("name", "Đơn vị"),
    ("level", "Cấp"),
    ("conferences", "Số hội nghị"),
    ("conferences_late", "Hội nghị tổ chức sau hạn cấp trên giao"),
    ("attendance", "Số người dự"),
    ("speakers", "Số người phát biểu"),
    ("received", "Tổng số lượt ý kiến"),
    ("matters", "Số nội dung (các lượt cùng nội dung tính một)"),
    *[(f"channel_{c.value}", CHANNEL_LABELS[c]) for c in Channel],
    *[(f"head_{h.value}", f"{h.label} trả lời") for h in Head],
    *[(f"outcome_{k}", v) for k, v in OUTCOMES.items()],
    ("on_time", "Đúng hạn"),
    ("overdue", "Quá hạn"),
    ("on_time_rate", "Tỉ lệ đúng hạn (%)"),
    ("median_days", "Thời gian trả lời, trung vị (ngày)"),
    ("p90_days", "Thời gian trả lời, 90% (ngày)"),
    ("handled_for_children", "Tiếp nhận từ cấp dưới"),
    *[(f"field_{code}", f"Lĩnh vực: {field.name}") for code, field in FIELDS.items()],
]


def on_time_rate(f: Figures) -> float | None:
    done = f.on_time + f.overdue
    return round(100 * f.on_time / done, 1) if done else None


def row(kind: str, instance: str, name: str, level: str, f: Figures | None) -> dict[str, Any]:
    """One line of the report; `f` None for a unit below that has not reported (its figures left empty)."""
    values: dict[str, Any] = {
        "kind": KINDS[kind],
        "instance": instance,
        "name": name,
        "level": LEVEL_LABELS.get(level, level),
    }
    if f is None:
        return values | {key: None for key, _ in COLUMNS if key not in values}
    values |= {
        "conferences": f.conferences,
        "conferences_late": f.conferences_late,
        "attendance": f.attendance,
        "speakers": f.speakers,
        "received": f.received,
        "matters": f.matters,
        "on_time": f.on_time,
        "overdue": f.overdue,
        "on_time_rate": on_time_rate(f),
        "median_days": f.answer_quantile(0.5),
        "p90_days": f.answer_quantile(0.9),
        "handled_for_children": f.handled_for_children,
    }
    values |= {f"channel_{c.value}": f.by_channel.get(c.value, 0) for c in Channel}
    values |= {f"head_{h.value}": f.by_head.get(h.value, 0) for h in Head}
    values |= {f"outcome_{k}": f.by_outcome.get(k, 0) for k in OUTCOMES}
    values |= {f"field_{code}": f.by_field.get(code, 0) for code in FIELDS}
    return values


@dataclass(frozen=True)
class Table:
    """The report as rows: the whole (first), this instance's own figures, then each unit directly below with
    the units below it, and the units below that have not reported."""

    title: str
    rows: list[dict[str, Any]]
    total: Figures
    units: list[tuple[str, Figures]]  # (name, total of that unit directly below) for the per-unit chart
    held: int = 0  # units directly below that held a conference in the period
    expected: int = 0  # units directly below, reported or not
    missing: tuple[str, ...] = ()  # those that have not reported


def period_table(summary: Summary, expected: dict[str, str] | None = None) -> Table:
    """`expected`: the units directly below (id → name) from the hierarchy, so one that has not reported is
    listed as such, not left out."""
    total = summary.total()
    rows = [row("whole", summary.instance, summary.name, summary.level, total)]
    if summary.children or expected:
        rows.append(row("own", summary.instance, summary.name, summary.level, summary.own))
    units = []

    def below(node: Summary) -> None:
        for grandchild in node.children:
            rows.append(row("grandchild", grandchild.instance, f"{grandchild.name} ({node.name})", grandchild.level,
                            grandchild.total()))  # fmt: skip
            below(grandchild)

    for child in summary.children:
        rows.append(row("child", child.instance, child.name, child.level, child.total()))
        units.append((child.name, child.total()))
        below(child)
    reported = {c.instance for c in summary.children}
    missing = tuple(name for instance, name in (expected or {}).items() if instance not in reported)
    for instance, name in (expected or {}).items():
        if instance not in reported:
            rows.append(row("missing", instance, name, "", None))
    held = sum(1 for child in summary.children if child.total().conferences > 0)
    expected_count = len(reported | set(expected or {}))
    title = f"Báo cáo kết quả đối thoại {parse_period(summary.period).label} — {summary.name}"
    return Table(title, rows, total, units, held, expected_count, missing)


def conference_table(conference: Any, instance: str, figures: Figures) -> Table:
    name = f"{conference.title} ({conference.conference_id})"
    return Table(f"Báo cáo hội nghị: {name}", [row("own", instance, name, "", figures)], figures, [])


# A text cell a spreadsheet would take for a formula (=HYPERLINK(…) in a conference title or in a
# name a child instance reported): OWASP's "CSV injection".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A CSV cell that no spreadsheet program runs: text starting like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for r in table.rows:
        writer.writerow(["" if r[key] is None else inert(r[key]) for key, _ in COLUMNS])
    return "\ufeff" + out.getvalue()  # with a BOM, so spreadsheet programs read Vietnamese as UTF-8


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook  # loaded on the first export, not at start
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Tổng hợp"
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([label for _, label in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for r in table.rows:
        sheet.append([r[key] for key, _ in COLUMNS])
    fields = book.create_sheet("Lĩnh vực")
    fields.append(["Lĩnh vực", "Số ý kiến"])
    for code, n in sorted(table.total.by_field.items(), key=lambda kv: -kv[1]):
        fields.append([FIELDS[code].name, n])
    for worksheet in book.worksheets:  # openpyxl stores text starting with "=" as a live formula
        for cells in worksheet.iter_rows():
            for cell in cells:
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bar_chart(title: str, bars: list[tuple[str, float]], unit: str = "") -> str:
    """A horizontal bar chart as SVG: printable, no image library needed."""
    height = 30 + 24 * len(bars)
    top = max((v for _, v in bars), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" viewBox="0 0 640 {height}">',
        f'<text x="0" y="16" font-size="13" font-family="DejaVu" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = 28 + 24 * i
        width = 380 * value / top
        text = f'<text x="215" y="{y + 14}" font-size="11" text-anchor="end" font-family="DejaVu">'
        parts.append(f"{text}{escape(label[:32])}</text>")
        parts.append(f'<rect x="220" y="{y}" width="{width:.1f}" height="18" fill="#2b6cb0"/>')
        parts.append(
            f'<text x="{225 + width:.1f}" y="{y + 14}" font-size="11" font-family="DejaVu">{value:g}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# The printed head × outcome table: "51 on Party building, 47 answered on the spot" on paper.
HEAD_OUTCOMES: list[tuple[tuple[str, ...], str]] = [
    (("answered_on_the_spot",), "Trả lời tại hội nghị"),
    (("answered_in_writing",), "Trả lời bằng văn bản"),
    (("off_topic",), "Ngoài nội dung, trả lời riêng"),
    (("escalated_to_district", "escalated_to_city"), "Chuyển cấp trên"),
    (("merged",), "Gộp vào ý kiến cùng nội dung"),
    (("pending",), "Đang giải quyết"),
]


class ReportDocuments:
    def __init__(self, documents: Documents, unit: Unit) -> None:
        self.documents = documents
        self.unit = unit

    async def render(self, table: Table, generated_at: Any) -> Document:
        total = table.total
        charts = [
            bar_chart(
                "Ý kiến theo lĩnh vực",
                [(FIELDS[c].name, n) for c, n in sorted(total.by_field.items(), key=lambda kv: -kv[1])],
            )
        ]
        rates = [(name, rate) for name, f in table.units if (rate := on_time_rate(f)) is not None]
        if rates:
            charts.append(bar_chart("Tỉ lệ trả lời đúng hạn theo đơn vị", rates, "%"))
        variables = {
            "instance_name": self.unit.name,
            "issuer": self.unit.committee,
            "title": table.title,
            "generated_at": generated_at.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y"),
            "total": total,
            "rows": table.rows,
            "columns": [c for c in COLUMNS if c[0] not in ("instance", "level")],
            "channels": [(CHANNEL_LABELS[c], total.by_channel.get(c.value, 0)) for c in Channel],
            "heads": [(self.unit.title(h), total.by_head.get(h.value, 0)) for h in Head],
            "outcomes": [(label, total.by_outcome.get(k, 0)) for k, label in OUTCOMES.items()],
            "head_outcome_labels": [label for _, label in HEAD_OUTCOMES],
            "head_outcomes": [
                (
                    self.unit.title(h),
                    total.count(head=h.value),
                    [sum(total.count(head=h.value, outcome=o) for o in keys) for keys, _ in HEAD_OUTCOMES],
                )
                for h in Head
            ],  # fmt: skip
            "held": table.held,
            "expected": table.expected,
            "missing": table.missing,
            "kinds": KINDS,
            "on_time_rate": on_time_rate(total),
            "median_days": total.answer_quantile(0.5),
            "p90_days": total.answer_quantile(0.9),
            "charts": charts,
        }
        return await self.documents.render_async("report.html.j2", variables)
