"""An opinion's attachments over HTTP, as every service that keeps some shows them: the listing's shape and the
file itself, never run as a page nor kept by a shared cache."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from shared.http.errors import ApiError
from shared.media import MediaStore

# Served files never run as a page, never leave the browser's private cache.
FILE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-site",
}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "application/pdf": {}}},
    404: {},
    429: {},
}
THUMBNAIL_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}}, 404: {}, 429: {}}


class MediaView(BaseModel):
    media_id: str
    kind: str = Field(description="photo (ảnh) hoặc document (văn bản PDF).")
    purpose: str = Field(description="evidence (ảnh, tài liệu kèm ý kiến) hoặc answer (văn bản trả lời của cơ quan).")
    content_type: str
    size: int = Field(description="Số byte của tệp đã lưu (ảnh đã mã hóa lại, không còn EXIF).")
    width: int | None
    height: int | None
    filename: str | None = Field(description="Tên tệp người gửi đặt, chỉ để hiển thị.")
    added_by: str = Field(description="citizen, staff hoặc agency.")
    added_at: AwareDatetime
    url: str
    thumbnail_url: str | None
    suggested_location: dict[str, float] | None = Field(
        description="Vị trí đọc từ GPS trong EXIF của ảnh (lat, lon), để cán bộ xác nhận; chỉ cán bộ thấy."
    )


def media_path(code: str, media_id: str, *, thumbnail: bool = False) -> str:
    return f"/api/v1/opinions/{code}/media/{media_id}" + ("/thumbnail" if thumbnail else "")


def media_view(record: dict[str, Any], code: str, base: str, *, staff: bool) -> MediaView:
    return MediaView(
        media_id=record["_id"],
        kind=record["kind"],
        purpose=record["purpose"],
        content_type=record["content_type"],
        size=record["size"],
        width=record.get("width"),
        height=record.get("height"),
        filename=record.get("filename"),
        added_by=record["added_by"].get("source", "staff"),
        added_at=record["added_at"],
        url=base + media_path(code, record["_id"]),
        thumbnail_url=base + media_path(code, record["_id"], thumbnail=True) if record.get("thumbnail_id") else None,
        suggested_location=record.get("suggested_location") if staff else None,
    )


def media_list(views: list[MediaView]) -> Response:
    """A listing, kept out of shared caches like the files."""
    body = "[" + ",".join(v.model_dump_json() for v in views) + "]"
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, no-store"})


async def file_response(store: MediaStore, opinion_id: str, code: str, media_id: str, *, thumbnail: bool) -> Response:
    """One attachment of the opinion (another opinion's media id is simply not found), or its thumbnail."""
    record = await store.record(opinion_id, media_id)
    data = await store.read(record, thumbnail=thumbnail) if record else None
    if record is None or data is None:
        raise ApiError(
            404,
            "media_not_found",
            f"Ý kiến {code} không có tệp đính kèm {media_id[:40]}" + (" có ảnh thu nhỏ." if thumbnail else "."),
            f"Opinion {code} has no attachment {media_id[:40]}" + (" with a thumbnail." if thumbnail else "."),
        )
    headers = dict(FILE_HEADERS)
    if record["kind"] == "document" and not thumbnail:
        headers["Content-Disposition"] = f'attachment; filename="{code}-{media_id[:8]}.pdf"'
    else:
        headers["Content-Disposition"] = "inline"
    return Response(data, media_type="image/jpeg" if thumbnail else record["content_type"], headers=headers)
