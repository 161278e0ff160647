"""Photos and documents attached to an opinion: checked by their content (never their name or declared type),
images re-encoded without EXIF (its GPS kept as a suggested location) with a thumbnail, stored in GridFS, and
photos sent up with an escalated opinion.

`check` is pure (bytes in, a `Checked` or a `MediaRefused` out); `MediaStore` keeps what passed, at most
`max_files` per opinion, each attachment a record in `media` and its bytes in the `media` GridFS bucket. Intake
keeps what was attached where the opinion was received; assignment keeps the photos a level below sent up.

When an opinion goes up (`went_up`), each of its photos follows as one `escalation.media_added.v1`, and so does
every photo stored after that (`send_pending`, called after each store): the message is written into the
photo's record with the mark that it was sent there, in one write, and published by the outbox (again after a
crash). Escalation marks the opinion before it lists the photos, and storing a photo stores it before it looks
for the mark, so whichever comes second sees the other: no photo is left behind, none is sent twice.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, Field
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.domain import Recorded, Story
from shared.events import PHOTO_UP_MAX_BYTES, EscalationMediaAddedV1
from shared.storage.outbox import OUTBOX, EventSource, Outbox

# A photo of a lane is a few megapixels; 40 MP covers any phone. Bigger declared dimensions are refused
# from the header, before a single pixel is decoded (a "zip bomb" PNG declares 50000×50000 in a few KiB).
MAX_PIXELS = 40_000_000
# Stored photos are re-encoded at most this wide or high: enough to read a sign, small enough to send up.
MAX_SIDE = 2560
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
PDF_TYPE = "application/pdf"
THUMBNAIL_TYPE = "image/jpeg"

# Names in a PDF that make it act (scripts, launching programs, files inside): an answer letter needs none.
_ACTIVE_PDF_NAMES = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia", b"XFA"}
_PDF_NAME = re.compile(rb"/([A-Za-z0-9#]{1,40})")
_PDF_HEADER = re.compile(rb"^%PDF-(1\.[0-7]|2\.0)\s")


class MediaLimits(BaseModel):
    """How many attachments an opinion may carry and how large each may be (`DOITHOAI_MEDIA_MAX_*`), for the
    services that keep them."""

    media_max_files: int = Field(default=5, ge=1, le=50, description="Photos and documents one opinion may carry.")
    media_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024, description="Largest photo or PDF, in bytes."
    )


class MediaRefused(Exception):
    """An upload that is not taken, with what a person can do about it (HTTP status, code, both languages)."""

    def __init__(self, status: int, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_vi, self.message_en = status, code, message_vi, message_en


@dataclass
class Checked:
    kind: str  # photo | document
    content_type: str
    data: bytes  # the re-encoded photo, or the PDF as sent
    thumbnail: bytes | None
    width: int | None = None
    height: int | None = None
    suggested_location: dict[str, float] | None = None  # from the photo's EXIF GPS, for staff to confirm


# ---- what a file is, by its first bytes ---------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The format the leading bytes declare: JPEG, PNG, WEBP, HEIF, PDF, EXECUTABLE, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
        return "HEIF"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith((b"\x7fELF", b"MZ", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")):
        return "EXECUTABLE"
    return None


def heif_supported() -> bool:
    """Pillow reads HEIC only with a plugin (pillow-heif) registered; without it HEIC is refused clearly."""
    Image.init()
    return "HEIF" in Image.OPEN


def check(data: bytes, *, max_bytes: int) -> Checked:
    """Accept a real JPEG, PNG or WebP photo (HEIC when Pillow can read it) or a PDF; anything else is refused."""
    if not data:
        raise MediaRefused(422, "empty_file", "Tệp rỗng, không có nội dung.", "The file is empty.")
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    kind = sniff(data[:32])
    if kind == "EXECUTABLE":
        raise MediaRefused(
            415,
            "executable_refused",
            "Tệp này là chương trình máy tính (dù tên tệp là gì), không nhận. Chỉ gửi ảnh JPEG, PNG, WebP hoặc PDF.",
            "This file is a program (whatever its name says) and is refused. Send JPEG, PNG, WebP photos or PDFs.",
        )
    if kind == "PDF":
        return _check_pdf(data)
    if kind == "HEIF" and not heif_supported():
        raise MediaRefused(
            415,
            "heic_unsupported",
            "Ảnh HEIC chưa đọc được ở đây; hãy chuyển sang JPEG (trên điện thoại: chọn định dạng tương thích nhất).",
            "HEIC photos cannot be read here; convert to JPEG (on the phone: choose the most compatible format).",
        )
    if kind not in PHOTO_TYPES:
        raise MediaRefused(
            415,
            "unsupported_file_type",
            "Nội dung tệp không phải ảnh JPEG, PNG, WebP hay văn bản PDF; chỉ nhận các loại này.",
            "The file's content is not a JPEG, PNG or WebP photo nor a PDF; only those are accepted.",
        )
    return _check_photo(data, kind)


def too_large(max_bytes: int) -> MediaRefused:
    mib = max_bytes / (1024 * 1024)
    return MediaRefused(
        413,
        "file_too_large",
        f"Tệp quá lớn; mỗi tệp tối đa {mib:.1f} MiB. Hãy chụp ở độ phân giải thấp hơn hoặc nén tệp.",
        f"The file is too large; each file may be at most {mib:.1f} MiB. Use a lower resolution or compress it.",
    )


def _not_an_image(kind: str) -> MediaRefused:
    return MediaRefused(
        422,
        "broken_image",
        f"Tệp mang dấu hiệu ảnh {kind} nhưng không đọc được như một ảnh (hỏng hoặc giả); hãy gửi lại ảnh gốc.",
        f"The file starts like a {kind} image but cannot be read as one (broken or forged); send the original photo.",
    )


def _too_many_pixels(width: int, height: int) -> MediaRefused:
    declared_vi = f"kích thước {width}×{height} điểm ảnh" if width else "kích thước quá lớn"
    declared_en = f"{width}×{height} pixels" if width else "too many pixels"
    return MediaRefused(
        422,
        "image_too_large",
        f"Ảnh khai báo {declared_vi}, vượt giới hạn {MAX_PIXELS:,} điểm ảnh; hãy thu nhỏ ảnh.",
        f"The image declares {declared_en}, over the limit of {MAX_PIXELS:,}; scale it down.",
    )


def _open(data: bytes, kind: str) -> Image.Image:
    """The image decoded by the one decoder its magic bytes name, refusing a bomb before decoding."""
    size = (0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data), formats=[kind])
            size = probe.size
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(width, height)
            probe.verify()  # the structure and checksums, without decoding the pixels
            image = Image.open(io.BytesIO(data), formats=[kind])  # verify() leaves the first unusable
            image.load()
        except MediaRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(*size) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _not_an_image(kind) from exc
    return image


def _check_photo(data: bytes, kind: str) -> Checked:
    image = _open(data, kind)
    suggested = gps_of(image)
    image = ImageOps.exif_transpose(image)  # keep the photo upright once its orientation tag is gone
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # A fresh image from the pixels alone: no EXIF, XMP, ICC or text chunk of the upload can come along.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if kind == "PNG":
        clean.save(out, "PNG", optimize=True)
        content_type = PHOTO_TYPES["PNG"]
    elif kind == "WEBP":
        clean.save(out, "WEBP", quality=JPEG_QUALITY)
        content_type = PHOTO_TYPES["WEBP"]
    else:  # JPEG, and HEIC made readable by JPEG everywhere
        clean.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type = PHOTO_TYPES["JPEG"]
    return Checked(
        kind="photo",
        content_type=content_type,
        data=out.getvalue(),
        thumbnail=thumbnail_of(clean),
        width=clean.width,
        height=clean.height,
        suggested_location=suggested,
    )


def thumbnail_of(image: Image.Image) -> bytes:
    return _jpeg(image, THUMBNAIL_SIDE, quality=80)


def _jpeg(image: Image.Image, side: int, *, quality: int) -> bytes:
    small = image.copy()
    small.thumbnail((side, side))
    if small.mode == "RGBA":  # transparent parts on white, as a page shows them
        flat = Image.new("RGB", small.size, (255, 255, 255))
        flat.paste(small, mask=small.getchannel("A"))
        small = flat
    out = io.BytesIO()
    small.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def fit_for_link(data: bytes, limit: int = PHOTO_UP_MAX_BYTES) -> bytes:
    """A stored photo as it is sent up: unchanged when it fits one link message (it is re-encoded already),
    otherwise a smaller JPEG that does."""
    if len(data) <= limit:
        return data
    image = Image.open(io.BytesIO(data))
    image.load()
    for side in (1920, 1280, 960, 640, THUMBNAIL_SIDE):
        smaller = _jpeg(image, side, quality=JPEG_QUALITY)
        if len(smaller) <= limit:
            break
    return smaller


def _degrees(value: Any) -> float:
    d, m, s = (float(x) for x in value)
    return d + m / 60 + s / 3600


def gps_of(image: Image.Image) -> dict[str, float] | None:
    """The EXIF GPS position as {lat, lon}, if the photo has a usable one (a suggestion: staff confirm it)."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        if not gps:
            return None
        lat = _degrees(gps[ExifTags.GPS.GPSLatitude])
        lon = _degrees(gps[ExifTags.GPS.GPSLongitude])
        if str(gps.get(ExifTags.GPS.GPSLatitudeRef, "N")).upper().startswith("S"):
            lat = -lat
        if str(gps.get(ExifTags.GPS.GPSLongitudeRef, "E")).upper().startswith("W"):
            lon = -lon
    except (KeyError, TypeError, ValueError, ZeroDivisionError, SyntaxError, OSError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


def _check_pdf(data: bytes) -> Checked:
    """A light structural check, no PDF library: the header, a cross-reference pointer and the end marker
    where a real PDF has them, some objects, and none of the names that make a PDF run something."""
    broken = MediaRefused(
        422,
        "broken_pdf",
        "Tệp bắt đầu như PDF nhưng không phải một văn bản PDF hoàn chỉnh; hãy xuất lại tệp PDF rồi gửi.",
        "The file starts like a PDF but is not a complete PDF document; export the PDF again and send it.",
    )
    tail = data[-2048:]
    if not _PDF_HEADER.match(data[:16]) or b"%%EOF" not in tail or b"startxref" not in tail or b" obj" not in data:
        raise broken
    names = {_unescape(m.group(1)) for m in _PDF_NAME.finditer(data)}
    if names & _ACTIVE_PDF_NAMES:
        raise MediaRefused(
            422,
            "active_pdf",
            "Tệp PDF có mã chạy được hoặc tệp đính kèm bên trong (JavaScript, Launch, EmbeddedFile); "
            "chỉ nhận văn bản PDF thông thường. Hãy in ra PDF (Print to PDF) rồi gửi lại.",
            "The PDF carries active content or embedded files (JavaScript, Launch, EmbeddedFile); only plain "
            "documents are accepted. Print it to PDF again and send that.",
        )
    return Checked(kind="document", content_type=PDF_TYPE, data=data, thumbnail=None)


def _unescape(name: bytes) -> bytes:
    """PDF names may spell letters as #xx (/J#61vaScript is /JavaScript)."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)


# ---- the store ------------------------------------------------------------------------------------------


class TooManyFiles(Exception):
    pass


@dataclass(frozen=True)
class Upward:
    """An opinion that went up from this instance: where to, and what every photo message about it says."""

    opinion_id: str
    tracking_code: str
    origin_instance: str
    from_instance: str
    to_instance: str
    correlation_id: str


# A photo sent to one instance keeps one event id however often it is queued: the receiver drops repeats.
_PHOTO_EVENTS = uuid.UUID("0b6c4a8e-51d2-4f7a-9c3e-2d8f1a6b7e90")


class MediaStore:
    """Attachments of opinions: a record each in `media` (what and whose), the bytes in the GridFS bucket
    `media` (the file and its thumbnail). The count limit holds under concurrent uploads: every record takes
    a numbered slot of its opinion, unique by index, and slots stop at `max_files`. With an outbox, it also
    sends photos up with escalated opinions (`went_up`, `send_pending`; `media_up` marks the opinions that went
    up)."""

    def __init__(
        self,
        db: AsyncDatabase,
        *,
        max_files: int,
        max_bytes: int,
        outbox: Outbox | None = None,
        events: EventSource | None = None,
    ) -> None:
        self._records = db["media"]
        self._upward = db["media_up"]
        self._bucket = AsyncGridFSBucket(db, bucket_name="media")
        self._outbox = outbox
        self._events = events
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._indexed = False

    async def create_indexes(self) -> None:
        """The slot index the count limit rests on, and the outbox relay's watch over the photos sent up; made
        once per process, at start (or before the first attachment)."""
        if not self._indexed:
            await self._records.create_index([("opinion_id", ASCENDING), ("slot", ASCENDING)], unique=True)
            if self._outbox is not None:
                await self._outbox.track(self._records)
            self._indexed = True

    async def count(self, opinion_id: str) -> int:
        return await self._records.count_documents({"opinion_id": opinion_id})

    async def add(
        self,
        opinion_id: str,
        checked: Checked,
        *,
        filename: str | None,
        purpose: str,
        by: dict[str, Any],
        at: datetime,
        media_id: str | None = None,
    ) -> dict[str, Any]:
        """Store one checked attachment; TooManyFiles (and nothing stored) once the opinion has `max_files`.
        With a `media_id` (a photo sent from below) it is stored once: again, the stored record is returned."""
        await self.create_indexes()
        if media_id is not None and (kept := await self._kept(opinion_id, media_id)) is not None:
            return kept
        media_id = media_id or uuid.uuid4().hex
        meta = {"opinion_id": opinion_id, "media_id": media_id}
        file_id = await self._bucket.upload_from_stream(
            media_id, checked.data, metadata={**meta, "variant": "file", "content_type": checked.content_type}
        )
        thumb_id = None
        if checked.thumbnail is not None:
            thumb_id = await self._bucket.upload_from_stream(
                f"{media_id}-thumbnail",
                checked.thumbnail,
                metadata={**meta, "variant": "thumbnail", "content_type": THUMBNAIL_TYPE},
            )
        record = {
            "_id": media_id,
            "opinion_id": opinion_id,
            "kind": checked.kind,
            "purpose": purpose,
            "content_type": checked.content_type,
            "size": len(checked.data),
            "width": checked.width,
            "height": checked.height,
            "filename": filename,
            "suggested_location": checked.suggested_location,
            "file_id": file_id,
            "thumbnail_id": thumb_id,
            "added_at": at,
            "added_by": by,
        }
        try:
            slot = await self.count(opinion_id)
            while slot < self.max_files:
                try:
                    await self._records.insert_one({**record, "slot": slot})
                    return record
                except DuplicateKeyError:
                    if (kept := await self._kept(opinion_id, media_id)) is not None:
                        await self._discard(file_id, thumb_id)  # the same photo, stored at the same moment
                        return kept
                    slot += 1  # another upload took this slot at the same moment
        except BaseException:
            await self._discard(file_id, thumb_id)
            raise
        await self._discard(file_id, thumb_id)
        raise TooManyFiles(opinion_id)

    async def _kept(self, opinion_id: str, media_id: str) -> dict[str, Any] | None:
        """The record stored under `media_id`; MediaRefused if that id belongs to another opinion's file."""
        kept = await self._records.find_one({"_id": media_id}, {OUTBOX: 0})
        if kept is not None and kept["opinion_id"] != opinion_id:
            raise MediaRefused(
                409,
                "media_id_taken",
                f"Mã tệp {media_id} đã thuộc một ý kiến khác; tệp này không được lưu.",
                f"Media id {media_id} belongs to another opinion; this file is not stored.",
            )
        return kept

    # ---- photos sent up with an escalated opinion ------------------------------------------------------------

    async def went_up(self, upward: Upward) -> int:
        """The opinion went up: mark it, then queue each of its photos for the level above (once each)."""
        await self._upward.update_one({"_id": upward.opinion_id}, {"$set": asdict(upward)}, upsert=True)
        return await self.send_pending(upward.opinion_id)

    async def send_pending(self, opinion_id: str) -> int:
        """Queue the opinion's photos not yet sent to where it went up, if it did; returns how many."""
        assert self._outbox is not None and self._events is not None, "a store that sends nothing up"
        mark = await self._upward.find_one({"_id": opinion_id}, {"_id": 0})
        if mark is None:
            return 0
        upward = Upward(**mark)
        to = upward.to_instance
        query = {"opinion_id": opinion_id, "kind": "photo", "sent_up": {"$ne": to}}
        sent = 0
        for record in await self._records.find(query, {OUTBOX: 0}).sort("slot", ASCENDING).to_list(None):
            photo = EscalationMediaAddedV1(
                from_instance=upward.from_instance,
                to_instance=to,
                opinion_id=opinion_id,
                tracking_code=upward.tracking_code,
                origin_instance=upward.origin_instance,
                media_id=record["_id"],
                data=base64.b64encode(fit_for_link(await self.read(record) or b"")),  # the field takes base64
                added_by=record["added_by"].get("source", "staff"),
                added_at=record["added_at"],
            )
            event_id = uuid.uuid5(_PHOTO_EVENTS, f"{record['_id']}>{to}")
            entries = self._events.entries([Recorded(photo, Story(upward.correlation_id), to=to, event_id=event_id)])
            result = await self._records.update_one(
                {"_id": record["_id"], "sent_up": {"$ne": to}},
                {"$addToSet": {"sent_up": to}, "$push": {OUTBOX: {"$each": entries}}},
            )
            if result.modified_count == 1:
                await self._outbox.flush(self._records, record["_id"], entries)
                sent += 1
        return sent

    async def _discard(self, *ids: Any) -> None:
        for file_id in ids:
            if file_id is not None:
                try:
                    await self._bucket.delete(file_id)
                except NoFile:
                    pass

    async def remove(self, record: dict[str, Any]) -> None:
        await self._records.delete_one({"_id": record["_id"], "opinion_id": record["opinion_id"]})
        await self._discard(record["file_id"], record["thumbnail_id"])

    async def list(self, opinion_id: str) -> list[dict[str, Any]]:
        cursor = self._records.find({"opinion_id": opinion_id}, {OUTBOX: 0})
        return await cursor.sort("slot", ASCENDING).to_list(None)

    async def lists(self, opinion_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Attachments of several opinions at once (Open311 lists), by opinion id."""
        found: dict[str, list[dict[str, Any]]] = {}
        cursor = self._records.find({"opinion_id": {"$in": opinion_ids}}, {OUTBOX: 0}).sort("slot", ASCENDING)
        async for record in cursor:
            found.setdefault(record["opinion_id"], []).append(record)
        return found

    async def record(self, opinion_id: str, media_id: str) -> dict[str, Any] | None:
        return await self._records.find_one({"_id": media_id, "opinion_id": opinion_id}, {OUTBOX: 0})

    async def read(self, record: dict[str, Any], *, thumbnail: bool = False) -> bytes | None:
        file_id = record["thumbnail_id"] if thumbnail else record["file_id"]
        if file_id is None:
            return None
        stream = await self._bucket.open_download_stream(file_id)
        return await stream.read()
