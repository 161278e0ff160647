"""Assignment's HTTP API about opinions: read and list them (an agency only its own), answer them, and
what the secretary records at the conference (promise, redirect, escalate, reassign)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.assignment.directory import Agency
from services.assignment.domain import (
    Assignment,
    HopLimit,
    MergeRefused,
    NoParent,
    NotReceivedHere,
    OnTheSpotRefused,
    PromiseRefused,
    SameAgency,
    SameClassification,
    Status,
    TransitionRefused,
)
from services.assignment.service import AssignmentService, NotFound, UnknownAgency
from shared.clock import VIETNAM
from shared.deadlines import END_OF_DAY
from shared.events import FIELDS, AnswerKind, Head, RedirectKind
from shared.events.opinions import known_field
from shared.http.app import require_json
from shared.http.auth import EVERYONE, STAFF, Caller, check_agency, require_role
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
    head: Head | None = Field(
        default=None, description="Người đứng đầu đã trả lời (bắt buộc khi trả lời tại hội nghị)."
    )
    document_number: str | None = Field(default=None, max_length=100, description="Số văn bản trả lời.")
    document_media_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description=(
            "Văn bản trả lời dạng PDF cơ quan đã đính kèm vào ý kiến (media_id do dịch vụ tiếp nhận trả về khi tải "
            "lên POST /api/v1/opinions/{mã}/media); chỉ với trả lời bằng văn bản, cho ý kiến tiếp nhận tại cấp này. "
            "Người dân và cán bộ mở được tệp từ câu trả lời."
        ),
    )


class CorrectionIn(BaseModel):
    """An answer recorded wrongly, corrected; the earlier one stays in the history and the citizen is told."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=20000, description="Nội dung trả lời đúng.")
    document_number: str | None = Field(default=None, max_length=100)
    reason: str = Field(min_length=1, max_length=1000, description="Vì sao đính chính.")


class ReclassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    field: str = Field(description="Mã lĩnh vực đúng (xem /api/v1/fields của dịch vụ tiếp nhận).")
    head: Head | None = Field(default=None, description="Người đứng đầu trả lời; mặc định theo lĩnh vực.")
    reason: str = Field(min_length=1, max_length=1000)

    _field = field_validator("field")(known_field)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    into: str = Field(
        min_length=1, max_length=40, description="Mã theo dõi của ý kiến cùng nội dung sẽ được trả lời (ý kiến chính)."
    )
    reason: str | None = Field(default=None, max_length=1000, description="Vì sao là cùng một nội dung (tùy chọn).")


class AgendaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    conference_id: str = Field(min_length=1, max_length=64, description="Hội nghị của cấp này sẽ trả lời ý kiến.")


class AnswerView(BaseModel):
    kind: AnswerKind
    text: str
    answered_by: str
    document_number: str | None
    document_media_id: str | None = Field(default=None, description="The answer's PDF attached to the opinion.")
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
    merged_into: str | None = Field(default=None, description="Tracking code of the opinion it was merged into.")
    cosigners: list[str] = Field(default=[], description="Tracking codes of the opinions merged into this one.")


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
        merged_into=(doc.get("merged_into") or {}).get("tracking_code"),
        cosigners=[c["tracking_code"] for c in doc.get("cosigners") or []],
    )


class AssignmentPage(BaseModel):
    total: int = Field(description="How many match, over every page.")
    page: int
    per_page: int
    items: list[AssignmentView]


DueFilter = Literal["soon", "overdue"]
DUE_SOON = timedelta(days=7)


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=1000, description="Vì sao vượt thẩm quyền của cấp này.")


class PromiseIn(BaseModel):
    """A written answer promised at the conference; `off_topic` for a question outside the topic,
    received and answered separately in writing."""

    model_config = ConfigDict(extra="forbid")

    due_date: date | None = Field(default=None, description="Hạn trả lời (không muộn hơn hạn luật định).")
    off_topic: bool = False
    agency_id: str | None = Field(
        default=None, max_length=64, description="Cơ quan trả lời (ý kiến đưa ra hội nghị); mặc định theo lĩnh vực."
    )


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_id: str = Field(min_length=1, max_length=64, description="Mã cơ quan mới (xem /api/v1/agencies).")
    reason: str = Field(min_length=1, max_length=1000)


class RedirectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: RedirectKind = Field(description="complaint (khiếu nại) hoặc denunciation (tố cáo).")
    reason: str = Field(min_length=1, max_length=1000)


def get_service(request: Request) -> AssignmentService:
    return request.app.state.assignment.service


Service = Annotated[AssignmentService, Depends(get_service)]


async def load_opinion(service: AssignmentService, tracking_code: str, caller: Caller) -> Assignment:
    """The opinion, if the caller may reach it: an agency reaches only what is assigned to it."""
    code = tracking_code.strip().upper()
    try:
        assignment = await service.load(code)
    except NotFound:
        raise ApiError(
            404,
            "assignment_not_found",
            f"Chưa có ý kiến mã {code} được giao xử lý; kiểm tra mã, hoặc thử lại sau ít giây nếu vừa tiếp nhận.",
            f"No assigned opinion has tracking code {code}; check the code, or retry shortly if it was just received.",
        ) from None
    check_agency(caller, (assignment.agency or {}).get("id"), f"Ý kiến {code}", f"Opinion {code}")
    return assignment


def _view(assignment: Assignment) -> AssignmentView:
    return assignment_view(assignment.document())


def _not_waiting(assignment: Assignment, exc: TransitionRefused) -> ApiError:
    return ApiError(
        409,
        "not_waiting",
        f"Ý kiến {assignment.tracking_code} đang ở trạng thái '{exc.current.label}'; "
        "chỉ ghi nhận cho ý kiến đang chờ trả lời.",
        f"Opinion {assignment.tracking_code} is '{exc.current.value}'; "
        "only an opinion waiting for an answer qualifies.",
    )


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
    now = service.clock.now()
    if due is not None:
        query["status"] = Status.ASSIGNED.value
        query["due_at"] = {"$lt": now} if due == "overdue" else {"$gte": now, "$lt": now + DUE_SOON}
    sort = [("due_at", 1), ("submitted_at", 1)] if query.get("status") == Status.ASSIGNED else [("submitted_at", -1)]
    total, docs = await service.page(query, sort=sort, skip=(page - 1) * per_page, limit=per_page)
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
    return _view(await load_opinion(service, tracking_code, caller))


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
    assignment = await load_opinion(service, tracking_code, caller)
    code = assignment.tracking_code
    if body.kind is AnswerKind.WRITTEN and "agency" not in caller.roles:
        raise ApiError(
            403,
            "written_by_agency",
            f"Câu trả lời bằng văn bản do cơ quan được giao ý kiến {code} ghi nhận (bằng tài khoản của cơ quan).",
            f"The written answer to {code} is recorded by the agency it was given to, with its own account.",
        )
    if body.kind is AnswerKind.ON_THE_SPOT and body.head is None:
        vi, en = "Ghi người đứng đầu đã trả lời tại hội nghị.", "Name the head who answered at the conference."
        raise ApiError(422, "validation_failed", vi, en, [{"field": "head", "message_vi": vi, "message_en": en}])
    if body.kind is AnswerKind.ON_THE_SPOT and body.document_media_id:
        vi = "Trả lời tại hội nghị không kèm văn bản PDF; văn bản trả lời đi cùng câu trả lời bằng văn bản."
        en = "An on-the-spot answer has no PDF; the answer's document goes with a written answer."
        raise ApiError(
            422, "validation_failed", vi, en, [{"field": "document_media_id", "message_vi": vi, "message_en": en}]
        )
    try:
        await service.answer(
            assignment,
            kind=body.kind,
            text=body.text,
            answered_by=body.answered_by,
            head=body.head,
            document_number=body.document_number,
            document_media_id=body.document_media_id,
            by=caller,
        )
    except NotReceivedHere as exc:
        raise ApiError(
            409,
            "answer_document_elsewhere",
            f"Ý kiến {code} do cấp dưới chuyển lên: tệp văn bản trả lời chỉ đính kèm được ở nơi tiếp nhận ý kiến; "
            "ghi câu trả lời kèm số văn bản, không kèm tệp.",
            f"Opinion {code} came from below: the answer's file can be attached only where the opinion was "
            "received; record the answer with its document number, without the file.",
        ) from exc
    except TransitionRefused as exc:
        raise ApiError(
            409,
            "cannot_answer",
            f"Ý kiến {assignment.tracking_code} đang ở trạng thái '{exc.current.label}'; "
            "chỉ ghi nhận trả lời cho ý kiến đang chờ trả lời tại cấp này.",
            f"Opinion {assignment.tracking_code} is '{exc.current.value}'; "
            "only an opinion waiting for an answer at this level can be answered.",
        ) from exc
    except OnTheSpotRefused as exc:
        raise _not_in_session(code, exc) from exc
    return _view(assignment)


def _unknown_agency(agency_id: str | None) -> ApiError:
    return ApiError(
        422,
        "unknown_agency",
        f"Không có cơ quan mã {agency_id} trong danh bạ (đang hoạt động).",
        f"No active agency {agency_id} in the directory.",
        [{"field": "agency_id", "message_vi": "Không có trong danh bạ", "message_en": "Not in the directory"}],
    )


def _not_in_session(code: str, exc: OnTheSpotRefused) -> ApiError:
    if exc.reason == "not_on_agenda":
        return ApiError(
            409,
            "not_on_agenda",
            f"Ý kiến {code} không được đưa ra hội nghị nào; chỉ ghi trả lời tại hội nghị cho ý kiến của hội nghị.",
            f"Opinion {code} is on no conference's agenda; only those can be answered on the spot.",
        )
    return ApiError(
        409,
        "not_in_session",
        f"Hội nghị của ý kiến {code} không diễn ra lúc này; trả lời tại hội nghị chỉ ghi được khi hội nghị đang họp "
        "hoặc trong ngày họp.",
        f"The conference of {code} is not in session; an on-the-spot answer is recorded while it sits or on its day.",
    )


@router.post(
    "/opinions/{tracking_code}/answer/correction",
    response_model=AssignmentView,
    summary="Đính chính câu trả lời đã ghi (lưu lại bản trước, báo người dân)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def correct_answer(
    tracking_code: str,
    body: CorrectionIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role("secretary", "agency", "operator"))],
) -> AssignmentView:
    assignment = await load_opinion(service, tracking_code, caller)
    try:
        await service.correct_answer(
            assignment, text=body.text, document_number=body.document_number, reason=body.reason, by=caller
        )
    except (TransitionRefused, NotReceivedHere) as exc:
        raise ApiError(
            409,
            "cannot_correct",
            f"Ý kiến {assignment.tracking_code} chưa có câu trả lời ghi tại cấp này để đính chính.",
            f"Opinion {assignment.tracking_code} has no answer recorded at this level to correct.",
        ) from exc
    return _view(assignment)


@router.post(
    "/opinions/{tracking_code}/classification",
    response_model=AssignmentView,
    summary="Sửa lĩnh vực (và người đứng đầu trả lời) hệ thống đã phân loại; được ghi lại và thống kê",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def reclassify(
    tracking_code: str, body: ReclassifyIn, service: Service, caller: Annotated[Caller, Depends(require_role(*STAFF))]
) -> AssignmentView:
    assignment = await load_opinion(service, tracking_code, caller)
    try:
        await service.reclassify(assignment, field=body.field, head=body.head, reason=body.reason, by=caller)
    except TransitionRefused as exc:
        raise _not_waiting(assignment, exc) from exc
    except SameClassification as exc:
        raise ApiError(
            409,
            "same_classification",
            f"Ý kiến {assignment.tracking_code} đã thuộc lĩnh vực này.",
            f"Opinion {assignment.tracking_code} already has this field.",
        ) from exc
    return _view(assignment)


MERGE_REFUSALS = {
    "same_opinion": ("Không thể gộp một ý kiến vào chính nó.", "An opinion cannot be merged into itself."),
    "not_open": (
        "Chỉ gộp được hai ý kiến đang chờ trả lời ở cấp này (chưa trả lời, chưa chuyển cấp trên, chưa gộp).",
        "Only two opinions waiting for an answer at this level can be merged (not answered, escalated or merged).",
    ),
    "from_below": (
        "Ý kiến do cấp dưới chuyển lên được trả lời riêng cho cấp dưới; không gộp.",
        "An opinion escalated from below is answered to that level on its own; it is not merged.",
    ),
    "has_cosigners": (
        "Ý kiến này đã có ý kiến khác gộp vào; hãy gộp các ý kiến vào nó thay vì gộp nó đi.",
        "Other opinions were merged into this one; merge into it instead.",
    ),
    "into_merged": (
        "Ý kiến chính đã được gộp vào một ý kiến khác; hãy gộp vào ý kiến đó.",
        "The target was itself merged into another opinion; merge into that one.",
    ),
}


@router.post(
    "/opinions/{tracking_code}/merge",
    response_model=AssignmentView,
    summary="Gộp ý kiến cùng nội dung vào một ý kiến chính: một việc trả lời, người dân của ý kiến này được giữ "
    "là người cùng kiến nghị và nhận câu trả lời",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def merge(
    tracking_code: str,
    body: MergeIn,
    service: Service,
    caller: Annotated[Caller, Depends(require_role("front", "secretary"))],
) -> AssignmentView:
    assignment = await load_opinion(service, tracking_code, caller)
    into = await load_opinion(service, body.into, caller)
    try:
        await service.merge(assignment, into, reason=body.reason, by=caller)
    except (MergeRefused, TransitionRefused) as exc:
        vi, en = MERGE_REFUSALS[exc.reason if isinstance(exc, MergeRefused) else "not_open"]
        raise ApiError(409, "cannot_merge", f"{assignment.tracking_code} → {into.tracking_code}: {vi}",
                       f"{assignment.tracking_code} → {into.tracking_code}: {en}") from exc  # fmt: skip
    return _view(assignment)


@router.post(
    "/opinions/{tracking_code}/agenda",
    response_model=AssignmentView,
    summary="Đưa ý kiến (cấp dưới chuyển lên) ra hội nghị đối thoại của cấp này",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 404: {}, 409: {}, 415: {}, 422: {}},
)
async def put_on_agenda(
    tracking_code: str, body: AgendaIn, service: Service, caller: Annotated[Caller, Depends(require_role(*STAFF))]
) -> AssignmentView:
    assignment = await load_opinion(service, tracking_code, caller)
    try:
        await service.put_on_agenda(assignment, conference_id=body.conference_id, by=caller)
    except TransitionRefused as exc:
        raise _not_waiting(assignment, exc) from exc
    except KeyError as exc:
        raise ApiError(
            409,
            "conference_not_open_for_opinions",
            f"Hội nghị {body.conference_id} không có ở cấp này hoặc đã kết thúc, không nhận thêm ý kiến.",
            f"Conference {body.conference_id} is not known here or no longer takes opinions.",
        ) from exc
    return _view(assignment)


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
    assignment = await load_opinion(service, tracking_code, caller)
    code, passed = assignment.tracking_code, len(assignment.chain)
    try:
        await service.escalate_by_hand(assignment, reason=body.reason, by=caller)
    except TransitionRefused as exc:
        raise ApiError(
            409,
            "cannot_escalate",
            f"Ý kiến {code} đang ở trạng thái '{exc.current.label}'; chỉ chuyển được ý kiến đang chờ trả lời.",
            f"Opinion {code} is '{exc.current.value}'; only an opinion waiting for an answer can be escalated.",
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
            f"Ý kiến đã qua {passed} cấp; không chuyển tiếp thêm.",
            f"The opinion has passed {passed} levels; it cannot go further.",
        ) from exc
    return _view(assignment)


@router.get(
    "/agencies", response_model=list[Agency], summary="Cơ quan nhận giao việc theo lĩnh vực (bản sao định tuyến)"
)
async def list_agencies(service: Service, _: Annotated[Caller, Depends(require_role(*EVERYONE))]) -> list[Agency]:
    return await service.agencies()


# ---- at the conference: promises, complaints -------------------------------------------------------


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
    assignment = await load_opinion(service, tracking_code, caller)
    due = datetime.combine(body.due_date, END_OF_DAY, tzinfo=VIETNAM) if body.due_date else None
    try:
        await service.promise(assignment, due=due, off_topic=body.off_topic, agency_id=body.agency_id, by=caller)
    except TransitionRefused as exc:
        raise _not_waiting(assignment, exc) from exc
    except UnknownAgency as exc:
        raise _unknown_agency(str(exc)) from exc
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
    return _view(assignment)


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
    assignment = await load_opinion(service, tracking_code, caller)
    try:
        await service.reassign(assignment, agency_id=body.agency_id, reason=body.reason, by=caller)
    except TransitionRefused as exc:
        raise _not_waiting(assignment, exc) from exc
    except UnknownAgency as exc:
        raise _unknown_agency(body.agency_id) from exc
    except SameAgency as exc:
        raise ApiError(
            409,
            "same_agency",
            f"Ý kiến đã giao cho {body.agency_id}.",
            f"The opinion is already with {body.agency_id}.",
        ) from exc
    return _view(assignment)


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
    assignment = await load_opinion(service, tracking_code, caller)
    try:
        await service.redirect(assignment, kind=body.kind, reason=body.reason, by=caller)
    except TransitionRefused as exc:
        raise _not_waiting(assignment, exc) from exc
    except NotReceivedHere as exc:
        raise ApiError(
            409,
            "not_received_here",
            f"Ý kiến được tiếp nhận tại {exc}; chỉ nơi tiếp nhận mới chuyển quy trình khiếu nại, tố cáo.",
            f"The opinion was received at {exc}; only there can it be redirected.",
        ) from exc
    return _view(assignment)
