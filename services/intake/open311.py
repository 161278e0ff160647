"""Open311 GeoReport v2 at /open311/v2/, so civic-reporting clients can send and follow opinions.

Services are the fields (lĩnh vực); a service request is an opinion and its
`service_request_id` is the tracking code. JSON only. Deviations from the spec, documented in
the README: a location is optional (a dialogue opinion need not have one), and listing
requests without naming their ids needs an `api_key` (the texts are citizens' petitions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import EmailStr, TypeAdapter, ValidationError

from services.intake.api import get_service
from services.intake.domain import Stage, is_open, normalize_tracking_code
from services.intake.service import ConferenceRefused
from shared.clock import VIETNAM, sane_moment
from shared.events import FIELDS, Channel, CitizenContact, Head, Location
from shared.http.auth import STAFF, Caller, authorize, identify
from shared.http.errors import ApiError
from shared.http.limits import client_address, retry_after

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])

_EMAIL = TypeAdapter(EmailStr)
MAX_LISTED = 1000
# Codes a keyless client may look up in one request; each one counts against its rate limit, so
# guessing tracking codes (40 random bits each) stays as slow as asking for them one by one.
MAX_PUBLIC_BATCH = 20


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers


def open311_error_response(exc: Open311Error) -> JSONResponse:
    body = [{"code": exc.status, "description": exc.description}]
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def _rate_limit(request: Request, cost: int = 1) -> None:
    """The lookups are public: the same per-address limit as the native API, in Open311's error format."""
    seconds = retry_after(request, cost)
    if seconds is not None:
        raise Open311Error(
            429,
            f"Quá nhiều yêu cầu; thử lại sau {seconds} giây / too many requests; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


Public = [Depends(_rate_limit)]


def _check_format(fmt: str) -> None:
    if fmt != "json":
        raise Open311Error(400, f"Chỉ hỗ trợ định dạng json / only the json format is supported (got {fmt!r})")


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds") if moment else None


def _service(code: str) -> dict[str, Any]:
    f = FIELDS[code]
    return {
        "service_code": f.code,
        "service_name": f.name,
        "description": f.description,
        "metadata": True,
        "type": "realtime",
        "keywords": f.code,
        "group": f.head.label,
    }


@router.get("/services.{fmt}", summary="Danh sách lĩnh vực (services)", dependencies=Public)
async def services(fmt: str) -> list[dict[str, Any]]:
    _check_format(fmt)
    return [_service(code) for code in FIELDS]


@router.get(
    "/services/{service_code}.{fmt}", summary="Định nghĩa một lĩnh vực (service definition)", dependencies=Public
)
async def service_definition(service_code: str, fmt: str) -> dict[str, Any]:
    _check_format(fmt)
    if service_code not in FIELDS:
        raise Open311Error(404, f"Không có lĩnh vực {service_code!r} / unknown service_code {service_code!r}")
    return {
        "service_code": service_code,
        "attributes": [
            {
                "variable": True,
                "code": "head",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "Người đứng đầu phải trả lời; bỏ trống để hệ thống tự xác định.",
                "order": 1,
                "description": "Người trả lời",
                "values": [{"key": h.value, "name": h.label} for h in Head],
            },
            {
                "variable": True,
                "code": "conference_id",
                "datatype": "string",
                "required": False,
                "datatype_description": "Mã hội nghị đối thoại, nếu ý kiến gắn với một hội nghị.",
                "order": 2,
                "description": "Hội nghị",
            },
        ],
    }


async def _params(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise Open311Error(400, "Nội dung không phải JSON hợp lệ / body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise Open311Error(400, "Cần một đối tượng JSON / expected a JSON object")
        return body
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(await request.form())
    raise Open311Error(
        415,
        "Gửi dạng application/x-www-form-urlencoded hoặc application/json / "
        f"send form-encoded or JSON parameters (got {content_type or 'no content type'})",
    )


def _text(params: dict[str, Any], name: str, limit: int) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Open311Error(400, f"{name}: phải là chuỗi ký tự / must be a string")
    value = value.strip()
    if len(value) > limit:
        raise Open311Error(400, f"{name}: quá dài, tối đa {limit} ký tự / too long, at most {limit} characters")
    return value or None


def _coordinate(params: dict[str, Any], name: str, bound: float) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise Open311Error(400, f"{name}: không phải số / not a number: {raw!r}") from exc
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name}: ngoài khoảng ±{bound} / out of range ±{bound}")
    return value


def _attribute(params: dict[str, Any], code: str) -> str | None:
    nested = params.get("attribute")
    if isinstance(nested, dict) and nested.get(code):
        return str(nested[code])
    value = params.get(f"attribute[{code}]")
    return str(value) if value else None


def _caller(request: Request, api_key: str | None) -> Caller:
    if not api_key:
        raise Open311Error(401, "Thiếu tham số api_key / the api_key parameter is required")
    try:
        return authorize(identify(request.app.state.settings.api_keys, api_key, client_address(request)), STAFF)
    except ApiError as exc:
        raise Open311Error(exc.status, f"{exc.message_vi} / {exc.message_en}") from exc


@router.post("/requests.{fmt}", status_code=201, summary="Gửi một ý kiến (service request)")
async def create_request(fmt: str, request: Request) -> JSONResponse:
    _check_format(fmt)
    params = await _params(request)
    caller = _caller(request, _text(params, "api_key", 200))

    service_code = _text(params, "service_code", 64)
    if service_code is None:
        raise Open311Error(400, "Thiếu service_code (mã lĩnh vực) / service_code is required")
    if service_code not in FIELDS:
        raise Open311Error(
            400, f"service_code {service_code!r} không tồn tại / unknown service_code; see services.json"
        )
    description = _text(params, "description", 5000)
    if description is None:
        raise Open311Error(400, "Thiếu description (nội dung ý kiến) / description is required")
    lat, lon = _coordinate(params, "lat", 90), _coordinate(params, "long", 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "Cần cả lat và long / lat and long must be sent together")
    email = _text(params, "email", 254)
    if email is not None:
        try:
            email = _EMAIL.validate_python(email)
        except ValidationError as exc:
            raise Open311Error(400, f"email {email!r} không hợp lệ / is not a valid email address") from exc
    head = _attribute(params, "head")
    if head is not None and head not in {h.value for h in Head}:
        raise Open311Error(400, f"attribute[head] {head!r} không hợp lệ / must be one of {[h.value for h in Head]}")
    name = " ".join(p for p in (_text(params, "first_name", 100), _text(params, "last_name", 100)) if p)
    phone = _text(params, "phone", 30)
    address = _text(params, "address_string", 500)

    service = get_service(request)
    conference_id = _attribute(params, "conference_id")
    if conference_id:
        try:
            await service.check_conference(conference_id, Channel.ONLINE)
        except ConferenceRefused as exc:
            raise Open311Error(exc.status, f"{exc.message_vi} / {exc.message_en}") from exc
    submitted = await service.submit(
        text=description,
        channel=Channel.ONLINE,
        field=service_code,
        head=Head(head) if head else None,
        citizen=CitizenContact(name=name or None, email=email, phone=phone) if (name or email or phone) else None,
        location=Location(address=address, lat=lat, lon=lon) if (address or lat is not None) else None,
        conference_id=conference_id,
        entered_by=caller,
    )
    await service.publish(submitted)
    code = submitted.opinion.tracking_code
    notice = f"Ý kiến đã được tiếp nhận. Mã theo dõi: {code}."
    return JSONResponse([{"service_request_id": code, "service_notice": notice, "account_id": None}], status_code=201)


def _service_request(doc: dict[str, Any], *, staff: bool) -> dict[str, Any]:
    """A request as Open311 shows it; where it is (address, coordinates) only to staff: a stranger
    holding a code must not learn where a citizen lives."""
    stage = Stage(doc["stage"])
    field = doc.get("field")
    location = doc.get("location") or {}
    notes = [stage.label, doc["history"][-1]["note"]] if len(doc["history"]) > 1 else [stage.label]
    if doc.get("overdue"):
        notes.append("quá hạn trả lời")
    if doc.get("answer"):
        notes.append(doc["answer"]["text"])
    return {
        "service_request_id": doc["tracking_code"],
        "status": "open" if is_open(doc) else "closed",
        "status_notes": "; ".join(notes),
        "service_name": FIELDS[field].name if field else None,
        "service_code": field,
        "description": doc["text"],
        "agency_responsible": (doc.get("agency") or {}).get("name"),
        "service_notice": None,
        "requested_datetime": _local(doc["submitted_at"]),
        "updated_datetime": _local(doc["updated_at"]),
        "expected_datetime": _local(doc.get("due_at")),
        "address": location.get("address") if staff else None,
        "address_id": None,
        "zipcode": None,
        "lat": location.get("lat") if staff else None,
        "long": location.get("lon") if staff else None,
        "media_url": None,
    }


@router.get("/requests/{service_request_id}.{fmt}", summary="Tra cứu một ý kiến", dependencies=Public)
async def get_request(service_request_id: str, fmt: str, request: Request) -> list[dict[str, Any]]:
    _check_format(fmt)
    code = normalize_tracking_code(service_request_id)
    doc = await get_service(request).view(code)
    if doc is None:
        raise Open311Error(404, f"Không có ý kiến mã {code} / service_request_id {code} not found")
    return [_service_request(doc, staff=False)]


@router.get("/requests.{fmt}", summary="Tra cứu nhiều ý kiến", dependencies=Public)
async def list_requests(fmt: str, request: Request) -> list[dict[str, Any]]:
    _check_format(fmt)
    q = request.query_params
    service = get_service(request)
    staff = q.get("api_key") is not None and _caller(request, q.get("api_key")) is not None
    if ids := q.get("service_request_id"):
        codes = list(dict.fromkeys(normalize_tracking_code(c) for c in ids.split(",") if c.strip()))
        limit = MAX_LISTED if staff else MAX_PUBLIC_BATCH
        if len(codes) > limit:
            raise Open311Error(
                400,
                f"Tối đa {limit} mã một lần (nhận {len(codes)}) / at most {limit} service_request_id values "
                f"per request (got {len(codes)})",
            )
        if not staff:
            _rate_limit(request, cost=max(0, len(codes) - 1))  # the route's own check took one
        return [_service_request(d, staff=staff) for d in await service.views(codes)]

    if not staff:
        _caller(request, None)
    status = q.get("status")
    if status not in (None, "open", "closed"):
        raise Open311Error(400, f"status phải là open hoặc closed / status must be open or closed (got {status!r})")
    service_code = q.get("service_code")
    if service_code is not None and service_code not in FIELDS:
        raise Open311Error(400, f"service_code {service_code!r} không tồn tại / unknown service_code")
    start, end = parse_time(q.get("start_date"), "start_date"), parse_time(q.get("end_date"), "end_date")
    docs = await service.listed(
        field=service_code,
        start=start,
        end=end,
        open_=None if status is None else status == "open",
        limit=MAX_LISTED,
    )
    return [_service_request(d, staff=True) for d in docs]


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(
            400,
            f"{name} không phải thời điểm ISO 8601 (ví dụ 2026-01-31T08:00:00+07:00) / "
            f"{name} is not an ISO 8601 datetime (e.g. 2026-01-31T08:00:00+07:00)",
        ) from exc
    if moment.tzinfo is None:
        raise Open311Error(
            400,
            f"{name} cần có múi giờ (ví dụ +07:00) / {name} needs a time zone offset (e.g. +07:00)",
        )
    try:
        return sane_moment(moment)
    except ValueError as exc:
        raise Open311Error(400, f"{name}: năm phải từ 2000 đến 2199 / the year must be 2000–2199 ({exc})") from exc
