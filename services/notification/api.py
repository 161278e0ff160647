"""Notification's HTTP API: the agency directory, delivery status, retries and acknowledgements."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, ValidationError

from services.notification.channels.destinations import AllowList, check_url
from services.notification.directory import ConcurrentChange
from services.notification.domain import NotAcknowledgeable, Notification
from services.notification.service import Notifications
from shared.agencies import AgencyRecord, ChannelName
from shared.domain import AuditNote
from shared.http.app import require_json
from shared.http.auth import EVERYONE, STAFF, Caller, check_agency, require_role
from shared.http.errors import ApiError, validation_error
from shared.http.limits import client_address, public_rate_limit

router = APIRouter(prefix="/api/v1")


def get_service(request: Request) -> Notifications:
    return request.app.state.notification


def get_webhook_allowed(request: Request) -> AllowList:
    return request.app.state.webhook_allowed


Service = Annotated[Notifications, Depends(get_service)]
Staff = Annotated[Caller, Depends(require_role(*EVERYONE))]
Operator = Annotated[Caller, Depends(require_role("operator"))]


# ---- agency directory ---------------------------------------------------------------------------


class AgencyIn(BaseModel):
    """An agency as an operator enters it; the id is in the path."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    level: str | None = Field(default=None, description="Mặc định: cấp của đơn vị.")
    fields: list[str] = Field(default_factory=list)
    default: bool = False
    email: EmailStr | None = None
    phone: str | None = None
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: str | None = Field(default=None, description="Chỉ ghi, không bao giờ đọc ra.")
    channels: list[ChannelName] = Field(default_factory=lambda: ["email"])
    active: bool = True


class AgencyView(BaseModel):
    id: str
    name: str
    level: str
    fields: list[str]
    default: bool
    email: str | None
    phone: str | None
    webhook_url: str | None
    has_webhook_secret: bool
    channels: list[str]
    active: bool


def agency_view(record: AgencyRecord) -> AgencyView:
    return AgencyView(
        **record.model_dump(mode="json", exclude={"webhook_secret"}),
        has_webhook_secret=record.webhook_secret is not None,
    )


def _not_found(agency_id: str) -> ApiError:
    return ApiError(
        404,
        "agency_not_found",
        f"Không có cơ quan mã {agency_id} trong danh bạ.",
        f"No agency {agency_id} in the directory.",
    )


@router.get("/agencies", response_model=list[AgencyView], tags=["danh bạ cơ quan"], summary="Danh bạ cơ quan")
async def list_agencies(service: Service, _: Staff) -> list[AgencyView]:
    return [agency_view(r) for r in await service.directory.all()]


@router.get("/agencies/{agency_id}", response_model=AgencyView, tags=["danh bạ cơ quan"], responses={404: {}})
async def get_agency(agency_id: str, service: Service, _: Staff) -> AgencyView:
    record = await service.directory.get(agency_id)
    if record is None:
        raise _not_found(agency_id)
    return agency_view(record)


@router.put(
    "/agencies/{agency_id}",
    response_model=AgencyView,
    tags=["danh bạ cơ quan"],
    summary="Thêm hoặc sửa một cơ quan (vận hành viên)",
    dependencies=[Depends(require_json)],
    responses={401: {}, 403: {}, 409: {}, 415: {}, 422: {}},
)
async def put_agency(
    agency_id: str,
    body: AgencyIn,
    service: Service,
    caller: Operator,
    allowed: Annotated[AllowList, Depends(get_webhook_allowed)],
) -> AgencyView:
    data: dict[str, Any] = body.model_dump(exclude_none=True)
    data["level"] = body.level or service.level
    if body.webhook_secret is None:  # keep the secret already stored, if any
        current = await service.directory.get(agency_id)
        if current is not None and current.webhook_secret:
            data["webhook_secret"] = current.webhook_secret
    try:
        record = AgencyRecord(id=agency_id, **data)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from exc
    # Notification posts to this URL from inside the instance's network: no internal receiver unless allowed.
    if record.webhook_url is not None and (refusal := check_url(str(record.webhook_url), allowed)):
        raise ApiError(
            422,
            "validation_failed",
            "Dữ liệu gửi lên không hợp lệ; sửa các trường được nêu rồi gửi lại.",
            "The submitted data is invalid; fix the fields listed and send again.",
            [{"field": "webhook_url", "message_vi": refusal.message_vi, "message_en": refusal.message_en}],
        )
    changed = body.model_dump(mode="json", exclude={"webhook_secret"}, exclude_none=True)
    try:
        stored, _created = await service.directory.put(record, AuditNote(caller, "agency.updated", agency_id, changed))
    except ConcurrentChange as exc:
        raise ApiError(
            409,
            "concurrent_change",
            f"Cơ quan {agency_id} vừa được người khác sửa; tải lại rồi sửa lại.",
            f"Agency {agency_id} was changed meanwhile; reload and apply your change again.",
        ) from exc
    return agency_view(stored)


@router.delete(
    "/agencies/{agency_id}",
    response_model=AgencyView,
    tags=["danh bạ cơ quan"],
    summary="Ngừng giao việc cho một cơ quan (vận hành viên)",
    responses={401: {}, 403: {}, 404: {}},
)
async def deactivate_agency(agency_id: str, service: Service, caller: Operator) -> AgencyView:
    record = await service.directory.get(agency_id)
    if record is None:
        raise _not_found(agency_id)
    stored, _ = await service.directory.put(
        record.model_copy(update={"active": False}), AuditNote(caller, "agency.deactivated", agency_id)
    )
    return agency_view(stored)


# ---- delivery status ----------------------------------------------------------------------------


class NotificationView(BaseModel):
    id: str
    type: str
    channel: str
    recipient_kind: str
    recipient_name: str | None
    address: str
    agency_id: str | None
    tracking_code: str | None
    opinion_id: str | None
    status: str = Field(description="queued, sent, failed or acknowledged.")
    attempts: int
    subject: str | None = None
    last_error: str | None = None
    created_at: AwareDatetime
    next_attempt_at: AwareDatetime | None = None
    sent_at: AwareDatetime | None = None
    acknowledged_at: AwareDatetime | None = None
    failed_at: AwareDatetime | None = None


def notification_view(doc: dict[str, Any]) -> NotificationView:
    recipient = doc["recipient"]
    return NotificationView(
        id=doc["_id"],
        type=doc["type"],
        channel=doc["channel"],
        recipient_kind=recipient["kind"],
        recipient_name=recipient.get("name"),
        address=recipient["address"],
        agency_id=recipient.get("agency_id"),
        tracking_code=doc.get("tracking_code"),
        opinion_id=doc.get("opinion_id"),
        status=doc["status"],
        attempts=doc["attempts"],
        subject=doc.get("subject"),
        last_error=doc.get("last_error"),
        created_at=doc["created_at"],
        next_attempt_at=doc.get("next_attempt_at") if doc["status"] == "queued" else None,
        sent_at=doc.get("sent_at"),
        acknowledged_at=doc.get("acknowledged_at"),
        failed_at=doc.get("failed_at"),
    )


async def _load(service: Notifications, notification_id: str) -> Notification:
    notification = await service.delivery.get(notification_id)
    if notification is None:
        raise ApiError(
            404,
            "notification_not_found",
            f"Không có thông báo mã {notification_id}.",
            f"No notification {notification_id}.",
        )
    return notification


@router.get(
    "/notifications",
    response_model=list[NotificationView],
    tags=["thông báo"],
    summary="Tình trạng gửi thông báo, theo ý kiến, theo cơ quan, theo trạng thái",
    responses={401: {}, 403: {}},
)
async def search_notifications(
    service: Service,
    caller: Annotated[Caller, Depends(require_role(*STAFF, "agency"))],
    tracking_code: str | None = None,
    opinion_id: str | None = None,
    agency_id: str | None = None,
    status: str | None = None,
) -> list[NotificationView]:
    if caller.agency_bound:  # an agency sees the notices sent to it
        check_agency(caller, agency_id or caller.agency_id, "Thông báo của cơ quan này", "That agency's notifications")
        agency_id = caller.agency_id
    found = await service.delivery.search(
        tracking_code=tracking_code, opinion_id=opinion_id, agency_id=agency_id, status=status
    )
    return [notification_view(d) for d in found]


@router.get("/notifications/{notification_id}", response_model=NotificationView, tags=["thông báo"])
async def get_notification(
    notification_id: str, service: Service, _: Annotated[Caller, Depends(require_role(*STAFF))]
) -> NotificationView:
    return notification_view((await _load(service, notification_id)).doc)


@router.post(
    "/notifications/{notification_id}/retry",
    response_model=NotificationView,
    tags=["thông báo"],
    summary="Gửi lại một thông báo không gửi được (vận hành viên)",
    responses={401: {}, 403: {}, 404: {}, 409: {}},
)
async def retry_notification(notification_id: str, service: Service, caller: Operator) -> NotificationView:
    await _load(service, notification_id)  # 404 before anything else
    notification, retried = await service.delivery.retry(notification_id, caller)
    if not retried:
        raise ApiError(
            409,
            "not_failed",
            f"Thông báo đang ở trạng thái '{notification.status}'; chỉ gửi lại được thông báo đã thất bại.",
            f"The notification is '{notification.status}'; only a failed one can be retried.",
        )
    return notification_view(notification.doc)


async def _acknowledge(service: Notifications, notification_id: str, via: str, caller: Caller) -> dict[str, Any]:
    recipient = (await _load(service, notification_id)).doc["recipient"]
    check_agency(caller, recipient.get("agency_id"), f"Thông báo {notification_id}", f"Notification {notification_id}")
    try:
        return (await service.delivery.acknowledge(notification_id, via=via, actor=caller)).doc
    except NotAcknowledgeable as exc:
        raise ApiError(
            409,
            "not_acknowledgeable",
            f"Thông báo đang ở trạng thái '{exc.status}'; chỉ xác nhận được thông báo đã gửi tới cơ quan.",
            f"The notification is '{exc.status}'; only one sent to an agency can be acknowledged.",
        ) from exc


@router.post(
    "/notifications/{notification_id}/acknowledge",
    response_model=NotificationView,
    tags=["thông báo"],
    summary="Cơ quan xác nhận đã nhận thông báo",
    responses={401: {}, 403: {}, 404: {}, 409: {}},
)
async def acknowledge_notification(
    notification_id: str, service: Service, caller: Annotated[Caller, Depends(require_role("agency", "operator"))]
) -> NotificationView:
    return notification_view(await _acknowledge(service, notification_id, "api", caller))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _check_token(service: Notifications, notification_id: str, token: str) -> HTMLResponse | None:
    if service.delivery.acks.valid(notification_id, token):
        return None
    return _page("Liên kết không hợp lệ", "<p>Liên kết xác nhận không đúng hoặc đã bị sửa.</p>", 403)


@router.get(
    "/notifications/{notification_id}/ack",
    response_class=HTMLResponse,
    tags=["thông báo"],
    summary="Trang xác nhận đã nhận (liên kết trong thư)",
    dependencies=[Depends(public_rate_limit)],
    responses={429: {}},
)
async def ack_page(notification_id: str, token: str, service: Service) -> HTMLResponse:
    # A GET only shows the button: mail scanners that follow links must not acknowledge anything.
    if refused := _check_token(service, notification_id, token):
        return refused
    doc = (await _load(service, notification_id)).doc
    form = (
        f"<p>{escape(doc.get('subject') or doc['type'])}</p>"
        f'<form method="post"><input type="hidden" name="token" value="{escape(token)}">'
        '<button type="submit">Xác nhận đã nhận</button></form>'
    )
    return _page("Xác nhận đã nhận thông báo", form)


@router.post(
    "/notifications/{notification_id}/ack",
    response_class=HTMLResponse,
    tags=["thông báo"],
    summary="Xác nhận đã nhận (từ liên kết trong thư)",
    dependencies=[Depends(public_rate_limit)],
    responses={429: {}},
)
async def ack_from_link(
    notification_id: str, service: Service, request: Request, token: Annotated[str, Form()]
) -> HTMLResponse:
    if refused := _check_token(service, notification_id, token):
        return refused
    recipient = (await _load(service, notification_id)).doc["recipient"]
    # The signed link stands for the agency it was sent to: that agency is who acknowledged.
    holder = Caller(
        roles=frozenset({"agency"}),
        key_id=f"ack-link:{notification_id}",
        name=recipient.get("name"),
        agency_id=recipient.get("agency_id"),
        address=client_address(request),
    )
    doc = await _acknowledge(service, notification_id, "link", holder)
    return _page("Đã xác nhận", f"<p>Cảm ơn. Đã ghi nhận {escape(doc['recipient'].get('name') or '')} đã nhận.</p>")
