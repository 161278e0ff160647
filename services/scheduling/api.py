"""Scheduling's HTTP API: the year's plan of conferences and their moves; the timers of an opinion."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.scheduling.domain import Closing, ConferencePlan, MoveRefused, RuleBroken
from services.scheduling.service import ConcurrentChange, ConferenceService
from shared.clock import VIETNAM, sane_moment
from shared.events import ConferenceStatus, Head, Invitee
from shared.http.app import require_json
from shared.http.auth import EVERYONE, STAFF, Caller, check_agency, optional_caller, require_role
from shared.http.errors import ApiError
from shared.http.limits import public_rate_limit
from shared.units import Unit

router = APIRouter(prefix="/api/v1")


class TimerView(BaseModel):
    kind: str
    fire_at: AwareDatetime
    due_at: AwareDatetime
    days_left: int
    status: str


@router.get(
    "/opinions/{tracking_code}/timers",
    response_model=list[TimerView],
    summary="Các mốc nhắc hạn và quá hạn của một ý kiến",
    tags=["hạn trả lời"],
    responses={401: {}, 403: {}},
)
async def timers(
    tracking_code: str,
    request: Request,
    caller: Annotated[Caller, Depends(require_role(*EVERYONE))],
) -> list[TimerView]:
    code = tracking_code.strip().upper()
    docs = await request.app.state.scheduling.timers_of(code)
    mine = [d for d in docs if caller.may_see_agency((d.get("agency") or {}).get("id"))]
    if docs and not mine:
        check_agency(caller, docs[0]["agency"]["id"], f"Ý kiến {code}", f"Opinion {code}")
    return [TimerView(**{k: d[k] for k in TimerView.model_fields}) for d in mine]


# ---- conferences --------------------------------------------------------------------------------


def _vietnam_time(value: datetime) -> datetime:
    """A time without offset is Vietnam time (how people enter it); years 2000–2199 only."""
    return sane_moment(value)


class ConferenceIn(BaseModel):
    """A conference of the year's plan (kế hoạch), as the office officer enters it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    starts_at: datetime = Field(description="Ngày giờ họp; không ghi múi giờ thì hiểu là giờ Việt Nam.")
    venue: str = Field(min_length=1, max_length=300, description="Địa điểm (nhà văn hóa tổ dân phố…).")
    chairs: list[Head] = Field(min_length=1, description="Người đứng đầu chủ trì: ít nhất một.")
    secretary: str | None = Field(default=None, max_length=200, description="Thư ký hội nghị.")
    expected_attendance: int | None = Field(default=None, ge=1, le=100000)
    participant_groups: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    complete_by: date | None = Field(default=None, description="Hạn hoàn thành do cấp trên giao.")
    urgent: bool = Field(default=False, description="Họp khẩn: được thông báo ít hơn thời hạn tối thiểu.")
    urgent_reason: str | None = Field(default=None, max_length=500)
    invitees: list[Invitee] = Field(default_factory=list, description="Người được mời (nhận giấy mời qua email).")

    _when = field_validator("starts_at")(_vietnam_time)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=1000)
    starts_at: datetime | None = Field(default=None, description="Ngày giờ mới (khi dời lịch).")
    attendance: int | None = Field(default=None, ge=0, le=100000, description="Số người dự thực tế (khi bế mạc).")
    speakers: int | None = Field(default=None, ge=0, le=10000, description="Số người phát biểu (khi bế mạc).")
    remarks: str | None = Field(
        default=None, max_length=20000, description="Ý kiến kết luận của chủ trì hội nghị (khi bế mạc)."
    )

    _when = field_validator("starts_at")(lambda v: None if v is None else _vietnam_time(v))


class ConferenceView(BaseModel):
    id: str
    title: str
    starts_at: AwareDatetime
    starts_at_local: str
    venue: str
    chairs: list[Head]
    chair_labels: list[str]
    secretary: str | None
    expected_attendance: int | None
    participant_groups: list[str]
    topics: list[str]
    plan_year: int
    complete_by: date | None
    status: ConferenceStatus
    status_label: str
    status_reason: str | None
    urgent: bool
    urgent_reason: str | None
    announce_at: AwareDatetime | None
    invitees: list[Invitee]
    version: int
    opened_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    attendance: int | None = Field(default=None, description="Số người dự thực tế.")
    speakers: int | None = Field(default=None, description="Số người phát biểu.")
    remarks: str | None = Field(default=None, description="Ý kiến kết luận của chủ trì.")


def conference_view(doc: dict[str, Any], unit: Unit) -> ConferenceView:
    chairs = [Head(h) for h in doc["chairs"]]
    status = ConferenceStatus(doc["status"])
    return ConferenceView(
        id=doc["_id"],
        title=doc["title"],
        starts_at=doc["starts_at"],
        starts_at_local=doc["starts_at"].astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y"),
        venue=doc["venue"],
        chairs=chairs,
        chair_labels=[unit.title(h) for h in chairs],
        secretary=doc.get("secretary"),
        expected_attendance=doc.get("expected_attendance"),
        participant_groups=doc.get("participant_groups") or [],
        topics=doc.get("topics") or [],
        plan_year=doc["plan_year"],
        complete_by=doc.get("complete_by"),
        status=status,
        status_label=status.label,
        status_reason=doc.get("status_reason"),
        urgent=doc.get("urgent", False),
        urgent_reason=doc.get("urgent_reason"),
        announce_at=doc.get("announce_at"),
        invitees=[Invitee(**i) for i in doc.get("invitees") or []],
        version=doc["version"],
        opened_at=doc.get("opened_at"),
        closed_at=doc.get("closed_at"),
        attendance=doc.get("attendance"),
        speakers=doc.get("speakers"),
        remarks=doc.get("remarks"),
    )


class PublicConferenceView(BaseModel):
    """What the public announcement of a conference shows: no invitees, no personal data."""

    id: str
    title: str
    starts_at: AwareDatetime
    starts_at_local: str
    venue: str
    chair_labels: list[str]
    participant_groups: list[str]
    topics: list[str]
    plan_year: int
    status: ConferenceStatus
    status_label: str


def public_view(doc: dict[str, Any], unit: Unit) -> PublicConferenceView:
    full = conference_view(doc, unit)
    return PublicConferenceView(**full.model_dump(include=set(PublicConferenceView.model_fields)))


def _rule_error(exc: RuleBroken) -> ApiError:
    details = [{"field": exc.field, "message_vi": exc.message_vi, "message_en": exc.message_en}] if exc.field else []
    return ApiError(422, exc.code, exc.message_vi, exc.message_en, details)


def _conferences(request: Request) -> ConferenceService:
    return request.app.state.conferences


Conferences = Annotated[ConferenceService, Depends(_conferences)]
Staff = Annotated[Caller, Depends(require_role(*STAFF))]
MaybeStaff = Annotated[Caller | None, Depends(optional_caller)]


def _view(doc: dict[str, Any], caller: Caller | None, unit: Unit) -> ConferenceView | PublicConferenceView:
    """Staff see the whole conference; the public (and agencies) what a public notice shows."""
    staff = caller is not None and bool(caller.roles & {*STAFF, "head"})
    return conference_view(doc, unit) if staff else public_view(doc, unit)


@router.post(
    "/conferences",
    status_code=201,
    response_model=ConferenceView,
    tags=["hội nghị"],
    summary="Lập kế hoạch một hội nghị đối thoại",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 415: {}, 422: {}},
)
async def plan_conference(body: ConferenceIn, conferences: Conferences, caller: Staff) -> ConferenceView:
    try:
        plan = ConferencePlan(**body.model_dump(exclude={"invitees"}), invitees=body.invitees)
        conference = await conferences.plan(plan, by=caller)
    except RuleBroken as exc:
        raise _rule_error(exc) from exc
    return conference_view(conference.doc, conferences.unit)


@router.get(
    "/conferences",
    response_model=list[ConferenceView | PublicConferenceView],
    tags=["hội nghị"],
    summary="Kế hoạch hội nghị của năm (công khai; cán bộ có khóa xem đầy đủ)",
    dependencies=[Depends(public_rate_limit)],
    responses={401: {}, 422: {}, 429: {}},
)
async def conference_plan(
    conferences: Conferences, caller: MaybeStaff, year: Annotated[int, Query(ge=2000, le=2100)]
) -> list[ConferenceView | PublicConferenceView]:
    return [_view(d, caller, conferences.unit) for d in await conferences.of_year(year)]


def _not_found(conference_id: str) -> ApiError:
    return ApiError(
        404,
        "conference_not_found",
        f"Không có hội nghị mã {conference_id}.",
        f"No conference {conference_id}.",
    )


@router.get(
    "/conferences/{conference_id}",
    response_model=ConferenceView | PublicConferenceView,
    tags=["hội nghị"],
    dependencies=[Depends(public_rate_limit)],
    responses={401: {}, 404: {}, 429: {}},
)
async def get_conference(
    conference_id: str, conferences: Conferences, caller: MaybeStaff
) -> ConferenceView | PublicConferenceView:
    conference = await conferences.get(conference_id)
    if conference is None:
        raise _not_found(conference_id)
    return _view(conference.doc, caller, conferences.unit)


ACTION_LABELS_VI = {
    "announce": "thông báo",
    "open": "khai mạc",
    "close": "bế mạc",
    "conclude": "ban hành kết luận",
    "cancel": "hủy",
    "postpone": "hoãn",
    "reschedule": "dời lịch",
}


@router.post(
    "/conferences/{conference_id}/{action}",
    response_model=ConferenceView,
    tags=["hội nghị"],
    summary="Chuyển trạng thái: announce, open, close, conclude, cancel, postpone, reschedule",
    responses={401: {}, 403: {}, 404: {}, 409: {}, 422: {}},
)
async def act(
    conference_id: str,
    action: Literal["announce", "open", "close", "conclude", "cancel", "postpone", "reschedule"],
    conferences: Conferences,
    caller: Staff,
    body: ActionIn | None = None,
) -> ConferenceView:
    body = body or ActionIn()
    if action in ("cancel", "postpone", "reschedule") and not body.reason:
        raise ApiError(
            422,
            "reason_required",
            f"Cần nêu lý do {ACTION_LABELS_VI[action]} hội nghị (reason).",
            f"A reason is required to {action} a conference.",
            [{"field": "reason", "message_vi": "Thiếu lý do", "message_en": "Field required"}],
        )
    if action == "reschedule" and body.starts_at is None:
        raise ApiError(
            422,
            "starts_at_required",
            "Cần ngày giờ họp mới (starts_at).",
            "The new date and time (starts_at) is required.",
            [{"field": "starts_at", "message_vi": "Thiếu ngày giờ mới", "message_en": "Field required"}],
        )
    try:
        closing = Closing(body.attendance, body.speakers, body.remarks) if action == "close" else None
        conference = await conferences.act(
            conference_id, action, by=caller, reason=body.reason, starts_at=body.starts_at, closing=closing
        )
    except KeyError as exc:
        raise _not_found(conference_id) from exc
    except MoveRefused as exc:
        raise ApiError(
            409,
            "invalid_transition",
            f"Không thể {ACTION_LABELS_VI[action]} hội nghị đang ở trạng thái '{exc.current.label}'.",
            f"Cannot {action} a conference that is '{exc.current.value}'.",
        ) from exc
    except RuleBroken as exc:
        raise _rule_error(exc) from exc
    except ConcurrentChange as exc:
        raise ApiError(
            409,
            "concurrent_change",
            "Hội nghị vừa được người khác cập nhật; tải lại rồi thử lại.",
            "The conference was changed meanwhile; reload and try again.",
        ) from exc
    return conference_view(conference.doc, conferences.unit)
