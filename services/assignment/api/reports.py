"""Assignment's HTTP API about figures: the period summaries (this instance and the levels below, sent
up on demand) and the reports (JSON, CSV, XLSX, printable HTML and PDF)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from services.assignment.api.conferences import Desk
from services.assignment.reports import ReportDocuments, Table, conference_table, period_table, to_csv, to_xlsx
from services.assignment.summaries import NoParentToReport, Summaries
from shared.events import Figures, Summary
from shared.http.auth import READERS, Caller, require_role
from shared.http.errors import ApiError
from shared.periods import parse_period

router = APIRouter(prefix="/api/v1", tags=["giao việc và trả lời"])


def get_summaries(request: Request) -> Summaries:
    return request.app.state.assignment.summaries


def _period(period: str) -> str:
    try:
        return parse_period(period).code
    except ValueError as exc:
        raise ApiError(
            422,
            "invalid_period",
            "Kỳ báo cáo không hợp lệ; dùng YYYY, YYYY-MM, YYYY-Qn, YYYY-6M, YYYY-9M (ví dụ 2026-Q1) hoặc một "
            "khoảng ngày YYYY-MM-DD..YYYY-MM-DD (ví dụ 2026-03-01..2026-05-15).",
            str(exc),
        ) from exc


class SummaryView(BaseModel):
    summary: Summary
    total: Figures = Field(description="This instance and every level below it, added up.")


@router.get(
    "/summary",
    response_model=SummaryView,
    summary="Số liệu tổng hợp theo kỳ: của đơn vị và các đơn vị cấp dưới",
    responses={401: {}, 403: {}, 422: {}},
)
async def summary(
    period: str,
    summaries: Annotated[Summaries, Depends(get_summaries)],
    _: Annotated[Caller, Depends(require_role(*READERS))],
) -> SummaryView:
    result = await summaries.summary(_period(period))
    return SummaryView(summary=result, total=result.total())


@router.post(
    "/summary/report",
    response_model=SummaryView,
    summary="Gửi số liệu tổng hợp của kỳ lên cấp trên ngay",
    responses={401: {}, 403: {}, 409: {}, 422: {}},
)
async def report_summary(
    period: str,
    summaries: Annotated[Summaries, Depends(get_summaries)],
    caller: Annotated[Caller, Depends(require_role("operator"))],
) -> SummaryView:
    code = _period(period)
    if parse_period(code).is_range:
        raise ApiError(
            422,
            "range_not_sent_up",
            "Khoảng ngày chỉ dùng cho báo cáo của cấp này; gửi cấp trên theo tháng, quý, 6 tháng, 9 tháng hoặc năm.",
            "A range of days is for this level's own report; send a month, quarter or year up.",
        )
    try:
        result = await summaries.report_up(code, by=caller)
    except NoParentToReport as exc:
        raise ApiError(
            409,
            "no_parent",
            "Đơn vị này là cấp cao nhất; không có cấp trên để gửi báo cáo.",
            "This instance is the top of its chain; there is no level above to report to.",
        ) from exc
    return SummaryView(summary=result, total=result.total())


ReportFormat = Literal["json", "csv", "xlsx", "html", "pdf"]
MEDIA = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
}


class PlanView(BaseModel):
    """The plan's completion below this level: "13/14 đơn vị đã tổ chức"."""

    held: int = Field(description="Units directly below that held a conference in the period.")
    units: int = Field(description="Units directly below, reported or not.")
    missing: list[str] = Field(description="Units below that have not reported.")


class ReportView(BaseModel):
    title: str
    summary: Summary | None = None
    total: Figures
    plan: PlanView
    rows: list[dict[str, Any]]


async def _render(request: Request, table: Table, fmt: str, filename: str, summary: Summary | None = None) -> Response:
    if fmt == "json":
        return JSONResponse(
            ReportView(
                title=table.title,
                summary=summary,
                total=table.total,
                rows=table.rows,
                plan=PlanView(held=table.held, units=table.expected, missing=list(table.missing)),
            ).model_dump(mode="json")  # fmt: skip
        )
    if fmt == "csv":
        body: bytes | str = to_csv(table)
    elif fmt == "xlsx":
        body = to_xlsx(table)
    else:
        desk = request.app.state.assignment.desk
        document = await ReportDocuments(desk.documents, desk.unit).render(table, desk.clock.now())
        if fmt == "html":
            return HTMLResponse(document.html)
        body = document.pdf
    media, extension = MEDIA[fmt]
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}.{extension}"'}
    )


@router.get(
    "/reports",
    tags=["báo cáo"],
    summary="Báo cáo kết quả đối thoại theo kỳ (tháng, quý, 6 tháng, 9 tháng, năm; gồm cả cấp dưới) hoặc theo "
    "khoảng ngày (của cấp này)",
    responses={401: {}, 403: {}, 422: {}},
)
async def period_report(
    period: str,
    request: Request,
    summaries: Annotated[Summaries, Depends(get_summaries)],
    _: Annotated[Caller, Depends(require_role(*READERS))],
    format: ReportFormat = "json",
) -> Response:
    summary = await summaries.summary(_period(period))
    below = {} if parse_period(summary.period).is_range else {child: child for child in summaries.children}
    return await _render(
        request,
        period_table(summary, below),
        format,
        f"bao-cao-{summary.instance}-{summary.period}",
        summary,
    )


@router.get(
    "/conferences/{conference_id}/report",
    tags=["báo cáo"],
    summary="Báo cáo một hội nghị đối thoại",
    responses={401: {}, 403: {}, 404: {}},
)
async def conference_report(
    conference_id: str,
    request: Request,
    summaries: Annotated[Summaries, Depends(get_summaries)],
    desk: Desk,
    _: Annotated[Caller, Depends(require_role(*READERS))],
    format: ReportFormat = "json",
) -> Response:
    conference = await desk.conference(conference_id)
    if conference is None:
        raise ApiError(
            404, "conference_not_found", f"Không có hội nghị mã {conference_id}.", f"No conference {conference_id}."
        )
    figures = await summaries.figures(conference_id=conference_id)
    table = conference_table(conference, summaries.place.instance, figures)
    return await _render(request, table, format, f"bao-cao-hoi-nghi-{conference_id}")
