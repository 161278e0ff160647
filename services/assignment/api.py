"""Assignment's HTTP API: record the answer to an opinion; read an assignment; list agencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.assignment.directory import Agency
from services.assignment.domain import Status, TransitionRefused
from services.assignment.service import AssignmentService
from shared.events import FIELDS, AnswerKind, Head
from shared.http.app import require_json
from shared.http.auth import Caller, require_role
from shared.http.errors import ApiError

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


class AssignmentView(BaseModel):
    opinion_id: str
    tracking_code: str
    status: Status
    status_label: str
    field: str
    field_name: str
    head: Head
    head_label: str
    agency_id: str
    agency_name: str
    text: str
    submitted_at: AwareDatetime
    due_at: AwareDatetime
    answer: AnswerView | None


def assignment_view(doc: dict[str, Any]) -> AssignmentView:
    head = Head(doc["head"])
    status = Status(doc["status"])
    answer = doc.get("answer")
    return AssignmentView(
        opinion_id=doc["_id"],
        tracking_code=doc["tracking_code"],
        status=status,
        status_label=status.label,
        field=doc["field"],
        field_name=FIELDS[doc["field"]].name,
        head=head,
        head_label=head.label,
        agency_id=doc["agency"]["id"],
        agency_name=doc["agency"]["name"],
        text=doc["text"],
        submitted_at=doc["submitted_at"],
        due_at=doc["due_at"],
        answer=AnswerView(**{k: answer[k] for k in AnswerView.model_fields}) if answer else None,
    )


def get_service(request: Request) -> AssignmentService:
    return request.app.state.assignment


Service = Annotated[AssignmentService, Depends(get_service)]


async def _load(service: AssignmentService, tracking_code: str) -> dict[str, Any]:
    code = tracking_code.strip().upper()
    doc = await service.repository.by_tracking_code(code)
    if doc is None:
        raise ApiError(
            404,
            "assignment_not_found",
            f"Chưa có ý kiến mã {code} được giao xử lý; kiểm tra mã, hoặc thử lại sau ít giây nếu vừa tiếp nhận.",
            f"No assigned opinion has tracking code {code}; check the code, or retry shortly if it was just received.",
        )
    return doc


@router.get(
    "/opinions/{tracking_code}",
    response_model=AssignmentView,
    summary="Xem việc giao xử lý một ý kiến",
    responses={401: {}, 403: {}, 404: {}},
)
async def get_assignment(
    tracking_code: str,
    service: Service,
    _: Annotated[Caller, Depends(require_role("front", "agency", "operator"))],
) -> AssignmentView:
    return assignment_view(await _load(service, tracking_code))


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
    caller: Annotated[Caller, Depends(require_role("front", "agency", "operator"))],
) -> AssignmentView:
    doc = await _load(service, tracking_code)
    try:
        updated = await service.answer(
            doc,
            kind=body.kind,
            text=body.text,
            answered_by=body.answered_by,
            head=body.head,
            document_number=body.document_number,
            recorded_by=caller.key_id,
        )
    except TransitionRefused as exc:
        raise ApiError(
            409,
            "already_answered",
            f"Ý kiến {doc['tracking_code']} đang ở trạng thái '{exc.current.label}'; không ghi nhận trả lời lần nữa.",
            f"Opinion {doc['tracking_code']} is '{exc.current.value}'; it cannot be answered again.",
        ) from exc
    return assignment_view(updated)


@router.get("/agencies", response_model=list[Agency], summary="Danh bạ cơ quan chịu trách nhiệm")
async def list_agencies(
    service: Service, _: Annotated[Caller, Depends(require_role("front", "agency", "operator"))]
) -> list[Agency]:
    return await service.directory.all()
