"""Intake's native JSON API: submit an opinion, follow it by tracking code, list the fields."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from services.intake.domain import NotAnswered, Stage, normalize_tracking_code, status_of
from services.intake.service import ConferenceRefused, IntakeService, NotFound, Similar
from shared.events import FIELDS, Channel, CitizenContact, Head, Location
from shared.events.opinions import AnswerKind, known_field
from shared.http.app import require_json
from shared.http.auth import EVERYONE, STAFF, Caller, check_agency, require_role
from shared.http.errors import ApiError
from shared.http.limits import client_address, public_rate_limit
from shared.text import search_key

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


class SimilarView(BaseModel):
    """An open opinion of this instance that looks like the same matter, for staff to decide whether to merge."""

    tracking_code: str
    text: str
    status: str
    status_label: str
    field: str | None
    field_name: str | None
    conference_id: str | None
    submitted_at: AwareDatetime
    score: float = Field(description="0..1; shown from 0.29 on (chosen on the labelled corpus, see README).")
    reasons: list[str] = Field(description='Why, in Vietnamese: "cùng tổ dân phố 5", "trùng nội dung: ngập úng"…')


class Accepted(BaseModel):
    opinion_id: str
    tracking_code: str = Field(description="Mã theo dõi để người dân tra cứu.")
    status: str
    status_label: str
    status_url: str
    similar: list[SimilarView] | None = Field(
        default=None,
        description="With ?similar=true (staff): open opinions that look like the same matter, best first.",
    )


def similar_view(found: Similar) -> SimilarView:
    doc = found.doc
    status, label = status_of(doc)
    field = doc.get("field")
    return SimilarView(
        tracking_code=doc["tracking_code"],
        text=doc["text"],
        status=status,
        status_label=label,
        field=field,
        field_name=FIELDS[field].name if field else None,
        conference_id=doc.get("conference_id"),
        submitted_at=doc["submitted_at"],
        score=found.score,
        reasons=found.reasons,
    )


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
    document_media_id: str | None = Field(
        default=None,
        description="Văn bản trả lời (PDF) cơ quan đính kèm ý kiến: tải tại /api/v1/opinions/{mã}/media/{id}.",
    )
    answered_at: AwareDatetime


class OpinionView(BaseModel):
    tracking_code: str
    opinion_id: str
    status: str = Field(
        description="received, classified, tabled, merged, assigned, escalated, accepted, redirected or closed."
    )
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
    status, label = status_of(doc)
    field = doc.get("field")
    head = Head(doc["head"]) if doc.get("head") else None
    answer = doc.get("answer")
    return OpinionView(
        tracking_code=doc["tracking_code"],
        opinion_id=doc["_id"],
        status=status,
        status_label=label,
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
    caller: Annotated[Caller, Depends(require_role(*STAFF, "portal"))],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Khóa do máy gửi tự đặt: gửi lại cùng khóa (sau lỗi mạng) không tạo ý kiến thứ hai.",
        ),
    ] = None,
    similar: Annotated[
        bool, Query(description="Cán bộ: trả kèm các ý kiến đang mở có vẻ cùng nội dung (để gộp).")
    ] = False,
) -> Accepted:
    if not caller.roles & set(STAFF) and submission.channel is not Channel.ONLINE:
        raise ApiError(
            422,
            "portal_channel",
            "Cổng công dân chỉ gửi ý kiến trực tuyến (channel: online).",
            "The citizens' portal submits online opinions only (channel: online).",
            [{"field": "channel", "message_vi": "Chỉ nhận online", "message_en": "Only online"}],
        )
    if submission.conference_id:
        try:
            await service.check_conference(submission.conference_id, submission.channel)
        except ConferenceRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message_vi, exc.message_en) from exc
    submitted = await service.submit(
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
    if submitted.replayed:
        response.status_code = 200
    # The event is already safe in the outbox; publishing after the response keeps it fast.
    background.add_task(service.publish, submitted)
    code = submitted.opinion.tracking_code
    alike = None
    if similar and caller.roles & set(STAFF):  # citizens are not shown other people's opinions
        location = submission.location.model_dump() if submission.location else None
        found = await service.similar(
            submission.text, exclude=code, conference_id=submission.conference_id, location=location
        )
        alike = [similar_view(f) for f in found]
    return Accepted(
        opinion_id=submitted.opinion.opinion_id,
        tracking_code=code,
        status="received",
        status_label=Stage.RECEIVED.label,
        status_url=str(request.url_for("get_opinion", tracking_code=code)),
        similar=alike,
    )


@router.get(
    "/opinions/{tracking_code}/similar",
    response_model=list[SimilarView],
    summary="Các ý kiến đang mở có vẻ cùng nội dung với một ý kiến (để cán bộ gộp)",
    responses={401: {}, 403: {}, 404: {}},
)
async def similar_opinions(
    tracking_code: str,
    service: Service,
    _: Annotated[Caller, Depends(require_role(*STAFF, "head"))],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[SimilarView]:
    code = normalize_tracking_code(tracking_code)
    doc = await service.view(code)
    if doc is None:
        raise ApiError(404, "opinion_not_found", f"Không có ý kiến mã {code}.", f"No opinion has tracking code {code}.")
    found = await service.similar(
        doc["text"], exclude=code, conference_id=doc.get("conference_id"), location=doc.get("location"), limit=limit
    )
    return [similar_view(f) for f in found]


@router.get(
    "/opinions/{tracking_code}",
    response_model=OpinionView,
    summary="Tra cứu tình trạng ý kiến theo mã theo dõi",
    dependencies=[Depends(public_rate_limit)],
    responses={404: {}, 429: {}},
)
async def get_opinion(tracking_code: str, service: Service) -> OpinionView:
    code = normalize_tracking_code(tracking_code)
    doc = await service.view(code)
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


# ---- for staff: find opinions --------------------------------------------------------------------


class FeedbackView(BaseModel):
    satisfied: bool
    reason: str | None
    at: AwareDatetime


class OpinionRow(BaseModel):
    tracking_code: str
    status: str
    status_label: str
    channel: Channel
    channel_label: str
    text: str
    field: str | None
    field_name: str | None
    head: Head | None
    head_label: str | None
    agency: str | None
    agency_id: str | None
    holder: str | None
    due_at: AwareDatetime | None
    overdue: bool
    conference_id: str | None
    submitted_at: AwareDatetime
    feedback: FeedbackView | None


class OpinionPage(BaseModel):
    total: int = Field(description="How many opinions match, over every page.")
    page: int
    per_page: int
    items: list[OpinionRow]


def opinion_row(doc: dict[str, Any]) -> OpinionRow:
    status, label = status_of(doc)
    field, agency = doc.get("field"), doc.get("agency") or {}
    head = Head(doc["head"]) if doc.get("head") else None
    return OpinionRow(
        tracking_code=doc["tracking_code"],
        status=status,
        status_label=label,
        channel=Channel(doc["channel"]),
        channel_label=Channel(doc["channel"]).label,
        text=doc["text"],
        field=field,
        field_name=FIELDS[field].name if field else None,
        head=head,
        head_label=head.label if head else None,
        agency=agency.get("name"),
        agency_id=agency.get("id"),
        holder=doc.get("holder"),
        due_at=doc.get("due_at"),
        overdue=bool(doc.get("overdue")),
        conference_id=doc.get("conference_id"),
        submitted_at=doc["submitted_at"],
        feedback=FeedbackView(**doc["feedback"]) if doc.get("feedback") else None,
    )


StatusFilter = Literal[
    "open", "received", "classified", "tabled", "merged", "assigned", "escalated", "accepted", "redirected", "closed"
]


@router.get(
    "/opinions",
    response_model=OpinionPage,
    summary="Tìm ý kiến: theo nội dung, lĩnh vực, người trả lời, trạng thái, hội nghị, cơ quan, quá hạn",
    responses={401: {}, 403: {}, 422: {}},
)
async def search_opinions(
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*EVERYONE))],
    q: Annotated[
        str | None, Query(max_length=200, description="Từ cần tìm (có dấu hoặc không), hoặc mã theo dõi.")
    ] = None,
    field: str | None = None,
    head: Head | None = None,
    status: StatusFilter | None = None,
    channel: Channel | None = None,
    conference_id: Annotated[str | None, Query(max_length=64)] = None,
    agency_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    feedback: Annotated[
        Literal["satisfied", "unsatisfied"] | None, Query(description="unsatisfied: chờ Mặt trận xem xét lại.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 25,
) -> OpinionPage:
    if caller.agency_bound:  # an agency finds only what is addressed to it
        check_agency(caller, agency_id or caller.agency_id, "Ý kiến của cơ quan này", "That agency's opinions")
        agency_id = caller.agency_id
    query: dict[str, Any] = {}
    if q and (words := search_key(q)):
        query["search"] = {"$regex": re.escape(words)}
    for key, value in (("field", field), ("head", head), ("channel", channel), ("conference_id", conference_id)):
        if value is not None:
            query[key] = str(value.value if hasattr(value, "value") else value)
    if agency_id is not None:
        query["agency.id"] = agency_id
    if status == "open":
        query["stage"] = {"$lt": int(Stage.REDIRECTED)}
    elif status == "merged":
        query |= {"stage": {"$lt": int(Stage.REDIRECTED)}, "merged_into": {"$exists": True}}
    elif status == "tabled":
        query |= {"stage": int(Stage.CLASSIFIED), "tabled": {"$exists": True}}
    elif status is not None:
        query["stage"] = int(Stage[status.upper()])
    if overdue is not None:
        query["overdue"] = overdue
    if feedback is not None:
        query["feedback.satisfied"] = feedback == "satisfied"
    total, docs = await service.find(query, skip=(page - 1) * per_page, limit=per_page)
    return OpinionPage(total=total, page=page, per_page=per_page, items=[opinion_row(d) for d in docs])


# ---- for citizens: their word on the answer ------------------------------------------------------


class FeedbackIn(BaseModel):
    """Whether the answer satisfies the citizen; if not, why: the Front considers it again."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    satisfied: bool = Field(description="Hài lòng với câu trả lời hay không.")
    reason: str | None = Field(default=None, max_length=2000, description="Vì sao chưa hài lòng.")

    @model_validator(mode="after")
    def _reason_when_unsatisfied(self) -> FeedbackIn:
        if not self.satisfied and not self.reason:
            raise ValueError("reason: say why the answer does not satisfy (Cần nêu lý do chưa hài lòng)")
        return self


class CitizenActor:
    """The holder of a tracking code, for the audit trail."""

    def __init__(self, code: str, address: str | None) -> None:
        self.code, self.address = code, address

    def as_record(self) -> dict[str, object]:
        return {
            "actor": f"Người dân (mã {self.code})",
            "actor_id": f"citizen:{self.code}",
            "roles": ["citizen"],
            "agency_id": None,
            "from_address": self.address,
        }


@router.post(
    "/opinions/{tracking_code}/feedback",
    response_model=OpinionView,
    summary="Người dân cho biết có hài lòng với câu trả lời không (chưa hài lòng: Mặt trận xem xét lại)",
    dependencies=[Depends(public_rate_limit), Depends(require_json)],
    responses={404: {}, 409: {}, 415: {}, 422: {}, 429: {}},
)
async def give_feedback(tracking_code: str, body: FeedbackIn, service: Service, request: Request) -> OpinionView:
    code = normalize_tracking_code(tracking_code)
    try:
        opinion = await service.give_feedback(
            code, satisfied=body.satisfied, reason=body.reason, by=CitizenActor(code, client_address(request))
        )
    except NotFound:
        raise ApiError(
            404, "opinion_not_found", f"Không có ý kiến mã {code}.", f"No opinion has tracking code {code}."
        ) from None
    except NotAnswered:
        raise ApiError(
            409,
            "not_answered_yet",
            f"Ý kiến {code} chưa được trả lời; chỉ nhận ý kiến về câu trả lời sau khi đã trả lời.",
            f"Opinion {code} has not been answered yet; feedback is taken on an answer.",
        ) from None
    return opinion_view(await service.view(code) or opinion.doc)
