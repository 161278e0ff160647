"""Open311 GeoReport v2 at /open311/v2/ (and its discovery at /open311/), so civic-reporting clients can send
and follow opinions.

Services are the fields (lĩnh vực); a service request is an opinion and its `service_request_id` is the
tracking code. Every route answers in XML (`.xml`, the spec's required format) and JSON (`.json`);
`jurisdiction_id`, when given, must be this instance's id. mySociety's `servicerequestupdates` extension
lists the status changes FixMyStreet-style clients pull. Deviations from the spec, documented in the
README: a location is optional (a dialogue opinion need not have one); listing requests without naming
their ids, and listing updates, need an `api_key` (the texts are citizens' petitions); a missing or
wrong key is 401 (403 is a key without the right role), as on the rest of the API. Photos come as `media[]`
(or `media`) files of a multipart POST (the GeoReport v2.1 draft) and go out as `media_url`, the first
photo's address; a `media_url` parameter in a POST is not fetched (the server does not fetch given URLs).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from services.intake.api import get_service
from services.intake.domain import Stage, is_open, normalize_tracking_code
from services.intake.media_api import check_uploads, get_store, read_form, store_uploads, uploaded_files
from services.intake.open311_format import FORMATS, MIME_TYPES, documented, error_response, render, requested_format
from services.intake.service import ConferenceRefused
from shared.clock import VIETNAM, sane_moment
from shared.events import FIELDS, Channel, CitizenContact, Head, Location
from shared.http.auth import STAFF, Caller, authorize, identify
from shared.http.errors import ApiError
from shared.http.limits import client_address, retry_after
from shared.http.media import media_path
from shared.media import MediaRefused

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])
discovery_router = APIRouter(prefix="/open311", tags=["Open311 GeoReport v2"])

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When the service list or a service definition last changed: clients refresh what they cached when it moves.
# The services come from the field catalogue (shared/events), so change this with it (a test keeps watch).
DISCOVERY_CHANGESET = "2026-11-30T00:00:00Z"

_EMAIL = TypeAdapter(EmailStr)
MAX_LISTED = 1000
# Codes a keyless client may look up in one request; each one counts against its rate limit, so
# guessing tracking codes (40 random bits each) stays as slow as asking for them one by one.
MAX_PUBLIC_BATCH = 20
# servicerequestupdates without dates: the last day (FixMyStreet asks for the last two hours).
DEFAULT_UPDATES_WINDOW = timedelta(days=1)


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers


def open311_error_response(request: Request, exc: Open311Error) -> Response:
    """The spec's error list, in the format the request's path asked for (else what it accepts)."""
    return error_response(requested_format(request), exc.status, exc.description, exc.headers)


def _charge(request: Request, cost: int) -> None:
    """The lookups are public: the same per-address limit as the native API, in Open311's error format."""
    seconds = retry_after(request, cost)
    if seconds is not None:
        raise Open311Error(
            429,
            f"Quá nhiều yêu cầu; thử lại sau {seconds} giây / too many requests; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def _rate_limit(request: Request) -> None:
    """One lookup's worth (no parameter of its own: a client must not name its own price)."""
    _charge(request, 1)


def _format(
    fmt: Annotated[str, Path(description="Định dạng trả lời / response format: `xml` hoặc/or `json`.")],
) -> str:
    value = fmt.lower()
    if value not in FORMATS:
        shown = repr(fmt[:20])
        raise Open311Error(
            404, f"Không có định dạng {shown}; dùng .xml hoặc .json / unknown format {shown}; use .xml or .json"
        )
    return value


def check_jurisdiction(request: Request, jurisdiction_id: Any) -> None:
    """This endpoint serves one jurisdiction, this instance: its id may be given, another one may not."""
    if jurisdiction_id in (None, ""):
        return
    own = request.app.state.settings.instance_id
    if jurisdiction_id != own:
        raise Open311Error(
            404,
            f"Không có đơn vị (jurisdiction_id) {str(jurisdiction_id)[:64]!r}; đơn vị ở đây là {own!r} / "
            f"jurisdiction_id {str(jurisdiction_id)[:64]!r} not found; this endpoint serves {own!r}",
        )


def _jurisdiction(
    request: Request,
    jurisdiction_id: Annotated[
        str | None, Query(description="Mã đơn vị (instance id); có thể bỏ trống / this instance's id, optional.")
    ] = None,
) -> None:
    check_jurisdiction(request, jurisdiction_id)


Format = Annotated[str, Depends(_format)]
Public = [Depends(_rate_limit), Depends(_jurisdiction)]
Jurisdiction = [Depends(_jurisdiction)]
ApiKey = Annotated[str | None, Query(description="Khóa API của cán bộ / a staff API key.")]


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds") if moment else None


def _caller(request: Request, api_key: str | None) -> Caller:
    if not api_key:
        raise Open311Error(401, "Thiếu tham số api_key / the api_key parameter is required")
    try:
        return authorize(identify(request.app.state.settings.api_keys, api_key, client_address(request)), STAFF)
    except ApiError as exc:
        raise Open311Error(exc.status, f"{exc.message_vi} / {exc.message_en}") from exc


# ---- discovery ------------------------------------------------------------------------------------


def _discovery(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    # Behind a trusted proxy uvicorn already took the scheme from X-Forwarded-Proto; a configured public URL
    # wins over both (a proxy that rewrites the host or mounts the service under a path).
    base = (settings.open311_public_url or str(request.base_url)).rstrip("/")
    name = settings.instance_name
    return {
        "changeset": DISCOVERY_CHANGESET,
        "contact": settings.open311_contact or f"Bộ phận tiếp nhận ý kiến, {name} / the opinion desk of {name}",
        "key_service": settings.open311_key_service
        or f"Khóa API do quản trị vận hành của {name} cấp / API keys are issued by the operators of {name}",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base}/open311/v2",
                "changeset": DISCOVERY_CHANGESET,
                "type": settings.open311_endpoint_type,
                "formats": MIME_TYPES,
            }
        ],
    }


_DISCOVERY_EXAMPLE = {
    "changeset": DISCOVERY_CHANGESET,
    "contact": "Bộ phận tiếp nhận ý kiến, Phường Bồ Đề",
    "key_service": "Khóa API do quản trị vận hành cấp",
    "endpoints": [
        {
            "specification": SPECIFICATION,
            "url": "https://doithoai.example.vn/open311/v2",
            "changeset": DISCOVERY_CHANGESET,
            "type": "production",
            "formats": MIME_TYPES,
        }
    ],
}


@discovery_router.get(
    "/discovery.{fmt}",
    summary="Khám phá dịch vụ (service discovery)",
    dependencies=Public,
    responses=documented("discovery", _DISCOVERY_EXAMPLE, "Where the GeoReport v2 endpoint is and what it speaks."),
)
async def discovery(fmt: Format, request: Request) -> Response:
    return render(fmt, "discovery", _discovery(request))


# ---- services ---------------------------------------------------------------------------------------


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


def _definition(code: str) -> dict[str, Any]:
    return {
        "service_code": code,
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


_EXAMPLE_CODE = next(iter(FIELDS))


@router.get(
    "/services.{fmt}",
    summary="Danh sách lĩnh vực (services)",
    dependencies=Public,
    responses=documented("services", [_service(_EXAMPLE_CODE)], "The fields (lĩnh vực) opinions are sorted into."),
)
async def services(fmt: Format) -> Response:
    return render(fmt, "services", [_service(code) for code in FIELDS])


@router.get(
    "/services/{service_code}.{fmt}",
    summary="Định nghĩa một lĩnh vực (service definition)",
    dependencies=Public,
    responses=documented("service_definition", _definition(_EXAMPLE_CODE), "The attributes a request may carry."),
)
async def service_definition(service_code: str, fmt: Format) -> Response:
    if service_code not in FIELDS:
        raise Open311Error(404, f"Không có lĩnh vực {service_code!r} / unknown service_code {service_code!r}")
    return render(fmt, "service_definition", _definition(service_code))


# ---- requests ---------------------------------------------------------------------------------------


async def _params(request: Request) -> tuple[dict[str, Any], Any]:
    """The request's parameters, and its multipart form (None otherwise) whose files are its media."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise Open311Error(400, "Nội dung không phải JSON hợp lệ / body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise Open311Error(400, "Cần một đối tượng JSON / expected a JSON object")
        return body, None
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await read_form(request, get_store(request).max_files)
        except MediaRefused as exc:
            raise _media_refused(exc) from None
        return {k: v for k, v in form.items() if isinstance(v, str)}, form
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


_CREATED_EXAMPLE = [
    {"service_request_id": "YK-7F3K-9QX2", "service_notice": "Ý kiến đã được tiếp nhận.", "account_id": None}
]


@router.post(
    "/requests.{fmt}",
    status_code=201,
    summary="Gửi một ý kiến (service request)",
    responses={201: documented("service_requests", _CREATED_EXAMPLE, "The tracking code of the new opinion.")[200]},
)
async def create_request(fmt: Format, request: Request) -> Response:
    params, form = await _params(request)
    try:
        return await _create_request(fmt, request, params, form)
    finally:
        if form is not None:
            await form.close()


def _media_refused(exc: MediaRefused) -> Open311Error:
    name = getattr(exc, "filename", None)
    shown = f" ({name})" if name else ""
    return Open311Error(exc.status, f"media{shown}: {exc.message_vi} / {exc.message_en}")


async def _create_request(fmt: str, request: Request, params: dict[str, Any], form: Any) -> Response:
    check_jurisdiction(request, params.get("jurisdiction_id") or request.query_params.get("jurisdiction_id"))
    caller = _caller(request, _text(params, "api_key", 200))

    service_code = _text(params, "service_code", 64)
    if service_code is None:
        raise Open311Error(400, "Thiếu service_code (mã lĩnh vực) / service_code is required")
    if service_code not in FIELDS:
        raise Open311Error(400, f"service_code {service_code!r} không tồn tại / unknown service_code; see services.xml")
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
    store = get_store(request)
    try:  # every photo checked before anything is stored: a bad one and neither opinion nor photo is kept
        uploads = await check_uploads(uploaded_files(form, "media[]", "media") if form else [], store, already=0)
    except MediaRefused as exc:
        raise _media_refused(exc) from None
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
    if uploads:
        by = {**caller.as_record(), "source": "open311"}
        try:
            await store_uploads(
                store, submitted.opinion.opinion_id, uploads, by=by, purpose="evidence", at=service.clock.now()
            )
        except MediaRefused as exc:
            raise _media_refused(exc) from None
    await service.publish(submitted)
    code = submitted.opinion.tracking_code
    notice = f"Ý kiến đã được tiếp nhận. Mã theo dõi: {code}."
    # A realtime service: the id at once (never a token); no accounts here.
    created = [{"service_request_id": code, "service_notice": notice, "account_id": None}]
    return render(fmt, "service_requests", created, status=201)


def _media_base(request: Request) -> str:
    return (request.app.state.settings.open311_public_url or str(request.base_url)).rstrip("/")


async def _media_urls(request: Request, docs: list[dict[str, Any]]) -> dict[str, str]:
    """Opinion id → the address of its first photo (GeoReport has one `media_url`), for those with one."""
    found = await get_store(request).lists([d["_id"] for d in docs])
    codes = {d["_id"]: d["tracking_code"] for d in docs}
    base = _media_base(request)
    return {
        opinion_id: base + media_path(codes[opinion_id], photos[0]["_id"])
        for opinion_id, records in found.items()
        if (photos := [r for r in records if r["kind"] == "photo"])
    }


def _service_request(doc: dict[str, Any], *, staff: bool, media_url: str | None = None) -> dict[str, Any]:
    """A request as Open311 shows it; where it is (address, coordinates) only to staff: a stranger
    holding a code must not learn where a citizen lives. `media_url`: the first photo, which the holder of
    the code may see as the citizen's tracking page shows it (re-encoded, without its EXIF position)."""
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
        "service_code": field or "",  # not yet classified: the schema wants a string
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
        "media_url": media_url,
    }


_REQUEST_EXAMPLE = [
    {
        "service_request_id": "YK-7F3K-9QX2",
        "status": "open",
        "status_notes": "Đã tiếp nhận",
        "service_name": FIELDS[_EXAMPLE_CODE].name,
        "service_code": _EXAMPLE_CODE,
        "description": "Rác ùn ứ ở chợ",
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": "2026-11-30T08:00:00+07:00",
        "updated_datetime": "2026-11-30T08:00:00+07:00",
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
]


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="Tra cứu một ý kiến",
    dependencies=Public,
    responses=documented("service_requests", _REQUEST_EXAMPLE, "The opinion with that tracking code."),
)
async def get_request(service_request_id: str, fmt: Format, request: Request) -> Response:
    code = normalize_tracking_code(service_request_id)
    doc = await get_service(request).view(code)
    if doc is None:
        raise Open311Error(404, f"Không có ý kiến mã {code} / service_request_id {code} not found")
    media = await _media_urls(request, [doc])
    return render(fmt, "service_requests", [_service_request(doc, staff=False, media_url=media.get(doc["_id"]))])


def _status(value: str | None) -> bool | None:
    """`open`, `closed` or both (comma delimited, as the spec allows): True, False or None (all)."""
    if not value:
        return None
    wanted = {s.strip() for s in value.split(",") if s.strip()}
    if not wanted <= {"open", "closed"}:
        raise Open311Error(400, f"status phải là open hoặc closed / status must be open or closed (got {value!r})")
    return None if len(wanted) != 1 else wanted == {"open"}


@router.get(
    "/requests.{fmt}",
    summary="Tra cứu nhiều ý kiến",
    dependencies=Public,
    responses=documented("service_requests", _REQUEST_EXAMPLE, "Opinions by id, or (staff) by field, date, status."),
)
async def list_requests(
    fmt: Format,
    request: Request,
    api_key: ApiKey = None,
    service_request_id: Annotated[str | None, Query(description="Mã theo dõi, cách nhau bởi dấu phẩy.")] = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: Annotated[str | None, Query(description="open, closed, hoặc cả hai / or both: open,closed")] = None,
) -> Response:
    service = get_service(request)
    staff = api_key is not None and _caller(request, api_key) is not None
    if service_request_id:
        codes = list(dict.fromkeys(normalize_tracking_code(c) for c in service_request_id.split(",") if c.strip()))
        limit = MAX_LISTED if staff else MAX_PUBLIC_BATCH
        if len(codes) > limit:
            raise Open311Error(
                400,
                f"Tối đa {limit} mã một lần (nhận {len(codes)}) / at most {limit} service_request_id values "
                f"per request (got {len(codes)})",
            )
        if not staff:
            _charge(request, max(0, len(codes) - 1))  # the route's own check took one
        docs = await service.views(codes)
        media = await _media_urls(request, docs)
        found = [_service_request(d, staff=staff, media_url=media.get(d["_id"])) for d in docs]
        return render(fmt, "service_requests", found)

    if not staff:
        _caller(request, None)
    open_ = _status(status)
    if service_code is not None and service_code not in FIELDS:
        raise Open311Error(400, f"service_code {service_code!r} không tồn tại / unknown service_code")
    start, end = parse_time(start_date, "start_date"), parse_time(end_date, "end_date")
    docs = await service.listed(field=service_code, start=start, end=end, open_=open_, limit=MAX_LISTED)
    media = await _media_urls(request, docs)
    return render(
        fmt, "service_requests", [_service_request(d, staff=True, media_url=media.get(d["_id"])) for d in docs]
    )


# ---- mySociety's servicerequestupdates ---------------------------------------------------------------


def _updates(doc: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The opinion's status changes between `start` and `end`, as the citizen's tracking page shows them;
    each history entry is one update, numbered by its place (history only grows), the receipt excepted."""
    stage = Stage.RECEIVED
    updates = []
    for number, entry in enumerate(doc["history"]):
        if entry.get("stage") is not None:
            stage = max(stage, Stage(entry["stage"]))  # events apply in stage order: the projection's rule
        if number == 0 or not start <= entry["at"] <= end:
            continue
        updates.append(
            {
                "update_id": f"{doc['tracking_code']}-{number}",
                "service_request_id": doc["tracking_code"],
                "status": "open" if stage < Stage.REDIRECTED else "closed",
                "updated_datetime": _local(entry["at"]),
                "description": entry["note"],
            }
        )
    return updates


_UPDATE_EXAMPLE = [
    {
        "update_id": "YK-7F3K-9QX2-1",
        "service_request_id": "YK-7F3K-9QX2",
        "status": "open",
        "updated_datetime": "2026-11-30T09:00:00+07:00",
        "description": "Lĩnh vực: Môi trường; người trả lời: Chủ tịch UBND",
    }
]


@router.get(
    "/servicerequestupdates.{fmt}",
    summary="Diễn biến các ý kiến trong một khoảng thời gian (mySociety servicerequestupdates)",
    dependencies=Jurisdiction,
    responses=documented(
        "service_request_updates", _UPDATE_EXAMPLE, "Status changes between start_date and end_date, oldest first."
    ),
)
async def request_updates(
    fmt: Format,
    request: Request,
    api_key: ApiKey = None,
    start_date: Annotated[str | None, Query(description="Từ / from (ISO 8601); mặc định: end_date − 1 ngày.")] = None,
    end_date: Annotated[str | None, Query(description="Đến / until (ISO 8601); mặc định: bây giờ / now.")] = None,
) -> Response:
    _caller(request, api_key)
    service = get_service(request)
    end = parse_time(end_date, "end_date") or service.clock.now()
    start = parse_time(start_date, "start_date") or end - DEFAULT_UPDATES_WINDOW
    if start > end:
        raise Open311Error(400, "start_date phải trước end_date / start_date must be before end_date")
    changed = {"history": {"$elemMatch": {"at": {"$gte": start, "$lte": end}}}}
    total, docs = await service.find(changed, skip=0, limit=MAX_LISTED)
    if total > MAX_LISTED:
        raise Open311Error(
            400,
            f"{total} ý kiến có diễn biến trong khoảng này, tối đa {MAX_LISTED}: thu hẹp khoảng thời gian / "
            f"{total} requests changed in that window, at most {MAX_LISTED}: ask for a shorter one",
        )
    full = await service.views([d["tracking_code"] for d in docs])
    updates = sorted(
        (u for doc in full for u in _updates(doc, start, end)),
        key=lambda u: (u["updated_datetime"], u["update_id"]),
    )
    return render(fmt, "service_request_updates", updates)


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
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
