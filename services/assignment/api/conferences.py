"""Assignment's HTTP API about conferences: their documents (minutes, conclusion notices, each agency's extract,
the plan, announcement and invitation) as HTML, PDF and DOCX, what could not be produced and its retry, the
document register, and the Fatherland Front's supervision of every conclusion. An agency reads only its own
extracts."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field

from services.assignment.conferences import KIND_LABELS, ConferenceDesk, PaperRefused
from services.assignment.documents import docx_from_html
from shared.clock import VIETNAM
from shared.http.auth import EVERYONE, READERS, STAFF, Caller, check_agency, require_role
from shared.http.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["giao việc và trả lời"])


def get_desk(request: Request) -> ConferenceDesk:
    return request.app.state.assignment.desk


Desk = Annotated[ConferenceDesk, Depends(get_desk)]
Readers = Annotated[Caller, Depends(require_role(*EVERYONE))]
ReadersOnly = Annotated[Caller, Depends(require_role(*READERS))]  # staff and heads, not agencies


class DocumentView(BaseModel):
    id: str
    kind: str = Field(
        description="minutes (biên bản), conclusion (thông báo kết luận of one body), conclusion_notice (an "
        "agency's extract), plan (kế hoạch), announcement (thông báo tổ chức), invitation (giấy mời)"
    )
    title: str = Field(description="What the document is, in Vietnamese.")
    number: str | None = Field(description='Its number in the register ("12/BB-UBND", "05-TB/ĐU"); none for extracts.')
    agency: str | None
    status: str = Field(description="issued; missing (could not be produced: see problem); pending (being produced)")
    problem: str | None = Field(description='Why it is missing ("Biên bản hội nghị chưa lập được: …"), else none.')
    html_url: str | None
    pdf_url: str | None
    docx_url: str | None
    created_at: AwareDatetime | None


def _view(d: dict[str, Any], request: Request) -> DocumentView:
    issued = d.get("status", "issued") == "issued"

    def url(name: str) -> str | None:
        return str(request.url_for(name, document_id=d["_id"])) if issued else None

    return DocumentView(
        id=d["_id"],
        kind=d["kind"],
        title=d.get("title") or KIND_LABELS.get(d["kind"], d["kind"]),
        number=d.get("number"),
        agency=(d.get("agency") or {}).get("name"),
        status=d.get("status", "issued"),
        problem=d.get("problem"),
        html_url=url("document_html"),
        pdf_url=url("document_pdf"),
        docx_url=url("document_docx"),
        created_at=d.get("created_at"),
    )


@router.get(
    "/conferences/{conference_id}/documents",
    response_model=list[DocumentView],
    tags=["hội nghị"],
    summary="Văn bản của một hội nghị: biên bản, thông báo kết luận, trích gửi cơ quan; và văn bản chưa lập được",
)
async def conference_documents(conference_id: str, desk: Desk, request: Request, caller: Readers) -> list[DocumentView]:
    return [_view(d, request) for d in await desk.documents_of(conference_id) if _may_read(caller, d)]


@router.post(
    "/conferences/{conference_id}/documents/retry",
    response_model=list[DocumentView],
    tags=["hội nghị"],
    summary="Lập lại các văn bản chưa lập được của một hội nghị đã kết thúc (sau khi khắc phục nguyên nhân)",
    responses={404: {}, 409: {}},
)
async def retry_documents(
    conference_id: str,
    desk: Desk,
    request: Request,
    _: Annotated[Caller, Depends(require_role("secretary", "operator"))],
) -> list[DocumentView]:
    done = await desk.retry(conference_id)
    if done is None:
        conference = await desk.conference(conference_id)
        if conference is None:
            raise ApiError(
                404, "conference_not_found", f"Không có hội nghị {conference_id}.", f"No conference {conference_id}."
            )
        raise ApiError(
            409,
            "conference_not_concluded",
            f"Hội nghị đang ở trạng thái “{conference.status.label}”; văn bản được lập khi hội nghị đã kết thúc.",
            f"The conference is {conference.status.value}; its documents are made once it is concluded.",
        )
    return [_view(d, request) for d in await desk.documents_of(conference_id)]


async def _paper(desk: ConferenceDesk, conference_id: str, kind: str, request: Request) -> DocumentView:
    try:
        doc = await desk.paper(conference_id, kind)
    except PaperRefused as exc:
        raise ApiError(
            409,
            "conference_cancelled",
            f"Hội nghị {conference_id} {exc}; không lập văn bản cho hội nghị này.",
            f"Conference {conference_id} was cancelled; no document is made for it.",
        ) from exc
    if doc is None:
        raise ApiError(
            404, "conference_not_found", f"Không có hội nghị {conference_id}.", f"No conference {conference_id}."
        )
    return _view(doc, request)


@router.get(
    "/conferences/{conference_id}/plan",
    response_model=DocumentView,
    tags=["hội nghị"],
    summary="Kế hoạch tổ chức hội nghị (lập và lấy số khi được yêu cầu lần đầu)",
    responses={404: {}, 409: {}},
)
async def conference_plan(conference_id: str, desk: Desk, request: Request, _: ReadersOnly) -> DocumentView:
    return await _paper(desk, conference_id, "plan", request)


@router.get(
    "/conferences/{conference_id}/announcement",
    response_model=DocumentView,
    tags=["hội nghị"],
    summary="Thông báo tổ chức hội nghị cho Nhân dân (lập và lấy số khi được yêu cầu lần đầu)",
    responses={404: {}, 409: {}},
)
async def conference_announcement(conference_id: str, desk: Desk, request: Request, _: ReadersOnly) -> DocumentView:
    return await _paper(desk, conference_id, "announcement", request)


@router.get(
    "/conferences/{conference_id}/invitation",
    response_model=DocumentView,
    tags=["hội nghị"],
    summary="Giấy mời dự hội nghị (lập và lấy số khi được yêu cầu lần đầu)",
    responses={404: {}, 409: {}},
)
async def conference_invitation(conference_id: str, desk: Desk, request: Request, _: ReadersOnly) -> DocumentView:
    return await _paper(desk, conference_id, "invitation", request)


class TaskIn(BaseModel):
    task: str = Field(
        min_length=3,
        max_length=2000,
        description="Nhiệm vụ người đứng đầu giao cơ quan đối với ý kiến này, như thư ký ghi (in vào thông báo "
        "kết luận).",
    )


class TaskView(BaseModel):
    conference_id: str
    tracking_code: str
    task: str


@router.put(
    "/conferences/{conference_id}/conclusions/{tracking_code}",
    response_model=TaskView,
    tags=["hội nghị"],
    summary="Ghi nhiệm vụ kết luận giao cơ quan đối với một ý kiến (trước khi ban hành thông báo kết luận)",
    responses={404: {}, 409: {}},
)
async def set_conclusion_task(
    conference_id: str,
    tracking_code: str,
    body: TaskIn,
    desk: Desk,
    caller: Annotated[Caller, Depends(require_role(*STAFF))],
) -> TaskView:
    result = await desk.set_task(conference_id, tracking_code, body.task, caller.actor)
    if result == "unknown":
        raise ApiError(
            404,
            "opinion_not_on_conference",
            f"Ý kiến {tracking_code} không thuộc hội nghị {conference_id}.",
            f"Opinion {tracking_code} is not on conference {conference_id}.",
        )
    if result == "issued":
        raise ApiError(
            409,
            "conclusions_issued",
            "Thông báo kết luận của hội nghị đã ban hành; nhiệm vụ mới cần một văn bản khác.",
            "The conference's conclusion notices are issued already; a new task needs another document.",
        )
    return TaskView(conference_id=conference_id, tracking_code=tracking_code, task=body.task.strip())


class RegisterRow(BaseModel):
    series: str = Field(description='The register: "UBND" (all the People\'s Committee\'s documents), "ĐU-TB"…')
    year: int
    number: int
    symbol: str = Field(description='"12/BB-UBND", "05-TB/ĐU"')
    label: str
    document_id: str
    taken_at: AwareDatetime


@router.get(
    "/document-register",
    response_model=list[RegisterRow],
    tags=["hội nghị"],
    summary="Sổ đăng ký văn bản đi của năm: mọi số đã cấp, theo sổ và số",
)
async def document_register(
    desk: Desk,
    _: ReadersOnly,
    year: Annotated[int | None, Query(ge=2000, le=2199, description="Năm (mặc định: năm nay)")] = None,
) -> list[RegisterRow]:
    year = year or desk.clock.now().astimezone(VIETNAM).year
    return [
        RegisterRow(
            series=r["series"],
            year=r["year"],
            number=r["number"],
            symbol=r["symbol"],
            label=r["label"],
            document_id=r["key"],
            taken_at=r["at"],
        )
        for r in await desk.register(year)
    ]


def _may_read(caller: Caller, doc: dict[str, Any]) -> bool:
    """Minutes, notices and the papers are the instance's; an agency's extract is also that agency's."""
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


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get(
    "/documents/{document_id}.docx",
    tags=["hội nghị"],
    summary="Văn bản dạng DOCX (Word, LibreOffice) để chỉnh sửa trước khi ký",
    response_class=Response,
)
async def document_docx(document_id: str, desk: Desk, caller: Readers) -> Response:
    doc = await _document(desk, document_id, caller)
    # Documents made before DOCX existed are converted from their stored HTML, the same source.
    content = doc.get("docx") or await asyncio.to_thread(docx_from_html, doc["html"])
    return Response(
        content,
        media_type=DOCX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{document_id}.docx"'},
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
    return SupervisionView(conference_id=conference_id, counts=_counts(rows), items=rows)


class SupervisionBoard(BaseModel):
    counts: dict[str, int]
    items: list[SupervisionRow]


def _counts(rows: list[SupervisionRow]) -> dict[str, int]:
    return dict(Counter(row.status for row in rows))


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
    return SupervisionBoard(counts=_counts(rows), items=rows)
