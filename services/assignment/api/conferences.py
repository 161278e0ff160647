"""Assignment's HTTP API about conferences: their documents (minutes, conclusion notices; an agency
reads only its own notices) and the Fatherland Front's supervision of every conclusion."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field

from services.assignment.conferences import ConferenceDesk
from shared.http.auth import EVERYONE, READERS, Caller, check_agency, require_role
from shared.http.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["giao việc và trả lời"])


def get_desk(request: Request) -> ConferenceDesk:
    return request.app.state.assignment.desk


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
