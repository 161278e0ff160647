"""The documents a ward office files from a conference, on the real broker and database: the form of Nghị
định 30/2020 (and of Hướng dẫn 36-HD/VPTW for the Party committee's notice) read back from the PDFs, the
DOCX opened with python-docx, the register's numbers (concurrent, no gaps, after a restart, the same on a
retry), documents that could not be made (visible, counted, retried, then made), the two inputs that once
left a concluded conference with no documents, and a 300-opinion conference.

A PNG of page 1 of each kind of document is left under var/documents/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import shutil
import subprocess
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document as open_docx
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect
from pypdf import PdfReader

from services.assignment.app import create_app as assignment_app
from services.assignment.documents import TEMPLATES, Documents
from services.intake.app import create_app as intake_app
from services.scheduling.app import create_app as scheduling_app
from shared.clock import VIETNAM, ManualClock
from tests.integration.harness import eventually, headers, running

FRONT, SECRETARY, OPERATOR = headers("front-key"), headers("secretary-key"), headers("operator-key")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 Monday 2 March 2026 in Vietnam
ROOT = Path(__file__).resolve().parents[2]
PNG = ROOT / "var" / "documents"
# The default ward directory's heads (shared/config/agencies/ward.yaml): they sign.
SECRETARY_OF_PARTY, COUNCIL_CHAIR, COMMITTEE_CHAIR = "Nguyễn Văn Thành", "Lê Thị Thu Hà", "Trần Quang Minh"


@pytest.fixture
def env(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_TIMER_POLL_S", "0.2")
    return env


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def pdf_text(pdf: bytes) -> tuple[str, int]:
    """The PDF's text (NFC, spaces collapsed) and its number of pages."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[ \t]+", " ", nfc(text)), len(reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def local(days: float, hour: int = 8) -> str:
    day = (T0 + timedelta(days=days)).astimezone(VIETNAM)
    return f"{day:%Y-%m-%d}T{hour:02d}:00:00"


def save_png(pdf: bytes, name: str) -> Path:
    """Page 1 as a PNG under var/documents/ (pdftoppm, from poppler-utils)."""
    PNG.mkdir(parents=True, exist_ok=True)
    source = PNG / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(PNG / name)], check=True, timeout=60)  # fmt: skip
    source.unlink()
    return PNG / f"{name}.png"


class Story:
    """One conference of the test ward, from the plan to the conclusion, through the services' APIs."""

    def __init__(self, intake: Any, assignment: Any, scheduling: Any, clock: ManualClock) -> None:
        self.intake, self.assignment, self.scheduling, self.clock = intake, assignment, scheduling, clock

    async def plan_and_open(self, **changes: Any) -> str:
        body = {
            "title": "Hội nghị đối thoại quý I năm 2026",
            "starts_at": local(1, 14),
            "venue": "Nhà văn hóa tổ dân phố số 5",
            "chairs": ["party_secretary", "council_chair", "committee_chair"],
            "secretary": "Nguyễn Thị Thư",
            "expected_attendance": 80,
            "participant_groups": ["Mặt trận Tổ quốc", "Trưởng tổ dân phố"],
            "topics": ["Trật tự đô thị", "Vệ sinh môi trường"],
            "invitees": [{"name": "Ông Trần Văn Tổ", "email": "totruong5@example.vn", "group": "Trưởng tổ dân phố"}],
            "urgent": True,
            "urgent_reason": "Ngập úng sau mưa lớn",
            **changes,
        }
        r = await self.scheduling.post("/api/v1/conferences", json=body, headers=FRONT)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        self.clock.set(T0 + timedelta(days=1, hours=6, minutes=5))  # 14:05 on the day
        assert (await self.scheduling.post(f"/api/v1/conferences/{cid}/open", headers=FRONT)).status_code == 200
        return cid

    async def raise_(self, cid: str, text: str, **extra: Any) -> str:
        body = {"text": text, "channel": "direct", "conference_id": cid, **extra}

        async def accepted() -> str | None:  # once intake has learnt of the opening
            r = await self.intake.post("/api/v1/opinions", json=body, headers=FRONT)
            return r.json()["tracking_code"] if r.status_code == 201 else None

        return await eventually(accepted, what="an opinion raised at the open conference")

    async def tabled(self, code: str) -> None:
        async def check() -> bool:
            r = await self.assignment.get(f"/api/v1/opinions/{code}", headers=OPERATOR)
            return r.status_code == 200 and r.json()["status"] == "tabled"

        await eventually(check, timeout=60, what=f"{code} on the agenda")

    async def close_and_conclude(self, cid: str) -> None:
        self.clock.set(T0 + timedelta(days=1, hours=9))  # 17:00
        closing = {"attendance": 96, "speakers": 14, "remarks": "Giao các cơ quan trả lời bằng văn bản đúng hạn."}
        r = await self.scheduling.post(f"/api/v1/conferences/{cid}/close", json=closing, headers=FRONT)
        assert r.status_code == 200, r.text
        assert (await self.scheduling.post(f"/api/v1/conferences/{cid}/conclude", headers=FRONT)).status_code == 200

    async def documents(self, cid: str, *, minimum: int, issued: bool = True, timeout: float = 60) -> list[dict]:  # type: ignore[type-arg]
        async def check() -> list | None:  # type: ignore[type-arg]
            docs = (await self.assignment.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)).json()
            done = [d for d in docs if d["status"] == "issued" or not issued]
            return docs if len(done) >= minimum and (not issued or len(done) == len(docs)) else None

        return await eventually(check, timeout=timeout, what=f"{minimum} documents of {cid}")

    async def pdf(self, document_id: str) -> bytes:
        r = await self.assignment.get(f"/api/v1/documents/{document_id}.pdf", headers=FRONT)
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        return r.content


def apps(clock: ManualClock) -> tuple[Any, Any, Any]:
    return intake_app(clock=clock), assignment_app(clock=clock), scheduling_app(clock=clock)


STATE_HEADER = (
    "ỦY BAN NHÂN DÂN",
    "PHƯỜNG THỬ NGHIỆM",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
)
SOFTWARE_WORDS = ("None", "committee_chair", "party_secretary", "front_collected", "on_the_spot", "district", "http")


async def test_a_concluded_conference_has_its_documents_in_the_official_form(env) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    built = apps(clock)
    async with running(*built) as (intake, assignment, scheduling):
        story = Story(intake, assignment, scheduling, clock)
        cid = await story.plan_and_open()
        # Papers before the conference: the plan, the announcement and the invitation, numbered when first issued.
        papers = {}
        for kind in ("plan", "announcement", "invitation"):
            r = await assignment.get(f"/api/v1/conferences/{cid}/{kind}", headers=FRONT)
            assert r.status_code == 200, r.text
            papers[kind] = r.json()
            again = (await assignment.get(f"/api/v1/conferences/{cid}/{kind}", headers=FRONT)).json()
            assert again["id"] == papers[kind]["id"] and again["number"] == papers[kind]["number"]  # issued once
        assert [p["number"] for p in papers.values()] == ["01/KH-UBND", "02/TB-UBND", "03/GM-UBND"]
        r = await assignment.get(f"/api/v1/conferences/{cid}/invitation", headers=headers("agency-key"))
        assert r.status_code == 403

        party = await story.raise_(cid, "Một số đảng viên chi bộ 5 không gương mẫu chấp hành quy định về nếp sống",
                                   field="party_building", head="party_secretary",
                                   location={"address": "Tổ dân phố số 5"})  # fmt: skip
        council = await story.raise_(cid, "Đề nghị HĐND phường giám sát việc thu phí trông giữ xe tại chợ",
                                     field="people_council", head="council_chair")  # fmt: skip
        lamp = await story.raise_(cid, "Đề nghị lắp đèn chiếu sáng ngõ 7", field="traffic", head="committee_chair")
        road = await story.raise_(cid, "Ngõ 12 đường hỏng, nhiều ổ gà, đề nghị sửa", field="traffic",
                                  head="committee_chair", location={"address": "Tổ dân phố số 3"})  # fmt: skip
        swim = await story.raise_(cid, "Đề nghị mở thêm lớp học bơi cho trẻ em dịp hè", field="culture",
                                  head="committee_chair")  # fmt: skip
        complaint = await story.raise_(cid, "Tôi làm đơn khiếu nại quyết định xử phạt hành chính của phường")
        for code in (party, council, lamp, road, swim, complaint):
            await story.tabled(code)
        r = await assignment.post(f"/api/v1/opinions/{lamp}/answer", headers=FRONT,
                                  json={"kind": "on_the_spot", "head": "committee_chair",
                                        "text": "UBND phường lắp đèn trong tháng 4."})  # fmt: skip
        assert r.status_code == 200, r.text
        assert (await assignment.post(f"/api/v1/opinions/{road}/promise", json={}, headers=FRONT)).status_code == 200
        r = await assignment.post(f"/api/v1/opinions/{swim}/promise", json={"off_topic": True}, headers=FRONT)
        assert r.status_code == 200
        r = await assignment.post(f"/api/v1/opinions/{complaint}/redirect", headers=FRONT,
                                  json={"kind": "complaint", "reason": "Khiếu nại quyết định hành chính"})  # fmt: skip
        assert r.status_code == 200
        # The secretary words the task the chair gave for the road; the others get the default wording.
        task = "Khảo sát, lập phương án sửa chữa mặt đường ngõ 12 và thi công trong quý II năm 2026"
        r = await assignment.put(
            f"/api/v1/conferences/{cid}/conclusions/{road}", json={"task": task}, headers=SECRETARY
        )
        assert r.status_code == 200, r.text
        r = await assignment.put(
            f"/api/v1/conferences/{cid}/conclusions/NOPE-1", json={"task": task}, headers=SECRETARY
        )
        assert r.status_code == 404
        await story.close_and_conclude(cid)

        # The three papers, the minutes, three notices (Party, HĐND, UBND), one extract per agency given a task.
        docs = await story.documents(cid, minimum=11)
        by_kind: dict[str, list[dict]] = {}  # type: ignore[type-arg]
        for d in docs:
            by_kind.setdefault(d["kind"], []).append(d)
        assert sorted(by_kind) == ["announcement", "conclusion", "conclusion_notice", "invitation", "minutes", "plan"]
        [minutes] = by_kind["minutes"]
        notices = {d["number"]: d for d in by_kind["conclusion"]}
        # One register per body and year: the People's Committee's documents share one sequence (NĐ 30), after
        # the three papers; the Party committee's notices have their own (HD 36), as has the council.
        assert minutes["number"] == "04/BB-UBND"
        assert sorted(notices) == ["01-TB/ĐU", "01/TB-HĐND", "05/TB-UBND"], sorted(notices)
        assert all(d["docx_url"] and d["pdf_url"] and d["html_url"] for d in docs)
        extracts = {d["agency"]: d for d in by_kind["conclusion_notice"]}
        assert len(extracts) == 4 and all(d["number"] is None for d in extracts.values())

        date_line = "Thử Nghiệm, ngày 03 tháng 3 năm 2026"  # concluded at 17:00 on 3 March
        # The minutes: the form and what a minutes records.
        text, pages = pdf_text(await story.pdf(minutes["id"]))
        one = flat(text)
        for needle in (*STATE_HEADER, "Số: 04/BB-UBND", date_line, "BIÊN BẢN", "Hội nghị đối thoại quý I năm 2026",
                       "Vào hồi 14 giờ 05 phút, thứ Ba, ngày 03 tháng 3 năm 2026", "Nhà văn hóa tổ dân phố số 5",
                       f"Đồng chí {SECRETARY_OF_PARTY}, Bí thư Đảng ủy phường",
                       f"Đồng chí {COUNCIL_CHAIR}, Chủ tịch Hội đồng nhân dân phường",
                       f"Đồng chí {COMMITTEE_CHAIR}, Chủ tịch Ủy ban nhân dân phường",
                       "Thư ký hội nghị: Nguyễn Thị Thư", "Số người dự kiến: 80; số người có mặt: 96",
                       "Số người phát biểu tại hội nghị: 14", "hội nghị nhận 5 ý kiến",
                       "trả lời trực tiếp tại hội nghị 1 ý kiến", "1 đơn khiếu nại, tố cáo",
                       "cử tri phát biểu tại hội nghị, Tổ dân phố số 3", "UBND phường lắp đèn trong tháng 4.",
                       "Nội dung ngoài chương trình hội nghị",
                       "Ý kiến thuộc trách nhiệm trả lời của Bí thư Đảng ủy phường",
                       "KẾT LUẬN CỦA CHỦ TRÌ HỘI NGHỊ", "Giao các cơ quan trả lời bằng văn bản đúng hạn.",
                       "Hội nghị kết thúc vào hồi 17 giờ 00 phút", "THƯ KÝ HỘI NGHỊ", "CHỦ TRÌ HỘI NGHỊ",
                       "Nơi nhận:", "Lưu: VT, hồ sơ hội nghị.", "PHỤ LỤC", "Mã tra cứu"):  # fmt: skip
            assert needle in one, (needle, one[:3000])
        for code in (party, council, lamp, road, swim):  # tracking codes: in the annex only
            assert code in one and one.index(code) > one.index("PHỤ LỤC"), code
        assert complaint not in one and cid not in one
        assert not [w for w in SOFTWARE_WORDS if re.search(rf"\b{w}\b", one)], one
        assert one.index("Ý kiến thuộc trách nhiệm trả lời của Bí thư") < one.index("của Chủ tịch Ủy ban nhân dân")
        assert pages >= 2
        save_png(await story.pdf(minutes["id"]), "bien-ban")

        # The People's Committee chair's notice: tasks per agency, deadlines, who reports to whom, recipients.
        text, _ = pdf_text(await story.pdf(notices["05/TB-UBND"]["id"]))
        one = flat(text)
        for needle in (*STATE_HEADER, "Số: 05/TB-UBND", date_line, "THÔNG BÁO",
                       "Kết luận của Chủ tịch Ủy ban nhân dân phường tại hội nghị đối thoại quý I năm 2026",
                       f"đồng chí {COMMITTEE_CHAIR}, Chủ tịch Ủy ban nhân dân phường kết luận như sau",
                       "Giao Phòng Kinh tế, Hạ tầng và Đô thị", "Giao Phòng Văn hóa - Xã hội", task,
                       "trả lời riêng bằng văn bản", "tại Biên bản hội nghị số 04/BB-UBND",
                       "báo cáo kết quả thực hiện bằng văn bản gửi người nêu ý kiến và Chủ tịch Ủy ban nhân dân phường",
                       "Thời hạn: trước ngày 02/04/2026", "Nơi nhận:", "- Phòng Kinh tế, Hạ tầng và Đô thị;",
                       "Lưu: VT, VP.", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", COMMITTEE_CHAIR):  # fmt: skip
            assert needle in one, (needle, one[:3000])
        assert lamp not in one.split("PHỤ LỤC")[0] and road in one.split("PHỤ LỤC")[1]
        assert not [w for w in SOFTWARE_WORDS if re.search(rf"\b{w}\b", one)], one
        save_png(await story.pdf(notices["05/TB-UBND"]["id"]), "thong-bao-ket-luan")

        # The Party secretary's conclusions: the Party's form (Hướng dẫn 36-HD/VPTW).
        text, _ = pdf_text(await story.pdf(notices["01-TB/ĐU"]["id"]))
        one = flat(text)
        for needle in ("ĐẢNG ỦY PHƯỜNG THỬ NGHIỆM", "ĐẢNG CỘNG SẢN VIỆT NAM", "Số 01-TB/ĐU", date_line, "THÔNG BÁO",
                       "Kết luận của đồng chí Bí thư Đảng ủy phường", "Giao Văn phòng Đảng ủy phường",
                       "T/M ĐẢNG ỦY", "BÍ THƯ", SECRETARY_OF_PARTY, "Lưu Văn phòng Đảng ủy."):  # fmt: skip
            assert needle in one, (needle, one[:3000])
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA" not in one and "ỦY BAN NHÂN DÂN" not in one.split("THÔNG BÁO")[0]
        save_png(await story.pdf(notices["01-TB/ĐU"]["id"]), "thong-bao-ket-luan-dang-uy")
        text, _ = pdf_text(await story.pdf(notices["01/TB-HĐND"]["id"]))
        assert "HỘI ĐỒNG NHÂN DÂN" in text and "TM. THƯỜNG TRỰC HĐND" in text and COUNCIL_CHAIR in text

        # An agency's extract: its tasks only, under the notice's number; the agency reads it, no other.
        extract = extracts["Phòng Kinh tế, Hạ tầng và Đô thị"]
        text, _ = pdf_text(await story.pdf(extract["id"]))
        one = flat(text)
        for needle in ("TRÍCH THÔNG BÁO", "Số: 05/TB-UBND", "Phần giao Phòng Kinh tế, Hạ tầng và Đô thị", task, road):
            assert needle in one, (needle, one)
        assert swim not in one and "lớp học bơi" not in one
        own = headers("agency-key-phong-kinh-te")
        assert (await assignment.get(f"/api/v1/documents/{extract['id']}.docx", headers=own)).status_code == 200
        other = headers("agency-key-van-hoa-xa-hoi")
        assert (await assignment.get(f"/api/v1/documents/{extract['id']}.docx", headers=other)).status_code == 403
        assert (await assignment.get(f"/api/v1/documents/{minutes['id']}.docx", headers=own)).status_code == 403
        save_png(await story.pdf(extract["id"]), "trich-thong-bao-ket-luan")

        # The papers, as PDFs.
        for kind, name, needles in (
            ("plan", "ke-hoach", ("KẾ HOẠCH", "Số: 01/KH-UBND", "Tổ chức hội nghị đối thoại quý I năm 2026",
                                  "MỤC ĐÍCH, YÊU CẦU", "TỔ CHỨC THỰC HIỆN", "TM. ỦY BAN NHÂN DÂN")),
            ("announcement", "thong-bao", ("THÔNG BÁO", "Số: 02/TB-UBND", "Về việc tổ chức hội nghị đối thoại",
                                           "Đài truyền thanh phường", "khiếu nại, tố cáo")),
            ("invitation", "giay-moi", ("GIẤY MỜI", "Số: 03/GM-UBND", "trân trọng kính mời",
                                        "Ông Trần Văn Tổ, Trưởng tổ dân phố",
                                        "14 giờ 00 phút, thứ Ba, ngày 03 tháng 3 năm 2026",
                                        "Như thành phần mời")),
        ):  # fmt: skip
            pdf = await story.pdf(papers[kind]["id"])
            one = flat(pdf_text(pdf)[0])
            for needle in (*STATE_HEADER, "Thử Nghiệm, ngày 03 tháng 3 năm 2026", *needles):
                assert needle in one, (kind, needle, one)
            assert "example.vn" not in one
            save_png(pdf, name)

        # DOCX, for editing before signing: the same document, A4, the decree's margins, Times New Roman.
        r = await assignment.get(f"/api/v1/documents/{minutes['id']}.docx", headers=FRONT)
        assert r.status_code == 200 and r.headers["content-type"].endswith("wordprocessingml.document")
        docx = open_docx(io.BytesIO(r.content))
        section = docx.sections[0]
        assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
        assert (round(section.top_margin.mm), round(section.left_margin.mm), round(section.right_margin.mm)) == (
            20, 30, 15,
        )  # fmt: skip
        assert docx.styles["Normal"].font.name == "Times New Roman" and docx.styles["Normal"].font.size.pt == 14
        left, right = (cell.text for cell in docx.tables[0].rows[0].cells)
        assert left.split("\n")[:2] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG THỬ NGHIỆM"] and "Số: 04/BB-UBND" in left
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right and date_line in right
        motto = next(p for p in docx.tables[0].rows[0].cells[1].paragraphs if "Độc lập" in p.text)
        assert all(run.bold and run.underline for run in motto.runs)
        paragraphs = [p.text for p in docx.paragraphs]
        assert "BIÊN BẢN" in paragraphs and "UBND phường lắp đèn trong tháng 4." in " ".join(paragraphs)
        signatures = " ".join(cell.text for table in docx.tables for row in table.rows for cell in row.cells)
        for needle in ("THƯ KÝ HỘI NGHỊ", "Nguyễn Thị Thư", SECRETARY_OF_PARTY, COUNCIL_CHAIR, COMMITTEE_CHAIR, road):
            assert needle in signatures or needle in " ".join(paragraphs), needle
        r = await assignment.get(f"/api/v1/documents/{notices['01-TB/ĐU']['id']}.docx", headers=FRONT)
        party_docx = open_docx(io.BytesIO(r.content))
        assert "ĐẢNG CỘNG SẢN VIỆT NAM" in party_docx.tables[0].rows[0].cells[1].text
        assert "T/M ĐẢNG ỦY" in " ".join(c.text for t in party_docx.tables for row in t.rows for c in row.cells)

        # A redelivered "concluded" and a retry take no new number and make nothing twice.
        parts = built[1].state.assignment
        register = (await assignment.get("/api/v1/document-register?year=2026", headers=FRONT)).json()
        assert [(r["series"], r["number"]) for r in register] == [
            ("HĐND", 1), ("UBND", 1), ("UBND", 2), ("UBND", 3), ("UBND", 4), ("UBND", 5), ("ĐU-TB", 1),
        ], register  # fmt: skip
        conference = await parts.desk.conference(cid)
        assert await parts.desk.conclude(conference) is True
        r = await assignment.post(f"/api/v1/conferences/{cid}/documents/retry", headers=SECRETARY)
        assert r.status_code == 200 and len(r.json()) == len(docs)
        assert (await assignment.get("/api/v1/document-register?year=2026", headers=FRONT)).json() == register
        assert len((await assignment.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)).json()) == len(docs)
        # The conclusions are issued: a task cannot be changed under them any more.
        r = await assignment.put(
            f"/api/v1/conferences/{cid}/conclusions/{road}", json={"task": task}, headers=SECRETARY
        )
        assert r.status_code == 409


async def test_the_register_numbers_without_gaps_or_duplicates_and_survives_a_restart(env) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    app = assignment_app(clock=clock)
    async with running(app) as (assignment,):
        repository = app.state.assignment.repository

        async def take(key: str) -> int:
            n, _ = await repository.reserve_number(
                "UBND", 2026, key, at=clock.now(), label=key, pattern="{n:02d}/TB-UBND"
            )
            return n

        keys = [f"doc-{i}" for i in range(24)]
        # Every key twice, all at once: each gets one number, the same both times.
        numbers = await asyncio.gather(*(take(k) for k in keys + keys))
        first, second = numbers[: len(keys)], numbers[len(keys) :]
        assert first == second
        assert sorted(first) == list(range(1, len(keys) + 1))  # no gap, no duplicate
        assert await take("doc-3") == first[3]
        other = await repository.reserve_number(
            "ĐU-TB", 2026, "party-1", at=clock.now(), label="x", pattern="{n:02d}-TB/ĐU"
        )
        assert other[0] == 1  # its own series
        assert (await repository.reserve_number("UBND", 2027, "next-year", at=clock.now(), label="x", pattern="x"))[
            0
        ] == 1
    app = assignment_app(clock=clock)  # a restart: a new process's state, the same database
    async with running(app) as (assignment,):
        repository = app.state.assignment.repository
        n, _ = await repository.reserve_number("UBND", 2026, "after-restart", at=clock.now(), label="x", pattern="x")
        assert n == len(keys) + 1
        n, _ = await repository.reserve_number("UBND", 2026, "doc-7", at=clock.now(), label="x", pattern="x")
        assert n == first[7]
        rows = (await assignment.get("/api/v1/document-register?year=2026", headers=FRONT)).json()
        ubnd = [r["number"] for r in rows if r["series"] == "UBND"]
        assert ubnd == list(range(1, len(keys) + 2))
        assert rows[0]["symbol"] == "01/TB-UBND"
        assert (await assignment.get("/api/v1/document-register", headers=headers("agency-key"))).status_code == 403


def broken_templates(folder: Path) -> Path:
    """A copy of the templates whose minutes cannot be rendered (as a bad deployment or a bug would)."""
    shutil.copytree(TEMPLATES, folder)
    (folder / "minutes.html.j2").write_text(
        '{% extends "_official.html.j2" %}{% block content %}{% if %}{% endblock %}'
    )
    return folder


def missing_gauge(kind: str, instance: str) -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "doithoai_documents_missing"
        for sample in metric.samples
        if sample.labels.get("kind") == kind and sample.labels.get("instance") == instance
    )


async def test_a_document_that_cannot_be_made_is_visible_counted_retried_and_made(env, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    built = apps(clock)
    parts = built[1].state.assignment
    parts.desk.retry_every_s = 0.3  # the automatic retry, quick for the test
    async with running(*built) as (intake, assignment, scheduling):
        story = Story(intake, assignment, scheduling, clock)
        working = parts.desk.documents
        parts.desk.documents = Documents(broken_templates(tmp_path / "templates"))
        cid = await story.plan_and_open()
        code = await story.raise_(cid, "Ngõ 12 đường hỏng, đề nghị sửa", field="traffic", head="committee_chair")
        await story.tabled(code)
        with caplog.at_level(logging.ERROR, logger="services.assignment.conferences"):
            await story.close_and_conclude(cid)

            async def minutes_missing() -> dict | None:  # type: ignore[type-arg]
                docs = (await assignment.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)).json()
                return next((d for d in docs if d["kind"] == "minutes" and d["status"] == "missing"), None)

            missing = await eventually(minutes_missing, what="the minutes shown as missing")
        assert missing["problem"].startswith("Biên bản hội nghị chưa lập được: TemplateSyntaxError")
        assert missing["pdf_url"] is None and missing["number"] is None
        assert any("could not be produced" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
        instance = env["DOITHOAI_INSTANCE_ID"]
        await eventually(lambda: _true(missing_gauge("minutes", instance) == 1), what="the missing minutes counted")

        # The notice and the extract were made (they cite the minutes' number, reserved already).
        async def made() -> list[str] | None:
            docs = (await assignment.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)).json()
            kinds = sorted(d["kind"] for d in docs if d["status"] == "issued")
            return kinds if kinds == ["conclusion", "conclusion_notice"] else None

        await eventually(made, what="the notice and the extract")
        # Only the secretary and the operator may ask for a retry; while broken it stays missing.
        assert (await assignment.post(f"/api/v1/conferences/{cid}/documents/retry", headers=FRONT)).status_code == 403
        r = await assignment.post(f"/api/v1/conferences/{cid}/documents/retry", headers=OPERATOR)
        assert r.status_code == 200 and [d["status"] for d in r.json() if d["kind"] == "minutes"] == ["missing"]

        # Fixed: the secretary's retry makes the minutes, with the number it was given.
        parts.desk.documents = working
        r = await assignment.post(f"/api/v1/conferences/{cid}/documents/retry", headers=SECRETARY)
        assert r.status_code == 200, r.text
        [minutes] = [d for d in r.json() if d["kind"] == "minutes"]
        assert minutes["status"] == "issued" and minutes["number"] == "01/BB-UBND" and minutes["problem"] is None
        assert missing_gauge("minutes", env["DOITHOAI_INSTANCE_ID"]) == 0
        text, _ = pdf_text(await story.pdf(minutes["id"]))
        assert "Số: 01/BB-UBND" in text

        # The automatic retry: broken again for a second conference, fixed, then the loop makes it.
        parts.desk.documents = Documents(broken_templates(tmp_path / "again"))
        clock.set(T0 + timedelta(days=3))
        r = await scheduling.post("/api/v1/conferences", headers=FRONT, json={
            "title": "Hội nghị đối thoại bổ sung", "starts_at": local(4, 9), "venue": "Nhà văn hóa tổ 3",
            "chairs": ["committee_chair"], "urgent": True, "urgent_reason": "Sự cố môi trường"})  # fmt: skip
        second = r.json()["id"]
        clock.set(T0 + timedelta(days=4, hours=1))
        assert (await scheduling.post(f"/api/v1/conferences/{second}/open", headers=FRONT)).status_code == 200
        await story.raise_(second, "Mùi hôi từ bãi rác tạm", field="environment", head="committee_chair")
        for move in ("close", "conclude"):
            assert (await scheduling.post(f"/api/v1/conferences/{second}/{move}", headers=FRONT)).status_code == 200
        await eventually(lambda: _has_missing(assignment, second), what="the second minutes missing")
        parts.desk.documents = working
        clock.set(T0 + timedelta(days=4, hours=2))  # later than the last attempt by more than retry_every_s
        docs = await story.documents(second, minimum=3, timeout=30)
        assert all(d["status"] == "issued" for d in docs)
        [minutes] = [d for d in docs if d["kind"] == "minutes"]
        assert minutes["number"] == "03/BB-UBND"  # after the first's 01/BB and 02/TB; reserved before it failed
        # Counted again once the pass that made them ends (just after the last document is stored).
        await eventually(lambda: _true(missing_gauge("minutes", instance) == 0), what="no minutes counted missing")


async def _true(value: bool) -> bool:
    return value


async def _has_missing(client: Any, cid: str) -> bool:
    docs = (await client.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)).json()
    return any(d["status"] == "missing" for d in docs)


async def test_a_passing_outage_while_making_documents_is_retried_by_the_consumer(env) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    built = apps(clock)
    parts = built[1].state.assignment
    render = parts.desk.documents.render_async
    calls = {"n": 0}

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise AutoReconnect("connection reset while storing")  # a database blip: transient
        return await render(*args, **kwargs)

    parts.desk.documents.render_async = flaky
    async with running(*built) as (intake, assignment, scheduling):
        story = Story(intake, assignment, scheduling, clock)
        cid = await story.plan_and_open(chairs=["committee_chair"])
        code = await story.raise_(cid, "Ngõ 12 đường hỏng, đề nghị sửa", field="traffic", head="committee_chair")
        await story.tabled(code)
        await story.close_and_conclude(cid)
        docs = await story.documents(cid, minimum=3)
        assert calls["n"] > 3 and all(d["status"] == "issued" for d in docs)
        assert [d["number"] for d in docs if d["kind"] == "minutes"] == ["01/BB-UBND"]


# A realistic long opinion, as a resident reads a prepared statement: 2,634 characters, the length that once
# left a conference without documents; and the longest intake accepts (5,000).
STATEMENT = (
    "Kính thưa các đồng chí lãnh đạo Đảng ủy, HĐND, UBND phường. Tôi là cử tri tổ dân phố số 7, xin trình bày ý "
    "kiến về tình trạng ngập úng kéo dài tại ngõ 12 và ngõ 14 phố Ngọc Lâm. "
    + " ".join(
        f"Lần thứ {i}, sau trận mưa lớn kéo dài hai tiếng, nước dâng cao khoảng 40 đến 50 xăng-ti-mét, tràn vào "
        "nhà của hơn 20 hộ dân, làm hỏng đồ đạc; hệ thống cống thoát nước xây từ năm 1998 đã xuống cấp."
        for i in range(1, 40)
    )
)
OPINION_2634 = STATEMENT[:2634].rsplit(" ", 1)[0].ljust(2634, ".")
OPINION_5000 = STATEMENT[:5000].rsplit(" ", 1)[0].ljust(5000, ".")


def in_order(needle: str, text: str) -> bool:
    words = re.sub(r"-\s*\n\s*", "-", text).split()
    remaining = iter(words)
    return all(any(w == seen for seen in remaining) for w in needle.split())


async def test_a_deadline_from_above_and_long_opinions_give_documents(env) -> None:  # type: ignore[no-untyped-def]
    """The two historical silent failures: a conference with `complete_by` (a date) and a 2,634-character
    opinion each left `documents: []`. Both, and a 5,000-character opinion, now give documents."""
    assert len(OPINION_2634) == 2634 and len(OPINION_5000) == 5000
    clock = ManualClock(T0)
    async with running(*apps(clock)) as (intake, assignment, scheduling):
        story = Story(intake, assignment, scheduling, clock)
        cid = await story.plan_and_open(chairs=["committee_chair"], complete_by="2026-03-31")
        codes = [
            await story.raise_(cid, OPINION_2634, field="environment", head="committee_chair"),
            await story.raise_(cid, OPINION_5000, field="social_policy", head="committee_chair"),
        ]
        for code in codes:
            await story.tabled(code)
        await story.close_and_conclude(cid)
        docs = await story.documents(cid, minimum=4)  # minutes, the UBND notice, two agencies' extracts
        assert sorted(d["kind"] for d in docs) == ["conclusion", "conclusion_notice", "conclusion_notice", "minutes"]
        minutes = next(d for d in docs if d["kind"] == "minutes")
        text, pages = pdf_text(await story.pdf(minutes["id"]))
        assert in_order(nfc(OPINION_2634), text) and in_order(nfc(OPINION_5000), text)
        assert pages >= 3
        notice = next(d for d in docs if d["kind"] == "conclusion")
        text, _ = pdf_text(await story.pdf(notice["id"]))
        assert in_order(nfc(OPINION_5000), text)
        plan = (await assignment.get(f"/api/v1/conferences/{cid}/plan", headers=FRONT)).json()
        text, _ = pdf_text(await story.pdf(plan["id"]))
        assert "trước ngày 31/03/2026" in flat(text)  # the deadline from above, on the plan


async def test_a_conference_of_300_opinions_flows_across_many_pages(env) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    async with running(*apps(clock)) as (intake, assignment, scheduling):
        story = Story(intake, assignment, scheduling, clock)
        cid = await story.plan_and_open(chairs=["party_secretary", "committee_chair"])
        fields = [("traffic", "committee_chair"), ("environment", "committee_chair"),
                  ("party_building", "party_secretary"), ("social_policy", "committee_chair")]  # fmt: skip
        await story.raise_(cid, "Ý kiến số 0 về giao thông", field="traffic", head="committee_chair")

        async def one(i: int) -> str:
            field, head = fields[i % len(fields)]
            body = {"text": f"Ý kiến thứ {i} của cử tri về {field}: đề nghị phường quan tâm giải quyết dứt điểm.",
                    "channel": "direct", "conference_id": cid, "field": field, "head": head}  # fmt: skip
            r = await intake.post("/api/v1/opinions", json=body, headers=FRONT)
            assert r.status_code == 201, r.text
            return r.json()["tracking_code"]

        codes = []
        for start in range(1, 300, 20):
            codes += await asyncio.gather(*(one(i) for i in range(start, min(start + 20, 300))))

        async def all_tabled() -> bool:
            query = {"status": "tabled", "conference_id": cid, "per_page": 1}
            r = await assignment.get("/api/v1/opinions", params=query, headers=OPERATOR)
            return r.status_code == 200 and r.json()["total"] == 300

        await eventually(all_tabled, timeout=180, what="300 opinions on the agenda")
        await story.close_and_conclude(cid)
        docs = await story.documents(cid, minimum=4, timeout=240)
        minutes = next(d for d in docs if d["kind"] == "minutes")
        text, pages = pdf_text(await story.pdf(minutes["id"]))
        assert pages >= 20, pages
        assert "hội nghị nhận 300 ý kiến" in flat(text)
        assert all(code in text for code in codes)  # every one, in the annex
        assert "Ý kiến thứ 299 của cử tri" in flat(text)
        for d in docs:
            assert d["status"] == "issued"
            r = await assignment.get(f"/api/v1/documents/{d['id']}.docx", headers=FRONT)
            assert r.status_code == 200 and len(open_docx(io.BytesIO(r.content)).paragraphs) > 10
