"""Pages for citizens (no account): send an opinion (with photos), follow it by its code, say whether the
answer satisfies, see the year's plan of conferences."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from services.console.backend import PORTAL, ServiceError
from services.console.web import address, check_csrf, redirect, render
from shared.clock import VIETNAM
from shared.events import FIELDS
from shared.http import tokens

router = APIRouter()
CODE = re.compile(r"^[A-Z]{2}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
MEDIA_ID = re.compile(r"^[0-9a-f]{32}$")
# The console reads a chosen photo into memory to pass it on; intake applies the real limits (count, size,
# content). This only keeps a huge file from filling the console's memory.
MAX_PHOTO_BYTES = 25 * 1024 * 1024
MAX_PHOTOS = 10


def _limited(request: Request) -> bool:
    return request.app.state.public_limiter.wait(address(request) or "") > 0


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return render(request, "home.html.j2", title="Trang chủ")


def _citizen(request: Request) -> tokens.Person:
    return tokens.Person(username=PORTAL.username, name=PORTAL.name, roles=PORTAL.roles, address=address(request))


@router.get("/gui-y-kien", response_class=HTMLResponse)
async def submit_form(request: Request) -> Response:
    return render(
        request, "submit.html.j2", title="Gửi ý kiến, kiến nghị", form={}, errors={}, phieu=secrets.token_urlsafe(16)
    )


@router.post("/gui-y-kien", response_class=HTMLResponse)
async def submit(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    phieu: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form()] = "",
    field: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    consent: Annotated[str, Form()] = "",
    anh: Annotated[list[UploadFile] | None, File(description="Ảnh hoặc văn bản PDF kèm theo.")] = None,
) -> Response:
    check_csrf(request, csrf_token)
    chosen = [f for f in anh or [] if f.filename]  # a browser sends an empty part when nothing is chosen
    form = {
        "text": text,
        "field": field,
        "name": name,
        "email": email,
        "phone": phone,
        "place": place,
        "consent": consent,
    }
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = "Hãy viết nội dung ý kiến, kiến nghị."
    elif len(text) > 5000:
        errors["text"] = f"Nội dung dài tối đa 5.000 ký tự (đang có {len(text)})."
    if field and field not in FIELDS:
        errors["field"] = "Chọn một lĩnh vực trong danh sách, hoặc để trống."
    if (email or phone) and not consent:
        errors["consent"] = "Đánh dấu đồng ý để cơ quan được liên hệ với bạn qua email hoặc điện thoại đã ghi."
    photos = await _read_photos(chosen, errors)
    if not errors and _limited(request):
        errors["text"] = "Bạn đã gửi quá nhiều lần trong một phút; vui lòng đợi một lát rồi gửi lại."
    if errors:
        return render(
            request, "submit.html.j2", 422, title="Gửi ý kiến, kiến nghị", form=form, errors=errors, phieu=phieu
        )
    body: dict[str, Any] = {"text": text.strip(), "channel": "online"}
    if field:
        body["field"] = field
    citizen = {k: v.strip() for k, v in (("name", name), ("email", email), ("phone", phone)) if v.strip()}
    if citizen:
        body["citizen"] = citizen
    if place.strip():
        body["location"] = {"address": place.strip()}
    try:
        accepted = await request.app.state.backend.post(
            "intake",
            "/api/v1/opinions",
            body,
            person=_citizen(request),
            headers={"Idempotency-Key": f"cong-dan:{phieu}"} if phieu else None,  # a second click: the same opinion
        )
    except ServiceError as exc:
        fields = {k.split(".")[-1].replace("address", "place"): v for k, v in exc.for_field().items()}
        errors = fields or {"text": exc.message_vi}
        return render(
            request, "submit.html.j2", 422, title="Gửi ý kiến, kiến nghị", form=form, errors=errors, phieu=phieu
        )
    code = accepted["tracking_code"]
    if photos:
        try:
            await request.app.state.backend.upload_media(code, photos, person=_citizen(request))
        except ServiceError as exc:
            # The opinion is in (the same one again if the form is sent again: the same phieu); the photos are not.
            errors = {
                "anh": f"{exc.message_vi} Ý kiến của bạn đã được tiếp nhận (mã theo dõi {code}) nhưng chưa kèm ảnh: "
                "chọn lại ảnh đúng loại rồi bấm Gửi ý kiến, hoặc bỏ chọn ảnh."
            }
            return render(
                request, "submit.html.j2", 422, title="Gửi ý kiến, kiến nghị", form=form, errors=errors, phieu=phieu
            )
    return render(request, "submitted.html.j2", title="Đã gửi ý kiến", code=code, email=email)


async def _read_photos(chosen: list[UploadFile], errors: dict[str, str]) -> list[tuple[str, bytes, str]]:
    if len(chosen) > MAX_PHOTOS:
        errors["anh"] = f"Chọn tối đa {MAX_PHOTOS} tệp."
        return []
    photos = []
    for upload in chosen:
        if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
            errors["anh"] = f"Tệp {upload.filename} quá lớn; hãy chọn ảnh nhỏ hơn."
            return []
        photos.append(
            (upload.filename or "anh", await upload.read(), upload.content_type or "application/octet-stream")
        )
    return photos


@router.get("/theo-doi", response_class=HTMLResponse)
async def track_form(request: Request, ma: str = "") -> Response:
    code = ma.strip().upper().replace(" ", "")
    if code:
        return redirect(f"/theo-doi/{code}")
    return render(request, "track_form.html.j2", title="Tra cứu ý kiến", code="", error=None)


@router.get("/theo-doi/{code}", response_class=HTMLResponse)
async def track(request: Request, code: str) -> Response:
    code = code.strip().upper()
    if not CODE.match(code):
        return render(
            request, "track_form.html.j2", 404, title="Tra cứu ý kiến", code=code,
            error="Mã theo dõi có dạng YK-XXXX-XXXX (chữ và số); kiểm tra lại mã trong thư hoặc giấy biên nhận.",
        )  # fmt: skip
    if _limited(request):
        return render(
            request, "track_form.html.j2", 429, title="Tra cứu ý kiến", code=code,
            error="Bạn đã tra cứu quá nhiều lần trong một phút; vui lòng đợi một lát.",
        )  # fmt: skip
    try:
        opinion = await request.app.state.backend.get(
            "intake", f"/api/v1/opinions/{code}", person=None, forwarded_for=address(request)
        )
    except ServiceError as exc:
        if exc.status != 404:
            raise
        return render(
            request, "track_form.html.j2", 404, title="Tra cứu ý kiến", code=code,
            error=f"Không tìm thấy ý kiến mang mã {code}. Kiểm tra lại mã (dạng YK-XXXX-XXXX).",
        )  # fmt: skip
    media = await _media(request, code)
    return render(request, "track.html.j2", title=f"Ý kiến {code}", opinion=opinion, media=media, errors={}, form={})


async def _media(request: Request, code: str) -> list[dict[str, Any]]:
    try:
        return await request.app.state.backend.media(code, person=None, forwarded_for=address(request))
    except ServiceError:
        return []


@router.get("/theo-doi/{code}/tep/{media_id}")
async def media_file(request: Request, code: str, media_id: str) -> Response:
    return await media_response(request, code, media_id, thumbnail=False)


@router.get("/theo-doi/{code}/tep/{media_id}/anh-nho")
async def media_thumbnail(request: Request, code: str, media_id: str) -> Response:
    return await media_response(request, code, media_id, thumbnail=True)


async def media_response(
    request: Request,
    code: str,
    media_id: str,
    *,
    thumbnail: bool,
    person: tokens.Person | None = None,
    service: str = "intake",
) -> Response:
    """An attachment passed on to the holder of the code (from intake), or to a person signed in (from the service
    that keeps it); never kept by a shared cache."""
    code = code.strip().upper()
    if not CODE.match(code) or not MEDIA_ID.match(media_id):
        return Response("Không tìm thấy tệp.", status_code=404, media_type="text/plain; charset=utf-8")
    try:
        data, content_type, disposition = await request.app.state.backend.media_file(
            code, media_id, thumbnail=thumbnail, person=person, forwarded_for=address(request), service=service
        )
    except ServiceError as exc:
        return Response(exc.message_vi, status_code=exc.status, media_type="text/plain; charset=utf-8")
    headers = {
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
    }
    if disposition:
        headers["Content-Disposition"] = disposition
    return Response(data, media_type=content_type, headers=headers)


@router.post("/theo-doi/{code}/danh-gia", response_class=HTMLResponse)
async def feedback(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    satisfied: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    backend = request.app.state.backend
    errors: dict[str, str] = {}
    if satisfied not in ("co", "khong"):
        errors["satisfied"] = "Chọn hài lòng hoặc chưa hài lòng."
    elif satisfied == "khong" and not reason.strip():
        errors["reason"] = "Hãy cho biết vì sao chưa hài lòng, để Mặt trận xem xét lại."
    if not errors:
        try:
            await backend.call(
                "intake",
                "POST",
                f"/api/v1/opinions/{code}/feedback",
                person=None,
                json={"satisfied": satisfied == "co", "reason": reason.strip() or None},
                headers={"X-Forwarded-For": address(request) or ""},
            )
            return redirect(f"/theo-doi/{code}?da-gui=1")
        except ServiceError as exc:
            errors = {"satisfied": exc.message_vi}
    opinion = await backend.get("intake", f"/api/v1/opinions/{code}", person=None)
    form = {"satisfied": satisfied, "reason": reason}
    media = await _media(request, code)
    return render(
        request, "track.html.j2", 422, title=f"Ý kiến {code}", opinion=opinion, media=media, errors=errors, form=form
    )


@router.get("/ke-hoach", response_class=HTMLResponse)
async def plan(request: Request, nam: int | None = None) -> Response:
    year = nam if nam and 2000 <= nam <= 2199 else datetime.now(VIETNAM).year
    conferences = await request.app.state.backend.get(
        "scheduling", "/api/v1/conferences", person=None, year=year, forwarded_for=address(request)
    )
    return render(
        request, "plan.html.j2", title=f"Kế hoạch hội nghị đối thoại năm {year}", year=year, items=conferences
    )
