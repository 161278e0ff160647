"""Assignment's HTTP API: record the answer to an opinion; read an assignment; list agencies."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.assignment.conferences import ConferenceDesk
from services.assignment.directory import Agency
from services.assignment.domain import Status, TransitionRefused
from services.assignment.reports import ReportDocuments, Table, conference_table, period_table, to_csv, to_xlsx
from services.assignment.service import (
    AssignmentService,
    HopLimit,
    NoParent,
    NotReceivedHere,
    PromiseRefused,
    SameAgency,
    UnknownAgency,
)
from services.assignment.summaries import NoParentToReport, Summaries
from shared.clock import VIETNAM
from shared.deadlines import END_OF_DAY
from shared.events import FIELDS, AnswerKind, Figures, Head, RedirectKind, Summary
from shared.http.app import require_json
from shared.http.auth import EVERYONE, READERS, STAFF, Caller, check_agency, require_role
from shared.http.errors import ApiError
from shared.periods import parse_period

router = APIRouter(prefix="/api/v1", tags=["giao việc và trả lời"])


class AnswerIn(BaseModel):
    """The answer to an opinion: given on the spot at the conference, or in writing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: AnswerKind = Field(description="on_the_spot (tại hội nghị) hoặc written (bằng văn bản).")
    text: str = Field(min_length=1, max_length=20000, description="Nội dung trả lời.")
    answered_by: str | None = Field(
        default=None, max_length=200, description="Người/cơ quan trả lời; mặc định theo loại trả lời."
    )
    head: Head | None = Field(default=None, description="Người đứng đầu đã trả lời (trả lời tại hội nghị).")
    document_number: str | None = Field(default=None, max_length=100, description="Số văn bản trả lời.")


class AnswerView(BaseModel):
    kind: AnswerKind
    text: str
    answered_by: str
    document_number: str | None
    answered_at: AwareDatetime


class EscalationView(BaseModel):
    to: str
    to_name: str | None
    reason: str
    by: str
    at: AwareDatetime
    holder: str | None = Field(default=None, description="Instance holding it now, once the level above reported.")
    holder_name: str | None = None
    holder_state: str | None = Field(default=None, description="accepted, forwarded or answered.")
    holder_agency: str | None = None


class AssignmentView(BaseModel):
    opinion_id: str
    tracking_code: str
    origin_instance: str
    came_from: str | None = Field(description="Child instance that escalated it here, if any.")
    conference_id: str | None = None
    complaint_suspected: bool = Field(default=False, description="Reads like a complaint or denunciation.")
    status: Status
    status_label: str
    field: str
    field_name: str
    head: Head
    head_label: str
    agency_id: str | None
    agency_name: str | None
    text: str
    submitted_at: AwareDatetime
    due_at: AwareDatetime | None
    escalation: EscalationView | None
    answer: AnswerView | None


def assignment_view(doc: dict[str, Any]) -> AssignmentView:
    head = Head(doc["head"])
    status = Status(doc["status"])
    answer, agency, escalation = doc.get("answer"), doc.get("agency") or {}, doc.get("escalation")
    holder = doc.get("holder") or {}
    return AssignmentView(
        opinion_id=doc["_id"],
        tracking_code=doc["tracking_code"],
        origin_instance=doc["origin_instance"],
        came_from=doc.get("came_from"),
        conference_id=doc.get("conference_id"),
        complaint_suspected=bool(doc.get("complaint_suspected")),
        status=status,
        status_label=status.label,
        field=doc["field"],
        field_name=FIELDS[doc["field"]].name,
        head=head,
        head_label=head.label,
        agency_id=agency.get("id"),
        agency_name=agency.get("name"),
        text=doc["text"],
        submitted_at=doc["submitted_at"],
        due_at=doc.get("due_at"),
        escalation=EscalationView(
            **{k: escalation[k] for k in ("to", "to_name", "reason", "by", "at")},
            holder=holder.get("instance"),
            holder_name=holder.get("name"),
            holder_state=holder.get("state"),
            holder_agency=holder.get("agency_name"),
        )
        if escalation
        else None,
        answer=AnswerView(**{k: answer.get(k) for k in AnswerView.model_fields}) if answer else None,
    )


class AssignmentPage(BaseModel):
    total: int = Field(description="How many match, over every page.")
    page: int
    per_page: int
    items: list[AssignmentView]


DueFilter = Literal["soon", "overdue"]
DUE_SOON = timedelta(days=7)


def get_service(request: Request) -> AssignmentService:
    return request.app.state.assignment


Service = Annotated[AssignmentService, Depends(get_service)]


async def _load(service: AssignmentService, tracking_code: str, caller: Caller) -> dict[str, Any]:
    """The opinion, if the caller may reach it: an agency reaches only what is assigned to it."""
    code = tracking_code.strip().upper()
    doc = await service.repository.by_tracking_code(code)
    if doc is None:
        raise ApiError(
            404,
            "assignment_not_found",
            f"Chưa có ý kiến mã {code} được giao xử lý; kiểm tra mã, hoặc thử lại sau ít giây nếu vừa tiếp nhận.",
            f"No assigned opinion has tracking code {code}; check the code, or retry shortly if it was just received.",
        )
    check_agency(caller, (doc.get("agency") or {}).get("id"), f"Ý kiến {code}", f"Opinion {code}")
    return doc


@router.get(
    "/opinions",
    response_model=AssignmentPage,
    summary="Việc giao xử lý: hộp thư của cơ quan, chương trình hội nghị, hồ sơ của người đứng đầu",
    responses={401: {}, 403: {}, 422: {}},
)
async def list_assignments(
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*EVERYONE))],
    status: Status | None = None,
    agency_id: Annotated[str | None, Query(max_length=64)] = None,
    conference_id: Annotated[str | None, Query(max_length=64)] = None,
    head: Head | None = None,
    due: Annotated[DueFilter | None, Query(description="soon: trong 7 ngày tới; overdue: đã quá hạn.")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AssignmentPage:
    if caller.agency_bound:  # an agency's inbox holds only what is addressed to it
        check_agency(caller, agency_id or caller.agency_id, "Việc của cơ quan này", "That agency's items")
        agency_id = caller.agency_id
    query: dict[str, Any] = {}
    for key, value in (("status", status), ("agency.id", agency_id), ("conference_id", conference_id), ("head", head)):
        if value is not None:
            query[key] = str(value)
    now = service.runtime.clock.now()
    if due is not None:
        query["status"] = Status.ASSIGNED.value
        query["due_at"] = {"$lt": now} if due == "overdue" else {"$gte": now, "$lt": now + DUE_SOON}
    sort = [("due_at", 1), ("submitted_at", 1)] if query.get("status") == Status.ASSIGNED else [("submitted_at", -1)]
    total, docs = await service.repository.find(query, sort=sort, skip=(page - 1) * per_page, limit=per_page)
    return AssignmentPage(total=total, page=page, per_page=per_page, items=[assignment_view(d) for d in docs])


@router.get(
    "/opinions/{tracking_code}",
    response_model=AssignmentView,
    summary="Xem việc giao xử lý một ý kiến",
    responses={401: {}, 403: {}, 404: {}},
)
async def get_assignment(
    tracking_code: str,
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*EVERYONE))],
) -> AssignmentView:
    return assignment_view(await _load(service, tracking_code, caller))


@router.post(
    "/opinions/{tracking_code}/answer",
    response_model=AssignmentView,
    summary="Ghi nhận câu trả lời (tại hội nghị hoặc bằng văn bản)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 413: {}, 415: {}, 422: {}},
)
async def record_answer(
    tracking_code: str,
    body: AnswerIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role("front", "secretary", "agency", "operator"))],
) -> AssignmentView:
    doc = await _load(service, tracking_code, caller)
    try:
        updated = await service.answer(
            doc,
            kind=body.kind,
            text=body.text,
            answered_by=body.answered_by,
            head=body.head,
            document_number=body.document_number,
            recorded_by=caller.actor,
        )
        await service.runtime.audit.record(
            caller,
            "opinion.answered",
            updated["tracking_code"],
            {"kind": body.kind.value, "document": body.document_number},
        )
    except TransitionRefused as exc:
        raise ApiError(
            409,
            "cannot_answer",
            f"Ý kiến {doc['tracking_code']} đang ở trạng thái '{exc.current.label}'; "
            "chỉ ghi nhận trả lời cho ý kiến đang chờ trả lời tại cấp này.",
            f"Opinion {doc['tracking_code']} is '{exc.current.value}'; "
            "only an opinion waiting for an answer at this level can be answered.",
        ) from exc
    return assignment_view(updated)


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=1000, description="Vì sao vượt thẩm quyền của cấp này.")


@router.post(
    "/opinions/{tracking_code}/escalate",
    response_model=AssignmentView,
    summary="Chuyển ý kiến vượt thẩm quyền lên cấp trên (thư ký hội nghị, vận hành viên)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 413: {}, 415: {}, 422: {}},
)
async def escalate(
    tracking_code: str,
    body: EscalateIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*STAFF))],
) -> AssignmentView:
    doc = await _load(service, tracking_code, caller)
    try:
        updated = await service.escalate_by_hand(doc, reason=body.reason, by=caller.actor)
        await service.runtime.audit.record(caller, "opinion.escalated", doc["tracking_code"], {"reason": body.reason})
    except TransitionRefused as exc:
        raise ApiError(
            409,
            "cannot_escalate",
            f"Ý kiến {doc['tracking_code']} đang ở trạng thái '{exc.current.label}'; "
            "chỉ chuyển được ý kiến đang chờ trả lời.",
            f"Opinion {doc['tracking_code']} is '{exc.current.value}'; "
            "only an opinion waiting for an answer can be escalated.",
        ) from exc
    except NoParent as exc:
        raise ApiError(
            409,
            "no_parent",
            "Đơn vị này là cấp cao nhất trong chuỗi liên thông; không có cấp trên để chuyển.",
            "This instance is the top of its chain; there is no level above to escalate to.",
        ) from exc
    except HopLimit as exc:
        raise ApiError(
            409,
            "hop_limit",
            f"Ý kiến đã qua {len(doc['chain'])} cấp; không chuyển tiếp thêm.",
            f"The opinion has passed {len(doc['chain'])} levels; it cannot go further.",
        ) from exc
    return assignment_view(updated)


def get_summaries(request: Request) -> Summaries:
    return request.app.state.summaries


def _period(period: str) -> str:
    try:
        return parse_period(period).code
    except ValueError as exc:
        raise ApiError(
            422,
            "invalid_period",
            "Kỳ báo cáo không hợp lệ; dùng YYYY, YYYY-MM, YYYY-Qn, YYYY-6M hoặc YYYY-9M (ví dụ 2026-Q1).",
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
    try:
        result = await summaries.report_up(_period(period))
    except NoParentToReport as exc:
        raise ApiError(
            409,
            "no_parent",
            "Đơn vị này là cấp cao nhất; không có cấp trên để gửi báo cáo.",
            "This instance is the top of its chain; there is no level above to report to.",
        ) from exc
    await summaries.runtime.audit.record(
        caller, "summary.reported", result.period, {"to": summaries.runtime.settings.parent_id}
    )
    return SummaryView(summary=result, total=result.total())


@router.get(
    "/agencies", response_model=list[Agency], summary="Cơ quan nhận giao việc theo lĩnh vực (bản sao định tuyến)"
)
async def list_agencies(service: Service, _: Annotated[Caller, Depends(require_role(*EVERYONE))]) -> list[Agency]:
    return await service.directory.all()


# ---- at the conference: promises, complaints -------------------------------------------------------


class PromiseIn(BaseModel):
    """A written answer promised at the conference; `off_topic` for a question outside the topic,
    received and answered separately in writing."""

    model_config = ConfigDict(extra="forbid")

    due_date: date | None = Field(default=None, description="Hạn trả lời (không muộn hơn hạn luật định).")
    off_topic: bool = False


@router.post(
    "/opinions/{tracking_code}/promise",
    response_model=AssignmentView,
    summary="Ghi nhận hẹn trả lời bằng văn bản (hoặc ý kiến ngoài nội dung, trả lời riêng)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def promise(
    tracking_code: str,
    body: PromiseIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*STAFF))],
) -> AssignmentView:
    doc = await _load(service, tracking_code, caller)
    due = datetime.combine(body.due_date, END_OF_DAY, tzinfo=VIETNAM) if body.due_date else None
    try:
        updated = await service.promise(doc, due=due, off_topic=body.off_topic, by=caller.actor)
        await service.runtime.audit.record(
            caller,
            "opinion.promised",
            doc["tracking_code"],
            {"due_at": updated["due_at"].isoformat(), "off_topic": body.off_topic},
        )
    except TransitionRefused as exc:
        raise _not_waiting(doc, exc) from exc
    except PromiseRefused as exc:
        limit = exc.limit.astimezone(VIETNAM).strftime("%d/%m/%Y")
        vi, en = (
            (
                f"Hạn hẹn trả lời không được muộn hơn hạn luật định {limit}.",
                f"The promise cannot be later than {limit}.",
            )
            if exc.reason == "later_than_rule"
            else (f"Hạn hẹn trả lời đã qua (hôm nay {limit}).", f"The promised date has passed (today is {limit}).")
        )
        raise ApiError(
            422, f"promise_{exc.reason}", vi, en, [{"field": "due_date", "message_vi": vi, "message_en": en}]
        ) from exc
    return assignment_view(updated)


def _not_waiting(doc: dict[str, Any], exc: TransitionRefused) -> ApiError:
    return ApiError(
        409,
        "not_waiting",
        f"Ý kiến {doc['tracking_code']} đang ở trạng thái '{exc.current.label}'; "
        "chỉ ghi nhận cho ý kiến đang chờ trả lời.",
        f"Opinion {doc['tracking_code']} is '{exc.current.value}'; only an opinion waiting for an answer qualifies.",
    )


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_id: str = Field(min_length=1, max_length=64, description="Mã cơ quan mới (xem /api/v1/agencies).")
    reason: str = Field(min_length=1, max_length=1000)


@router.post(
    "/opinions/{tracking_code}/reassign",
    response_model=AssignmentView,
    summary="Giao lại ý kiến cho cơ quan khác (giữ nguyên hạn trả lời)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def reassign(
    tracking_code: str,
    body: ReassignIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*STAFF))],
) -> AssignmentView:
    doc = await _load(service, tracking_code, caller)
    try:
        updated = await service.reassign(doc, agency_id=body.agency_id, reason=body.reason, by=caller.actor)
    except TransitionRefused as exc:
        raise _not_waiting(doc, exc) from exc
    except UnknownAgency as exc:
        raise ApiError(
            422,
            "unknown_agency",
            f"Không có cơ quan mã {body.agency_id} trong danh bạ (đang hoạt động).",
            f"No active agency {body.agency_id} in the directory.",
            [{"field": "agency_id", "message_vi": "Không có trong danh bạ", "message_en": "Not in the directory"}],
        ) from exc
    except SameAgency as exc:
        raise ApiError(
            409,
            "same_agency",
            f"Ý kiến đã giao cho {body.agency_id}.",
            f"The opinion is already with {body.agency_id}.",
        ) from exc
    await service.runtime.audit.record(
        caller, "opinion.reassigned", doc["tracking_code"],
        {"from": doc["agency"]["id"], "to": body.agency_id, "reason": body.reason},
    )  # fmt: skip
    return assignment_view(updated)


class RedirectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: RedirectKind = Field(description="complaint (khiếu nại) hoặc denunciation (tố cáo).")
    reason: str = Field(min_length=1, max_length=1000)


@router.post(
    "/opinions/{tracking_code}/redirect",
    response_model=AssignmentView,
    summary="Chuyển đơn khiếu nại, tố cáo sang quy trình giải quyết riêng (không tính là ý kiến đối thoại)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def redirect(
    tracking_code: str,
    body: RedirectIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*STAFF))],
) -> AssignmentView:
    doc = await _load(service, tracking_code, caller)
    try:
        updated = await service.redirect(doc, kind=body.kind, reason=body.reason, by=caller.actor)
        await service.runtime.audit.record(
            caller, "opinion.redirected", doc["tracking_code"], {"kind": body.kind.value, "reason": body.reason}
        )
    except TransitionRefused as exc:
        raise _not_waiting(doc, exc) from exc
    except NotReceivedHere as exc:
        raise ApiError(
            409,
            "not_received_here",
            f"Ý kiến được tiếp nhận tại {exc}; chỉ nơi tiếp nhận mới chuyển quy trình khiếu nại, tố cáo.",
            f"The opinion was received at {exc}; only there can it be redirected.",
        ) from exc
    return assignment_view(updated)


# ---- documents and supervision -----------------------------------------------------------------------


def get_desk(request: Request) -> ConferenceDesk:
    return request.app.state.conference_desk


Desk = Annotated[ConferenceDesk, Depends(get_desk)]
Readers = Annotated[Caller, Depends(require_role(*EVERYONE))]


class DocumentView(BaseModel):
    id: str
    kind: str = Field(description="minutes (biên bản) or conclusion_notice (thông báo kết luận)")
    agency: str | None
    html_url: str
    pdf_url: str
    created_at: AwareDatetime


@router.get(
    "/conferences/{conference_id}/documents",
    response_model=list[DocumentView],
    tags=["hội nghị"],
    summary="Biên bản và các thông báo kết luận của một hội nghị",
)
async def conference_documents(conference_id: str, desk: Desk, request: Request, caller: Readers) -> list[DocumentView]:
    return [
        DocumentView(
            id=d["_id"],
            kind=d["kind"],
            agency=(d.get("agency") or {}).get("name"),
            html_url=str(request.url_for("document_html", document_id=d["_id"])),
            pdf_url=str(request.url_for("document_pdf", document_id=d["_id"])),
            created_at=d["created_at"],
        )
        for d in await desk.documents_of(conference_id)
        if _may_read(caller, d)
    ]


def _may_read(caller: Caller, doc: dict[str, Any]) -> bool:
    """Minutes are the instance's; a conclusion notice is also its agency's."""
    return caller.may_see_agency((doc.get("agency") or {}).get("id"))


async def _document(desk: ConferenceDesk, document_id: str, caller: Caller) -> dict[str, Any]:
    doc = await desk.document(document_id)
    if doc is None:
        raise ApiError(404, "document_not_found", f"Không có văn bản {document_id}.", f"No document {document_id}.")
    check_agency(caller, (doc.get("agency") or {}).get("id"), f"Văn bản {document_id}", f"Document {document_id}")
    return doc


@router.get("/documents/{document_id}.pdf", tags=["hội nghị"], summary="Văn bản dạng PDF", response_class=Response)
async def document_pdf(document_id: str, desk: Desk, caller: Readers) -> Response:
    doc = await _document(desk, document_id, caller)
    return Response(
        doc["pdf"],
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document_id}.pdf"'},
    )


@router.get("/documents/{document_id}", tags=["hội nghị"], summary="Văn bản dạng HTML (in được khổ A4)")
async def document_html(document_id: str, desk: Desk, caller: Readers) -> HTMLResponse:
    return HTMLResponse((await _document(desk, document_id, caller))["html"])


class SupervisionRow(BaseModel):
    tracking_code: str
    agency: str
    conference_id: str | None = None
    document_id: str | None
    text: str
    due_at: AwareDatetime | None
    status: str = Field(description="pending, overdue, answered_on_time, answered_late")
    answered_at: AwareDatetime | None
    answer: str | None


class SupervisionView(BaseModel):
    conference_id: str
    counts: dict[str, int]
    items: list[SupervisionRow]


@router.get(
    "/conferences/{conference_id}/supervision",
    response_model=SupervisionView,
    tags=["hội nghị"],
    summary="Giám sát của Mặt trận: mọi kết luận và tình trạng thực hiện",
    responses={401: {}, 403: {}},
)
async def supervision(
    conference_id: str, desk: Desk, _: Annotated[Caller, Depends(require_role(*READERS))]
) -> SupervisionView:
    rows = [SupervisionRow(**r) for r in await desk.supervision(conference_id)]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return SupervisionView(conference_id=conference_id, counts=counts, items=rows)


class SupervisionBoard(BaseModel):
    counts: dict[str, int]
    items: list[SupervisionRow]


@router.get(
    "/supervision",
    response_model=SupervisionBoard,
    tags=["hội nghị"],
    summary="Bảng giám sát của Mặt trận: mọi kết luận và hẹn trả lời bằng văn bản, quá hạn trước",
    responses={401: {}, 403: {}},
)
async def supervision_board(
    desk: Desk,
    _: Annotated[Caller, Depends(require_role(*READERS))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 300,
) -> SupervisionBoard:
    rows = [SupervisionRow(**r) for r in await desk.board(limit)]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return SupervisionBoard(counts=counts, items=rows)


# ---- reports -------------------------------------------------------------------------------------------

ReportFormat = Literal["json", "csv", "xlsx", "html", "pdf"]
MEDIA = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
}


class ReportView(BaseModel):
    title: str
    summary: Summary | None = None
    total: Figures
    rows: list[dict[str, Any]]


async def _render(request: Request, table: Table, fmt: str, filename: str, summary: Summary | None = None) -> Response:
    if fmt == "json":
        return JSONResponse(
            ReportView(title=table.title, summary=summary, total=table.total, rows=table.rows).model_dump(mode="json")
        )
    if fmt == "csv":
        body: bytes | str = to_csv(table)
    elif fmt == "xlsx":
        body = to_xlsx(table)
    else:
        settings = request.app.state.settings
        document = await ReportDocuments(request.app.state.conference_desk.documents, settings.instance_name).render(
            table, request.app.state.assignment.runtime.clock.now()
        )
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
    summary="Báo cáo kết quả đối thoại theo kỳ (tháng, quý, 6 tháng, 9 tháng, năm), gồm cả cấp dưới",
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
    return await _render(
        request, period_table(summary), format, f"bao-cao-{summary.instance}-{summary.period}", summary
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
    table = conference_table(conference, request.app.state.settings.instance_id, figures)
    return await _render(request, table, format, f"bao-cao-hoi-nghi-{conference_id}")
