"""Photos and documents of an opinion over HTTP: upload (multipart), list, the file and its thumbnail.

No opinion is public here: its attachments, like the opinion itself, reach only staff with a key or token
and the holder of its tracking code (the citizen), are never cached by shared caches, and the position
read from a photo's EXIF is shown to staff only. An agency attaches its written answer (PDF) here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.api import get_service
from services.intake.domain import normalize_tracking_code
from shared.http.app import BodyLimitMiddleware
from shared.http.auth import READERS, STAFF, Caller, check_agency, optional_caller, require_role
from shared.http.errors import ApiError
from shared.http.limits import public_rate_limit
from shared.http.media import (
    FILE_RESPONSES,
    THUMBNAIL_RESPONSES,
    MediaView,
    file_response,
    media_list,
    media_view,
)
from shared.media import Checked, MediaRefused, MediaStore, TooManyFiles, check, too_large

router = APIRouter(prefix="/api/v1", tags=["ảnh và tệp đính kèm"])

# The citizens' portal attaches photos while the citizen submits, not later: a code in other hands must not
# let a stranger add pictures to someone's opinion.
PORTAL_UPLOAD_WINDOW = timedelta(minutes=30)
FORM_OVERHEAD = 1024 * 1024  # the multipart framing and the text fields around the files
READ_CHUNK = 256 * 1024
UPLOAD_PATHS = re.compile(r"^/api/v1/opinions/[^/]+/media$|^/open311/v2/requests\.[A-Za-z]+$")


def get_store(request: Request) -> MediaStore:
    return request.app.state.media


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _refused(exc: MediaRefused, filename: str | None, field: str = "file") -> ApiError:
    shown = f" ({filename})" if filename else ""
    return ApiError(
        exc.status,
        exc.code,
        exc.message_vi,
        exc.message_en,
        [{"field": field, "message_vi": f"{exc.message_vi}{shown}", "message_en": f"{exc.message_en}{shown}"}],
    )


def display_name(filename: str | None) -> str | None:
    """The sender's file name, for showing only: no folders, no control characters, at most 120 characters."""
    if not filename:
        return None
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:120] or None


# ---- reading uploads -------------------------------------------------------------------------------------


@dataclass
class Upload:
    filename: str | None
    checked: Checked


async def read_capped(upload: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes, refused as soon as they pass `max_bytes` (Starlette has spooled it to disk)."""
    if upload.size is not None and upload.size > max_bytes:
        raise too_large(max_bytes)
    chunks, total = [], 0
    while chunk := await upload.read(READ_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def check_uploads(uploads: list[UploadFile], store: MediaStore, *, already: int) -> list[Upload]:
    """Every upload checked before any is stored: one bad file and nothing is kept. MediaRefused names it."""
    if already + len(uploads) > store.max_files:
        raise too_many_files(store.max_files, already=already, sending=len(uploads))
    checked = []
    for upload in uploads:
        name = display_name(upload.filename)
        try:
            checked.append(Upload(name, check(await read_capped(upload, store.max_bytes), max_bytes=store.max_bytes)))
        except MediaRefused as exc:
            exc.filename = name  # type: ignore[attr-defined]
            raise
    return checked


async def store_uploads(
    store: MediaStore, opinion_id: str, uploads: list[Upload], *, by: dict[str, Any], purpose: str, at: Any
) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    try:
        for upload in uploads:
            kind_purpose = purpose if upload.checked.kind == "document" else "evidence"
            stored.append(
                await store.add(
                    opinion_id, upload.checked, filename=upload.filename, purpose=kind_purpose, by=by, at=at
                )
            )
    except TooManyFiles:
        for record in stored:  # all or nothing
            await store.remove(record)
        raise MediaRefused(
            409,
            "too_many_files",
            f"Ý kiến đã đủ {store.max_files} tệp đính kèm (vừa có người gửi cùng lúc); không nhận thêm.",
            f"The opinion already has its {store.max_files} attachments (someone sent at the same moment).",
        ) from None
    await store.send_pending(opinion_id)  # an opinion already sent up: its new photos follow it
    return stored


async def read_form(request: Request, max_files: int) -> Any:
    """The multipart form, its files spooled to disk past 1 MiB; a malformed one, or one with more files than
    an opinion may carry, is a bilingual 4xx rather than Starlette's bare 400."""
    try:
        return await request.form(max_files=max_files, max_fields=100)
    except StarletteHTTPException as exc:
        if "Too many files" in str(exc.detail):
            raise too_many_files(max_files, already=None) from None
        raise MediaRefused(
            400,
            "bad_multipart",
            f"Không đọc được nội dung multipart/form-data ({exc.detail}); hãy gửi lại bằng biểu mẫu tệp.",
            f"The multipart/form-data body cannot be read ({exc.detail}); send it again as a file form.",
        ) from None


def too_many_files(max_files: int, *, already: int | None, sending: int | None = None) -> MediaRefused:
    if already is None:
        return MediaRefused(
            409,
            "too_many_files",
            f"Mỗi ý kiến có tối đa {max_files} tệp đính kèm; lần này gửi nhiều hơn thế.",
            f"An opinion may have at most {max_files} attachments; this upload carries more.",
        )
    left = max(0, max_files - already)
    return MediaRefused(
        409,
        "too_many_files",
        f"Mỗi ý kiến có tối đa {max_files} tệp đính kèm; ý kiến này đã có {already}, "
        f"còn gửi được {left} tệp (đang gửi {sending}).",
        f"An opinion may have at most {max_files} attachments; this one has {already}, "
        f"{left} more may be sent (got {sending}).",
    )


def uploaded_files(form: Any, *names: str) -> list[UploadFile]:
    return [v for name in names for v in form.getlist(name) if isinstance(v, UploadFile)]


def source_of(caller: Caller) -> str:
    if caller.roles & set(STAFF):
        return "staff"
    if caller.agency_bound:
        return "agency"
    return "citizen"


# ---- routes -----------------------------------------------------------------------------------------------


def _not_found(code: str) -> ApiError:
    return ApiError(
        404,
        "opinion_not_found",
        f"Không có ý kiến nào mang mã theo dõi {code}; kiểm tra lại mã (dạng YK-XXXX-XXXX).",
        f"No opinion has tracking code {code}; check the code (format YK-XXXX-XXXX).",
    )


def _check_uploader(caller: Caller, doc: dict[str, Any], now: Any) -> None:
    if caller.roles & set(STAFF):
        return
    if caller.agency_bound:
        check_agency(caller, (doc.get("agency") or {}).get("id"), "Ý kiến này", "This opinion")
        return
    entered = (doc.get("entered_by") or {}).get("roles") or []
    if "portal" not in entered or now - doc["submitted_at"] > PORTAL_UPLOAD_WINDOW:
        minutes = int(PORTAL_UPLOAD_WINDOW.total_seconds() // 60)
        raise ApiError(
            403,
            "upload_closed",
            f"Cổng công dân chỉ gửi ảnh kèm ý kiến trong {minutes} phút sau khi gửi ý kiến qua cổng; "
            "muốn bổ sung ảnh, hãy liên hệ bộ phận tiếp nhận.",
            f"The citizens' portal attaches photos only within {minutes} minutes of submitting the opinion "
            "through it; to add photos later, contact the reception desk.",
        )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Một hoặc vài tệp: ảnh JPEG, PNG, WebP hoặc văn bản PDF.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/opinions/{tracking_code}/media",
    status_code=201,
    response_model=list[MediaView],
    summary="Đính kèm ảnh hoặc văn bản PDF vào một ý kiến (multipart, trường file)",
    openapi_extra=_UPLOAD_BODY,
    responses={s: {} for s in (401, 403, 404, 409, 413, 415, 422)},
)
async def upload_media(
    tracking_code: str,
    request: Request,
    store: Annotated[MediaStore, Depends(get_store)],
    caller: Annotated[Caller, Depends(require_role(*STAFF, "agency", "portal"))],
) -> list[MediaView]:
    service = get_service(request)
    code = normalize_tracking_code(tracking_code)
    doc = await service.view(code)
    if doc is None:
        raise _not_found(code)
    now = service.clock.now()
    _check_uploader(caller, doc, now)  # who may attach to this opinion, before anything is read
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Gửi tệp dạng multipart/form-data, trường file (nhận được: {content_type or 'không có'}).",
            f"Send files as multipart/form-data in the field file (got: {content_type or 'none'}).",
        )
    try:
        form = await read_form(request, store.max_files)
    except MediaRefused as exc:
        raise _refused(exc, None) from None
    try:
        files = uploaded_files(form, "file")
        if not files:
            raise ApiError(
                422,
                "no_file",
                "Chưa có tệp nào trong trường file.",
                "No file in the field file.",
                [{"field": "file", "message_vi": "Chọn ít nhất một tệp", "message_en": "Choose at least one file"}],
            )
        try:
            uploads = await check_uploads(files, store, already=await store.count(doc["_id"]))
            purpose = "answer" if caller.agency_bound else "evidence"
            by = {**caller.as_record(), "source": source_of(caller)}
            stored = await store_uploads(store, doc["_id"], uploads, by=by, purpose=purpose, at=now)
        except MediaRefused as exc:
            raise _refused(exc, getattr(exc, "filename", None)) from None
    finally:
        await form.close()
    return [media_view(r, code, _base(request), staff=True) for r in stored]


async def _readable(request: Request, code: str, caller: Caller | None) -> tuple[dict[str, Any], bool]:
    """The opinion and whether the caller sees it as staff; a keyless caller (the code's holder) is counted
    against the public rate limit."""
    if caller is None:
        public_rate_limit(request)
    doc = await get_service(request).view(code)
    if doc is None:
        raise _not_found(code)
    staff = caller is not None and (
        bool(caller.roles & set(READERS))
        or (caller.agency_bound and caller.may_see_agency((doc.get("agency") or {}).get("id")))
    )
    return doc, staff


Reader = Annotated[Caller | None, Depends(optional_caller)]


@router.get(
    "/opinions/{tracking_code}/media",
    response_model=list[MediaView],
    summary="Ảnh và tệp đính kèm của một ý kiến (người giữ mã theo dõi, hoặc cán bộ)",
    responses={404: {}, 429: {}},
)
async def list_media(
    tracking_code: str, request: Request, store: Annotated[MediaStore, Depends(get_store)], caller: Reader
) -> Response:
    code = normalize_tracking_code(tracking_code)
    doc, staff = await _readable(request, code, caller)
    return media_list([media_view(r, code, _base(request), staff=staff) for r in await store.list(doc["_id"])])


async def _serve(request: Request, code: str, media_id: str, caller: Caller | None, *, thumbnail: bool) -> Response:
    code = normalize_tracking_code(code)
    doc, _ = await _readable(request, code, caller)
    return await file_response(get_store(request), doc["_id"], code, media_id, thumbnail=thumbnail)


@router.get(
    "/opinions/{tracking_code}/media/{media_id}",
    summary="Tải tệp đính kèm (ảnh đã mã hóa lại, hoặc PDF)",
    response_class=Response,
    responses=FILE_RESPONSES,
)
async def get_media_file(tracking_code: str, media_id: str, request: Request, caller: Reader) -> Response:
    return await _serve(request, tracking_code, media_id, caller, thumbnail=False)


@router.get(
    "/opinions/{tracking_code}/media/{media_id}/thumbnail",
    summary="Ảnh thu nhỏ (JPEG, tối đa 320 điểm ảnh mỗi chiều)",
    response_class=Response,
    responses=THUMBNAIL_RESPONSES,
)
async def get_media_thumbnail(tracking_code: str, media_id: str, request: Request, caller: Reader) -> Response:
    return await _serve(request, tracking_code, media_id, caller, thumbnail=True)


# ---- wiring ---------------------------------------------------------------------------------------------


class _Overflow(Exception):
    pass


class UploadBodyLimit(BodyLimitMiddleware):
    """The shared limit (64 KiB, buffered) for every body but multipart uploads of attachments: those stream
    through uncopied and are cut off once they pass what `max_files` files of `max_bytes` can take."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None, *, upload_bytes: int) -> None:
        super().__init__(app) if max_bytes is None else super().__init__(app, max_bytes)
        self.upload_bytes = upload_bytes

    def _upload_too_large(self, scope: Scope) -> Response:
        mib = self.upload_bytes / (1024 * 1024)
        err = ApiError(
            413,
            "upload_too_large",
            f"Tổng dung lượng tệp gửi lên quá lớn; tối đa {mib:.1f} MiB một lần.",
            f"The upload is too large; at most {mib:.1f} MiB at a time.",
        )
        return self._refuse(scope, err)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        is_upload = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and UPLOAD_PATHS.match(str(scope.get("path", "")))
            and headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"multipart/form-data"
        )
        if not is_upload:
            await super().__call__(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.upload_bytes:
            await self._upload_too_large(scope)(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.upload_bytes:
                    raise _Overflow
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _Overflow:
            if started:
                raise
            await self._upload_too_large(scope)(scope, receive, send)


def install(app: FastAPI, store: MediaStore) -> None:
    """Mount the routes, the store, and the larger streaming limit for uploads (in place of the shared one)."""
    app.state.media = store
    app.include_router(router)
    upload_bytes = store.max_files * store.max_bytes + FORM_OVERHEAD
    app.user_middleware[:] = [
        Middleware(UploadBodyLimit, upload_bytes=upload_bytes) if m.cls is BodyLimitMiddleware else m
        for m in app.user_middleware
    ]
