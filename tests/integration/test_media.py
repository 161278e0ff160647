"""Photos and documents of an opinion against the real intake (broker and SecantusDB with GridFS): real
images made with Pillow, re-encoding without EXIF, the GPS suggestion, thumbnails, PDFs, hostile uploads
(a renamed program, an oversized file, a decompression bomb, a forged image, an active PDF), the count
limit, who may upload and who may read, and Open311's media[] and media_url."""

from __future__ import annotations

import io
import json
import struct
import zlib
from datetime import timedelta

import pytest
from PIL import ExifTags, Image

from services.intake.app import create_app as intake_app
from shared.http import tokens
from shared.media import fit_for_link
from tests.conftest import agency_key
from tests.integration.harness import headers, running

FRONT = headers("front-key")
MAX_FILES = 3
MAX_BYTES = 300_000


@pytest.fixture
def keys() -> tuple[str, str]:
    return tokens.new_key_pair()


@pytest.fixture
async def intake(service_env, monkeypatch, keys):  # type: ignore[no-untyped-def]
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DOITHOAI_MEDIA_MAX_FILES", str(MAX_FILES))
    monkeypatch.setenv("DOITHOAI_MEDIA_MAX_BYTES", str(MAX_BYTES))
    monkeypatch.setenv("DOITHOAI_CONSOLE_PUBLIC_KEY", keys[1])
    app = intake_app()
    async with running(app) as (client,):
        client.app = app  # type: ignore[attr-defined]
        yield client


# ---- files made for the test -------------------------------------------------------------------------------


def jpeg_with_gps(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo as a phone takes it: EXIF with the camera and a GPS position (21°02'24"N 105°51'E, Hà Nội)."""
    image = Image.new("RGB", size, (40, 90, 160))
    image.paste((230, 230, 40), (100, 100, 600, 400))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "MayAnhThu"
    exif[ExifTags.Base.Model] = "So-hieu-may-12345"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (21.0, 2.0, 24.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (105.0, 51.0, 0.0),
        }
    )
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "nha so 5 ngo 12 - Nguyen Van A")
    out = io.BytesIO()
    Image.new("RGBA", (400, 300), (0, 128, 0, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(out, "PDF")
    return out.getvalue()


def png_bomb(side: int = 60_000) -> bytes:
    """A PNG that declares side×side pixels (3.6 billion) in a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\x00" * (1 + side // 8) * 64, 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x90" * 400
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120) + b"This program cannot be run in DOS mode.\r\n"


def noise_png(side: int) -> bytes:
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---- helpers -------------------------------------------------------------------------------------------------


async def submit(client, hdrs=FRONT) -> str:  # type: ignore[no-untyped-def]
    r = await client.post(
        "/api/v1/opinions", json={"text": "Ngõ 12 ngập sâu sau mưa", "channel": "online"}, headers=hdrs
    )
    assert r.status_code == 201, r.text
    return r.json()["tracking_code"]


async def upload(client, code, *files, hdrs=FRONT):  # type: ignore[no-untyped-def]
    return await client.post(f"/api/v1/opinions/{code}/media", files=[("file", f) for f in files], headers=hdrs)


async def stored_nothing(client) -> None:  # type: ignore[no-untyped-def]
    db = client.app.state.runtime.db
    assert await db["media"].count_documents({}) == 0
    assert await db["media.files"].count_documents({}) == 0
    assert await db["media.chunks"].count_documents({}) == 0


def refused(r, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error["message_vi"] and error["message_en"]
    assert error["details"][0]["field"] == "file"
    return error


# ---- photos and documents ---------------------------------------------------------------------------------


async def test_a_jpeg_is_stored_re_encoded_without_exif_with_its_gps_suggested_and_a_thumbnail(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    original = jpeg_with_gps()
    assert b"MayAnhThu" in original and Image.open(io.BytesIO(original)).getexif()

    r = await upload(intake, code, ("ngap.jpg", original, "image/jpeg"))
    assert r.status_code == 201, r.text
    [item] = r.json()
    assert item["kind"] == "photo" and item["content_type"] == "image/jpeg" and item["purpose"] == "evidence"
    assert item["suggested_location"] == {"lat": 21.04, "lon": 105.85}
    assert item["filename"] == "ngap.jpg" and item["added_by"] == "staff"

    r = await intake.get(item["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, no-store" and r.headers["x-content-type-options"] == "nosniff"
    stored = r.content
    assert stored != original and b"MayAnhThu" not in stored and b"Exif" not in stored
    photo = Image.open(io.BytesIO(stored))
    assert photo.format == "JPEG" and photo.size == (1600, 1200)
    assert not photo.getexif() and "exif" not in photo.info

    r = await intake.get(item["thumbnail_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(r.content))
    assert max(thumb.size) == 320 and not thumb.getexif()

    # The citizen (the holder of the code, no key) sees the photo but not the position read from it.
    r = await intake.get(f"/api/v1/opinions/{code}/media")
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    assert [m["media_id"] for m in r.json()] == [item["media_id"]]
    assert r.json()[0]["suggested_location"] is None
    r = await intake.get(f"/api/v1/opinions/{code}/media", headers=FRONT)
    assert r.json()[0]["suggested_location"] == {"lat": 21.04, "lon": 105.85}


async def test_a_png_keeps_its_transparency_but_not_its_text_chunks(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    r = await upload(intake, code, ("so-do.png", png_with_text(), "image/png"))
    assert r.status_code == 201, r.text
    [item] = r.json()
    assert item["content_type"] == "image/png" and item["suggested_location"] is None
    stored = (await intake.get(item["url"])).content
    image = Image.open(io.BytesIO(stored))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (400, 300)
    assert b"Nguyen Van A" not in stored and "Comment" not in image.info


async def test_an_agency_attaches_its_written_answer_as_a_pdf(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    db = intake.app.state.runtime.db
    await db["opinions"].update_one(
        {"tracking_code": code}, {"$set": {"agency": {"id": "phong-kinh-te", "name": "Phòng Kinh tế"}}}
    )
    document = pdf()
    r = await upload(intake, code, ("tra-loi.pdf", document, "application/pdf"), hdrs=headers("agency-key"))
    assert r.status_code == 201, r.text
    [item] = r.json()
    assert item["kind"] == "document" and item["purpose"] == "answer" and item["added_by"] == "agency"
    assert item["thumbnail_url"] is None
    r = await intake.get(item["url"])
    assert r.status_code == 200 and r.content == document and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in r.headers["content-security-policy"]

    # Another agency may not attach to what is not addressed to it.
    other = agency_key("van-hoa-xa-hoi")
    r = await upload(intake, code, ("x.pdf", document, "application/pdf"), hdrs=headers(other))
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_agency"


# ---- hostile uploads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "declared", "status", "code"),
    [
        ("anh-ngap.jpg", ELF, "image/jpeg", 415, "executable_refused"),
        ("bien-ban.pdf", EXE, "application/pdf", 415, "executable_refused"),
        ("anh.png", b"Day khong phai la anh, chi la chu.\n" * 20, "image/png", 415, "unsupported_file_type"),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, "image/png", 422, "broken_image"),
        ("bom.png", png_bomb(), "image/png", 422, "image_too_large"),
        ("bom2.png", png_bomb(8000), "image/png", 422, "image_too_large"),  # 64 MP: over ours, under Pillow's
        (
            "tra-loi.pdf",
            pdf().replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>"),
            "application/pdf",
            422,
            "active_pdf",
        ),
        ("tra-loi.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "application/pdf", 422, "broken_pdf"),
        ("rong.jpg", b"", "image/jpeg", 422, "empty_file"),
    ],
)
async def test_bad_uploads_are_refused_by_their_content_and_store_nothing(  # type: ignore[no-untyped-def]
    intake, name, content, declared, status, code
) -> None:
    opinion = await submit(intake)
    error = refused(await upload(intake, opinion, (name, content, declared)), status, code)
    assert name in error["details"][0]["message_vi"]
    await stored_nothing(intake)


async def test_one_bad_file_among_good_ones_stores_none_of_them(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    r = await upload(intake, code, ("a.jpg", jpeg_with_gps(), "image/jpeg"), ("b.jpg", ELF, "image/jpeg"))
    refused(r, 415, "executable_refused")
    await stored_nothing(intake)


async def test_a_file_over_the_size_limit_is_refused(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    big = noise_png(400)  # random pixels do not compress: about 480 KB
    assert len(big) > MAX_BYTES
    error = refused(await upload(intake, code, ("to.png", big, "image/png")), 413, "file_too_large")
    assert "MiB" in error["message_vi"]
    await stored_nothing(intake)


async def test_an_upload_over_the_total_limit_is_cut_off_while_it_streams(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    boundary = "ranh-gioi"
    sent = 0

    async def body():  # type: ignore[no-untyped-def]
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        for _ in range(1000):  # 64 MiB offered, no Content-Length
            sent += 65536
            yield b"\xff" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await intake.post(
        f"/api/v1/opinions/{code}/media",
        content=body(),
        headers={**FRONT, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large", r.text
    assert sent < 8 * 1024 * 1024  # stopped early: the limit is MAX_FILES × MAX_BYTES + 1 MiB
    await stored_nothing(intake)

    declared = {**FRONT, "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": "999999999"}
    r = await intake.post(f"/api/v1/opinions/{code}/media", content=b"x", headers=declared)
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"


async def test_no_more_than_the_configured_number_of_files(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    photo = ("a.jpg", jpeg_with_gps((300, 200)), "image/jpeg")
    r = await upload(intake, code, photo, photo, photo, photo)
    refused(r, 409, "too_many_files")
    await stored_nothing(intake)
    assert (await upload(intake, code, photo, photo)).status_code == 201
    assert (await upload(intake, code, photo)).status_code == 201
    error = refused(await upload(intake, code, photo), 409, "too_many_files")
    assert f"tối đa {MAX_FILES}" in error["message_vi"]
    assert len((await intake.get(f"/api/v1/opinions/{code}/media")).json()) == MAX_FILES


# ---- who may upload, who may read -------------------------------------------------------------------------


async def test_photos_of_an_opinion_reach_only_staff_and_the_holder_of_its_code(intake) -> None:  # type: ignore[no-untyped-def]
    code = await submit(intake)
    other = await submit(intake)
    [item] = (await upload(intake, code, ("a.jpg", jpeg_with_gps((300, 200)), "image/jpeg"))).json()
    media_id = item["media_id"]

    # Nobody without a key uploads; a head reads but does not upload.
    r = await upload(intake, code, ("a.jpg", jpeg_with_gps((300, 200)), "image/jpeg"), hdrs={})
    assert r.status_code == 401
    r = await upload(intake, code, ("a.jpg", jpeg_with_gps((300, 200)), "image/jpeg"), hdrs=headers("head-key"))
    assert r.status_code == 403

    # The media id alone opens nothing: not under another opinion's code, nor under a made-up one.
    for path in (
        f"/api/v1/opinions/{other}/media/{media_id}",
        f"/api/v1/opinions/{other}/media/{media_id}/thumbnail",
        f"/api/v1/opinions/YK-0000-0000/media/{media_id}",
        "/api/v1/opinions/YK-0000-0000/media",
    ):
        r = await intake.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/json"  # an error, never the picture
    assert (await intake.get(f"/api/v1/opinions/{other}/media")).json() == []
    # A wrong key is refused, not taken for a citizen.
    r = await intake.get(f"/api/v1/opinions/{code}/media/{media_id}", headers=headers("no-such-key"))
    assert r.status_code == 401
    # The Open311 listing of many requests, which shows no code, needs a key.
    r = await intake.get("/open311/v2/requests.json")
    assert r.status_code == 401 and media_id not in r.text


async def test_the_portal_attaches_photos_only_to_what_it_just_submitted(intake, keys) -> None:  # type: ignore[no-untyped-def]
    settings = intake.app.state.settings
    clock = intake.app.state.intake.clock
    person = tokens.Person(username="cong-dan", name="Cổng thông tin công dân", roles=("portal",))
    token = tokens.sign(person, private_key=keys[0], instance=settings.instance_id, now=clock.now())
    portal = {"Authorization": f"Bearer {token}"}
    photo = ("a.jpg", jpeg_with_gps((300, 200)), "image/jpeg")

    own = await submit(intake, portal)
    r = await upload(intake, own, photo, hdrs=portal)
    assert r.status_code == 201, r.text
    assert r.json()[0]["added_by"] == "citizen"

    entered_by_staff = await submit(intake)
    r = await upload(intake, entered_by_staff, photo, hdrs=portal)
    assert r.status_code == 403 and r.json()["error"]["code"] == "upload_closed"

    db = intake.app.state.runtime.db
    await db["opinions"].update_one(
        {"tracking_code": own}, {"$set": {"submitted_at": clock.now() - timedelta(hours=2)}}
    )
    r = await upload(intake, own, photo, hdrs=portal)
    assert r.status_code == 403 and r.json()["error"]["code"] == "upload_closed"


# ---- Open311 ---------------------------------------------------------------------------------------------------


async def test_open311_takes_media_and_shows_media_url(intake) -> None:  # type: ignore[no-untyped-def]
    form = {"api_key": "front-key", "service_code": "environment", "description": "Cầu tre gãy ở xóm 3"}
    r = await intake.post(
        "/open311/v2/requests.json", data=form, files=[("media[]", ("cau.jpg", jpeg_with_gps(), "image/jpeg"))]
    )
    assert r.status_code == 201, r.text
    code = r.json()[0]["service_request_id"]

    r = await intake.get(f"/open311/v2/requests/{code}.json")
    [request] = r.json()
    url = request["media_url"]
    assert url and url.startswith("http://testserver/api/v1/opinions/" + code + "/media/")
    photo = await intake.get(url)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert b"MayAnhThu" not in photo.content and not Image.open(io.BytesIO(photo.content)).getexif()

    r = await intake.get(f"/open311/v2/requests/{code}.xml")
    assert f"<media_url>{url}</media_url>" in r.text
    r = await intake.get("/open311/v2/requests.json", params={"api_key": "front-key"})
    assert {x["service_request_id"]: x["media_url"] for x in r.json()}[code] == url

    # Without a photo, no media_url.
    r = await intake.post("/open311/v2/requests.json", data=form)
    plain = r.json()[0]["service_request_id"]
    assert (await intake.get(f"/open311/v2/requests/{plain}.json")).json()[0]["media_url"] is None


async def test_open311_bad_media_refuses_the_whole_request_in_its_own_format(intake) -> None:  # type: ignore[no-untyped-def]
    form = {"api_key": "front-key", "service_code": "environment", "description": "Cầu tre gãy ở xóm 3"}
    r = await intake.post("/open311/v2/requests.json", data=form, files=[("media", ("cau.jpg", ELF, "image/jpeg"))])
    assert r.status_code == 415, r.text
    [error] = r.json()
    assert error["code"] == 415 and "cau.jpg" in error["description"] and "chương trình" in error["description"]
    r = await intake.post(
        "/open311/v2/requests.xml", data=form, files=[("media[]", ("b.png", png_bomb(), "image/png"))]
    )
    assert r.status_code == 422 and "<errors>" in r.text
    assert await intake.app.state.runtime.db["opinions"].count_documents({}) == 0
    await stored_nothing(intake)
    assert json.loads((await intake.get("/open311/v2/services.json")).text)  # the service still answers


def test_a_photo_too_large_for_one_link_message_goes_up_as_a_smaller_jpeg() -> None:
    small = jpeg_with_gps((300, 200))
    assert fit_for_link(small, limit=len(small)) == small  # re-encoded already: sent as it is
    big = noise_png(600)
    sent = fit_for_link(big, limit=200_000)
    assert len(big) > 200_000 >= len(sent)
    image = Image.open(io.BytesIO(sent))
    assert image.format == "JPEG" and max(image.size) <= 600


# ---- the agency's written answer as a PDF ---------------------------------------------------------------------


async def test_the_written_answer_names_the_agencys_pdf_and_the_citizen_opens_it(env) -> None:  # type: ignore[no-untyped-def]
    from services.assignment.app import create_app as assignment_app
    from tests.integration.harness import eventually

    agency = headers("agency-key")  # the ward's Phòng Kinh tế: environment is its field
    async with running(intake_app(), assignment_app()) as (intake, assignment):
        opinions = []
        for text in ("Rác thải ở ngõ 3 chưa được thu gom", "Rác thải ở ngõ 9 chưa được thu gom"):
            body = {"text": text, "channel": "online", "citizen": {"email": "dan@example.vn"}}
            r = await intake.post("/api/v1/opinions", json=body, headers=FRONT)
            opinions.append(r.json()["tracking_code"])
        code, other = opinions

        async def assigned(code: str):  # type: ignore[no-untyped-def]
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view if view["status"] == "assigned" else None

        for c in opinions:
            await eventually(lambda c=c: assigned(c), what=f"{c} assigned")
        document = pdf()
        r = await upload(intake, code, ("tra-loi-125.pdf", document, "application/pdf"), hdrs=agency)
        assert r.status_code == 201, r.text
        media_id = r.json()[0]["media_id"]
        [photo] = (await upload(intake, other, ("anh.jpg", jpeg_with_gps((300, 200)), "image/jpeg"))).json()

        url = f"/api/v1/opinions/{code}/answer"
        written = {"kind": "written", "text": "Đã bố trí xe thu gom hằng ngày.", "document_number": "125/UBND"}
        # Refused, and nothing changes: not a media id; a PDF with an answer given on the spot.
        r = await assignment.post(url, json={**written, "document_media_id": "../tra-loi.pdf"}, headers=agency)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"].endswith("document_media_id")
        spot = {"kind": "on_the_spot", "head": "committee_chair", "text": "x", "document_media_id": media_id}
        r = await assignment.post(url, json=spot, headers=FRONT)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "document_media_id"
        assert (await assignment.get(f"/api/v1/opinions/{code}", headers=agency)).json()["status"] == "assigned"

        r = await assignment.post(url, json={**written, "document_media_id": media_id}, headers=agency)
        assert r.status_code == 200, r.text
        assert r.json()["answer"]["document_media_id"] == media_id
        # Another opinion's answer naming a photo, not a PDF of its own: answered, the reference left out.
        r = await assignment.post(
            f"/api/v1/opinions/{other}/answer", json={**written, "document_media_id": photo["media_id"]}, headers=agency
        )
        assert r.status_code == 200, r.text

        async def closed(code: str):  # type: ignore[no-untyped-def]
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view if view["status"] == "closed" else None

        view = await eventually(lambda: closed(code), what="the answer at intake")
        assert view["answer"]["document_media_id"] == media_id
        got = await intake.get(f"/api/v1/opinions/{code}/media/{media_id}")  # the citizen, with the code
        assert got.status_code == 200 and got.content == document
        assert got.headers["content-disposition"].startswith("attachment")
        assert (await eventually(lambda: closed(other), what="the other answer"))["answer"]["document_media_id"] is None


async def test_an_agency_answers_with_its_pdf_in_the_console(env, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import re

    from services.assignment.app import create_app as assignment_app
    from services.console.accounts import Account
    from services.console.app import ConsoleSettings
    from services.console.app import create_app as console_app
    from services.notification.app import create_app as notification_app
    from services.scheduling.app import create_app as scheduling_app
    from tests.integration.harness import CONSOLE_URLS, eventually, in_process
    from tests.integration.test_console_core import PASSWORD, csrf, sign_in

    private, public = tokens.new_key_pair()
    (tmp_path / "console.pem").write_text(private)
    keys = {"DOITHOAI_CONSOLE_PUBLIC_KEY": public, "DOITHOAI_SIGNING_KEY_FILE": str(tmp_path / "console.pem")}
    for name, value in {**keys, **CONSOLE_URLS}.items():
        monkeypatch.setenv(name, value)
    services = {"intake": intake_app(), "assignment": assignment_app(), "scheduling": scheduling_app(),
                "notification": notification_app()}  # fmt: skip
    console = console_app(ConsoleSettings())
    in_process(console, services)
    async with running(*services.values(), console) as (intake, *_, client):
        await console.state.accounts.add(
            Account("phong-kinh-te", "Cán bộ Phòng Kinh tế", "Phòng Kinh tế", ["agency"], agency_id="phong-kinh-te"),
            PASSWORD,
            console.state.clock.now(),
        )
        r = await intake.post("/api/v1/opinions", json={"text": "Rác thải ở ngõ 3", "channel": "online"}, headers=FRONT)
        code = r.json()["tracking_code"]

        async def assigned():  # type: ignore[no-untyped-def]
            return (await intake.get(f"/api/v1/opinions/{code}")).json()["status"] == "assigned"

        await eventually(assigned, what="the opinion assigned")
        assert (await sign_in(client, "phong-kinh-te", PASSWORD)).status_code == 303
        page = (await client.get(f"/hop-thu/{code}")).text
        assert 'enctype="multipart/form-data"' in page and 'name="document"' in page
        form = {"csrf_token": csrf(page), "text": "Đã bố trí xe thu gom.", "document_number": "125/UBND"}

        # A file that is not a PDF: refused beside its field, nothing recorded or attached.
        r = await client.post(
            f"/hop-thu/{code}/tra-loi", data=form, files={"document": ("a.pdf", ELF, "application/pdf")}
        )
        assert r.status_code == 422 and "không phải văn bản PDF" in r.text
        assert (await intake.get(f"/api/v1/opinions/{code}/media", headers=FRONT)).json() == []
        assert await assigned()

        document = pdf()
        r = await client.post(
            f"/hop-thu/{code}/tra-loi", data=form, files={"document": ("tra-loi.pdf", document, "application/pdf")}
        )
        assert r.status_code == 303, r.text

        async def closed():  # type: ignore[no-untyped-def]
            r = await client.get(f"/theo-doi/{code}")
            return r.text if "Văn bản trả lời (PDF)" in r.text else None

        public_page = await eventually(closed, what="the answer with its PDF on the tracking page")
        link = re.search(rf'href="(/theo-doi/{code}/tep/[0-9a-f]{{32}})"', public_page).group(1)  # type: ignore[union-attr]
        got = await client.get(link)
        assert got.status_code == 200 and got.content == document
        assert got.headers["content-disposition"].startswith("attachment")
        assert link in (await client.get(f"/hop-thu/{code}")).text  # the agency's page links it too
