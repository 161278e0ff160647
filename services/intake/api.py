"""Intake's native JSON API: submit an opinion, follow it by tracking code, list the fields."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator

from services.intake.domain import Stage, normalize_tracking_code
from services.intake.service import ConferenceRefused, IntakeService
from shared.events import FIELDS, Channel, CitizenContact, Head, Location
from shared.events.opinions import AnswerKind, known_field
from shared.http.app import require_json
from shared.http.auth import STAFF, Caller, require_role
from shared.http.errors import ApiError
from shared.http.limits import public_rate_limit

router = APIRouter(prefix="/api/v1", tags=["ý kiến"])


class CitizenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=200, description="Họ tên người nêu ý kiến.")
    email: EmailStr | None = Field(default=None, description="Email để nhận thông báo và câu trả lời.")
    phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 .-]{6,30}$")


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class OpinionSubmission(BaseModel):
    """An opinion or petition (ý kiến, kiến nghị) as front staff, secretaries or the portal send it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=5000, description="Nội dung ý kiến, kiến nghị.")
    channel: Channel = Field(description="Kênh tiếp nhận.")
    field: str | None = Field(default=None, description="Mã lĩnh vực nếu đã phân loại (xem /api/v1/fields).")
    head: Head | None = Field(default=None, description="Người đứng đầu phải trả lời, nếu đã xác định.")
    citizen: CitizenIn | None = None
    location: LocationIn | None = None
    conference_id: str | None = Field(default=None, max_length=64, description="Hội nghị liên quan, nếu có.")

    _field = field_validator("field")(known_field)


class Accepted(BaseModel):
    opinion_id: str
    tracking_code: str = Field(description="Mã theo dõi để người dân tra cứu.")
    status: str
    status_label: str
    status_url: str


class HistoryItem(BaseModel):
    at: AwareDatetime
    status: str | None
    note: str


class AnswerView(BaseModel):
    kind: AnswerKind
    kind_label: str
    text: str
    answered_by: str
    document_number: str | None
    answered_at: AwareDatetime


class OpinionView(BaseModel):
    tracking_code: str
    opinion_id: str
    status: str = Field(description="received, classified, assigned, escalated, accepted, redirected or closed.")
    status_label: str
    channel: Channel
    channel_label: str
    text: str
    field: str | None
    field_name: str | None
    head: Head | None
    head_label: str | None
    agency: str | None = Field(description="Cơ quan chịu trách nhiệm.")
    holder: str | None = Field(description="Cấp đang giữ ý kiến, khi đã chuyển lên cấp trên.")
    due_at: AwareDatetime | None = Field(description="Hạn trả lời.")
    overdue: bool
    answer: AnswerView | None
    submitted_at: AwareDatetime
    updated_at: AwareDatetime
    history: list[HistoryItem]


class FieldView(BaseModel):
    code: str
    name: str
    head: Head
    head_label: str
    description: str


def stage_name(stage: int | None) -> str | None:
    return Stage(stage).name.lower() if stage is not None else None


def opinion_view(doc: dict[str, Any]) -> OpinionView:
    stage = Stage(doc["stage"])
    field = doc.get("field")
    head = Head(doc["head"]) if doc.get("head") else None
    answer = doc.get("answer")
    return OpinionView(
        tracking_code=doc["tracking_code"],
        opinion_id=doc["_id"],
        status=stage.name.lower(),
        status_label=stage.label,
        channel=Channel(doc["channel"]),
        channel_label=Channel(doc["channel"]).label,
        text=doc["text"],
        field=field,
        field_name=FIELDS[field].name if field else None,
        head=head,
        head_label=head.label if head else None,
        agency=(doc.get("agency") or {}).get("name"),
        holder=doc.get("holder"),
        due_at=doc.get("due_at"),
        overdue=bool(doc.get("overdue")),
        answer=AnswerView(**answer, kind_label=AnswerKind(answer["kind"]).label) if answer else None,
        submitted_at=doc["submitted_at"],
        updated_at=doc["updated_at"],
        history=[HistoryItem(at=h["at"], status=stage_name(h.get("stage")), note=h["note"]) for h in doc["history"]],
    )


def get_service(request: Request) -> IntakeService:
    return request.app.state.intake


Service = Annotated[IntakeService, Depends(get_service)]


ERRORS: dict[int | str, dict[str, str]] = {status: {} for status in (401, 403, 413, 415, 422)}


@router.post(
    "/opinions",
    status_code=201,
    response_model=Accepted,
    summary="Tiếp nhận một ý kiến, kiến nghị",
    dependencies=[Depends(require_json)],
    responses={200: {"description": "Đã tiếp nhận trước đó (cùng Idempotency-Key)"}, **ERRORS},
)
async def submit_opinion(
    submission: OpinionSubmission,
    service: Service,
    background: BackgroundTasks,
    request: Request,
    response: Response,
    caller: Annotated[Caller, Depends(require_role(*STAFF))],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Khóa do máy gửi tự đặt: gửi lại cùng khóa (sau lỗi mạng) không tạo ý kiến thứ hai.",
        ),
    ] = None,
) -> Accepted:
    if submission.conference_id:
        try:
            await service.check_conference(submission.conference_id, submission.channel)
        except ConferenceRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message_vi, exc.message_en) from exc
    doc = await service.submit(
        text=submission.text,
        channel=submission.channel,
        field=submission.field,
        head=submission.head,
        citizen=CitizenContact(**submission.citizen.model_dump()) if submission.citizen else None,
        location=Location(**submission.location.model_dump()) if submission.location else None,
        conference_id=submission.conference_id,
        entered_by=caller,
        idempotency_key=idempotency_key,
    )
    if doc.get("replayed"):
        response.status_code = 200
    # The event is already safe in the outbox; publishing after the response keeps it fast.
    background.add_task(service.publish_pending, doc)
    code = doc["tracking_code"]
    return Accepted(
        opinion_id=doc["_id"],
        tracking_code=code,
        status="received",
        status_label=Stage.RECEIVED.label,
        status_url=str(request.url_for("get_opinion", tracking_code=code)),
    )


@router.get(
    "/opinions/{tracking_code}",
    response_model=OpinionView,
    summary="Tra cứu tình trạng ý kiến theo mã theo dõi",
    dependencies=[Depends(public_rate_limit)],
    responses={404: {}, 429: {}},
)
async def get_opinion(tracking_code: str, service: Service) -> OpinionView:
    code = normalize_tracking_code(tracking_code)
    doc = await service.repository.by_tracking_code(code)
    if doc is None:
        raise ApiError(
            404,
            "opinion_not_found",
            f"Không có ý kiến nào mang mã theo dõi {code}; kiểm tra lại mã (dạng YK-XXXX-XXXX).",
            f"No opinion has tracking code {code}; check the code (format YK-XXXX-XXXX).",
        )
    return opinion_view(doc)


@router.get(
    "/fields",
    response_model=list[FieldView],
    summary="Danh mục lĩnh vực",
    dependencies=[Depends(public_rate_limit)],
    responses={429: {}},
)
async def list_fields() -> list[FieldView]:
    return [
        FieldView(code=f.code, name=f.name, head=f.head, head_label=f.head.label, description=f.description)
        for f in FIELDS.values()
    ]
