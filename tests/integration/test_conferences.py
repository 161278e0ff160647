"""A dialogue conference from the plan to the last written answer, through the four services on the real
broker, database and SMTP server, with a clock the test moves."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from shared.clock import VIETNAM, ManualClock
from tests.integration.harness import eventually, headers, running

FRONT, OPERATOR, AGENCY = headers("front-key"), headers("operator-key"), headers("agency-key")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 Monday 2 March 2026 in Vietnam


@pytest.fixture
def env(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_TIMER_POLL_S", "0.2")
    monkeypatch.setenv("DOITHOAI_DELIVERY_POLL_S", "0.2")
    return env


def local(days: int, hour: int = 8) -> str:
    """A date `days` after T0, at `hour`, written as people enter it (Vietnam time, no offset)."""
    day = (T0 + timedelta(days=days)).astimezone(VIETNAM)
    return f"{day:%Y-%m-%d}T{hour:02d}:00:00"


def plan(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "Hội nghị đối thoại quý I năm 2026",
        "starts_at": local(10),
        "venue": "Nhà văn hóa tổ dân phố số 5",
        "chairs": ["party_secretary", "committee_chair"],
        "secretary": "Nguyễn Thị Thư",
        "expected_attendance": 80,
        "participant_groups": ["Mặt trận Tổ quốc", "Trưởng tổ dân phố"],
        "topics": ["Trật tự đô thị", "Vệ sinh môi trường"],
        "invitees": [
            {"name": "Ông Trần Văn Tổ", "email": "totruong5@example.vn", "group": "Trưởng tổ dân phố"},
            {"name": "Bà Lê Mặt Trận", "email": "mttq@example.vn", "group": "Mặt trận Tổ quốc"},
        ],
    }
    return {**body, **changes}


async def test_plan_rules_are_enforced_with_clear_errors(env) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    async with running(scheduling_app(clock=clock)) as (client,):
        cases = [
            (plan(starts_at=local(-1)), "conference_in_the_past", "quá khứ"),
            (plan(starts_at=local(2)), "notice_too_short", "chậm nhất 08:00 ngày 01/03/2026; thời điểm đó đã qua. "
                                                           "Có thể họp sớm nhất vào 08:00 ngày 05/03/2026"),
            (plan(starts_at=local(1), urgent=True), "urgent_without_reason", "urgent_reason"),
            (plan(complete_by="2026-03-05"), "after_deadline", "05/03/2026"),
        ]  # fmt: skip
        for body, code, needle in cases:
            r = await client.post("/api/v1/conferences", json=body, headers=FRONT)
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == code and (needle in error["message_en"] or needle in error["message_vi"]), error
        for missing in ({"venue": ""}, {"chairs": []}):
            r = await client.post("/api/v1/conferences", json=plan(**missing), headers=FRONT)
            assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] in ("venue", "chairs")
        r = await client.post("/api/v1/conferences", json=plan(), headers=AGENCY)
        assert r.status_code == 403
        assert (await client.get("/api/v1/conferences?year=2026")).json() == []

        r = await client.post("/api/v1/conferences", json=plan(starts_at=local(1), urgent=True,
                                                                urgent_reason="Sự cố ngập úng cần đối thoại ngay"),
                              headers=FRONT)  # fmt: skip
        assert r.status_code == 201 and r.json()["status"] == "announced"  # urgent: announced at once
        r = await client.post("/api/v1/conferences", json=plan(), headers=FRONT)
        conference = r.json()
        assert conference["status"] == "planned" and conference["starts_at_local"] == "08:00 ngày 12/03/2026"
        cid = conference["id"]
        r = await client.post(f"/api/v1/conferences/{cid}/open", headers=FRONT)
        assert r.status_code == 409 and "Đã lên kế hoạch" in r.json()["error"]["message_vi"]
        assert "planned" in r.json()["error"]["message_en"]
        r = await client.post(f"/api/v1/conferences/{cid}/cancel", headers=FRONT)
        assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
        r = await client.post(
            f"/api/v1/conferences/{cid}/postpone", json={"reason": "Trùng lịch bầu cử"}, headers=FRONT
        )
        assert r.json()["status"] == "postponed"
        r = await client.post(f"/api/v1/conferences/{cid}/reschedule",
                              json={"reason": "Lịch mới", "starts_at": local(20)}, headers=FRONT)  # fmt: skip
        assert r.json()["status"] == "planned" and r.json()["starts_at_local"] == "08:00 ngày 22/03/2026"
        year = (await client.get("/api/v1/conferences?year=2026")).json()
        assert [c["status"] for c in year] == ["announced", "planned"]


async def test_a_conference_from_plan_to_the_last_written_answer(env, smtp) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    mail = smtp.mail
    apps = (
        intake_app(clock=clock),
        assignment_app(clock=clock),
        scheduling_app(clock=clock),
        notification_app(clock=clock),
    )
    async with running(*apps) as (intake, assignment, scheduling, notification):

        def mails(needle: str) -> list:  # type: ignore[type-arg]
            return [m for m in mail.messages() if needle in m["Subject"]]

        async def arrive(needle: str, count: int = 1):  # type: ignore[no-untyped-def]
            async def check():  # type: ignore[no-untyped-def]
                found = mails(needle)
                return found if len(found) >= count else None

            return await eventually(check, what=f"{count} mail(s) '{needle}'")

        async def status(code: str) -> dict:  # type: ignore[type-arg]
            return (await intake.get(f"/api/v1/opinions/{code}")).json()

        async def stage(code: str, wanted: str) -> bool:
            return (await status(code))["status"] == wanted

        async def assigned(code: str) -> dict:  # type: ignore[type-arg]
            async def check():  # type: ignore[no-untyped-def]
                r = await assignment.get(f"/api/v1/opinions/{code}", headers=OPERATOR)
                return r.json() if r.status_code == 200 else None

            return await eventually(check, what=f"{code} assigned")

        async def submit(text: str, channel: str, cid: str, **extra) -> str:  # type: ignore[no-untyped-def]
            r = await intake.post("/api/v1/opinions", json={"text": text, "channel": channel, "conference_id": cid,
                                                             **extra}, headers=FRONT)  # fmt: skip
            assert r.status_code == 201, r.text
            return r.json()["tracking_code"]

        # Plan: 10 days ahead; the announcement is due 3 days before.
        conference = (await scheduling.post("/api/v1/conferences", json=plan(), headers=FRONT)).json()
        cid = conference["id"]
        assert conference["announce_at"].startswith("2026-03-09")

        async def intake_knows(status: str) -> bool:
            doc = await apps[0].state.intake.repository.conference(cid)
            return doc is not None and doc["status"] == status

        await eventually(lambda: intake_knows("planned"), what="intake to know the conference")

        # Collect before: the Front's opinions, classified by field and head.
        collected = [
            await submit("Một số đảng viên chi bộ 5 không gương mẫu chấp hành quy định", "front_collected", cid),
            await submit(
                "Ngõ 12 đường hỏng, nhiều ổ gà, đề nghị sửa",
                "front_collected",
                cid,
                citizen={"name": "Ông Hùng", "email": "hung@example.vn"},
            ),  # fmt: skip
            await submit("Rác thải tồn đọng ở chợ tạm", "front_collected", cid),
        ]
        r = await intake.post("/api/v1/opinions", json={"text": "Phát biểu", "channel": "direct", "conference_id": cid},
                              headers=FRONT)  # fmt: skip
        assert r.status_code == 409 and r.json()["error"]["code"] == "conference_not_open"
        for code in collected:  # put before the heads: no agency, no deadline, nothing sent up, no reminder
            await eventually(lambda code=code: stage(code, "tabled"), what=f"{code} waiting for the conference")
            view = await assigned(code)
            assert view["status"] == "tabled" and view["agency_id"] is None and view["due_at"] is None
        r = await assignment.post(f"/api/v1/opinions/{collected[1]}/answer", headers=FRONT,
                                  json={"kind": "on_the_spot", "head": "committee_chair", "text": "Sửa."})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_in_session"

        # Announce on time: the timer fires 3 days before; invitations and the public announcement go out.
        clock.set(T0 + timedelta(days=7, minutes=1))
        await arrive("Giấy mời dự hội nghị", 2)
        [announcement] = await arrive("Thông báo: Hội nghị đối thoại quý I")
        assert announcement["Subject"].count("Hội nghị đối thoại") == 1  # the title says it; not twice
        assert (
            announcement["To"].startswith("truyenthanh@")
            and "Nhà văn hóa tổ dân phố số 5" in announcement.get_content()
        )
        invited = sorted(m["To"] for m in mails("Giấy mời"))
        assert invited == ["mttq@example.vn", "totruong5@example.vn"]
        assert (await scheduling.get(f"/api/v1/conferences/{cid}")).json()["status"] == "announced"

        # A day before: each chair gets the opinions addressed to them, by field.
        clock.set(T0 + timedelta(days=9, hours=1))
        dossiers = await arrive("Hồ sơ ý kiến trước Hội nghị", 2)
        by_head = {m["To"].split("@")[0]: m.get_content() for m in dossiers}
        assert "Xây dựng Đảng" in by_head["bithu"] and collected[0] in by_head["bithu"]
        assert collected[1] in by_head["chutichubnd"] and "Giao thông, hạ tầng" in by_head["chutichubnd"]
        assert collected[0] not in by_head["chutichubnd"]
        assert "Kính gửi: Trần Quang Minh" in by_head["chutichubnd"]  # the head by name, from the directory
        # What arrives after it goes to the chairs two hours before the conference, and only that.
        late_collected = await submit("Cống thoát nước tổ 3 bị tắc, mùi hôi", "front_collected", cid)
        await eventually(lambda: stage(late_collected, "tabled"), what="the late opinion waiting for the conference")
        clock.set(T0 + timedelta(days=10) - timedelta(hours=2) + timedelta(minutes=1))
        [update] = await arrive("Bổ sung hồ sơ ý kiến")
        assert late_collected in update.get_content() and collected[1] not in update.get_content()
        assert update["To"].startswith("chutichubnd@")
        collected.append(late_collected)
        assert not mails("Giao xử lý"), "no agency is told to answer before the conference"

        # Hold: open, record what people raise and what became of each.
        clock.set(T0 + timedelta(days=10))
        assert (await scheduling.post(f"/api/v1/conferences/{cid}/open", headers=FRONT)).json()["status"] == "open"
        await eventually(lambda: intake_knows("open"), what="intake to see the conference open")
        on_the_spot = await submit("Đề nghị lắp đèn chiếu sáng ngõ 7", "direct", cid)
        promised = await submit("Thủ tục cấp giấy xác nhận cư trú còn chậm", "direct", cid,
                                citizen={"name": "Bà Mai", "email": "mai@example.vn"})  # fmt: skip
        off_topic = await submit("Đề nghị mở thêm lớp học bơi cho trẻ em dịp hè", "direct", cid)
        complaint = await submit("Tôi làm đơn khiếu nại quyết định xử phạt hành chính của phường", "direct", cid,
                                 citizen={"name": "Ông Bình", "email": "binh@example.vn"})  # fmt: skip
        for code in (on_the_spot, promised, off_topic, complaint):
            await eventually(lambda code=code: stage(code, "tabled"), what=f"{code} on the agenda")
        assert (await assigned(complaint))["complaint_suspected"] is True
        r = await assignment.post(f"/api/v1/opinions/{on_the_spot}/answer", headers=FRONT,
                                  json={"kind": "on_the_spot", "text": "Không nêu người trả lời"})  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "head"

        r = await assignment.post(f"/api/v1/opinions/{on_the_spot}/answer", headers=FRONT,
                                  json={"kind": "on_the_spot", "head": "committee_chair",
                                        "text": "UBND phường lắp đèn trong tháng 4."})  # fmt: skip
        assert r.status_code == 200, r.text
        promise_day = (T0 + timedelta(days=20)).astimezone(VIETNAM).date()
        r = await assignment.post(f"/api/v1/opinions/{promised}/promise", headers=FRONT,
                                  json={"due_date": promise_day.isoformat()})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["due_at"].startswith((promise_day).isoformat())
        late = (T0 + timedelta(days=60)).astimezone(VIETNAM).date().isoformat()
        r = await assignment.post(f"/api/v1/opinions/{off_topic}/promise", headers=FRONT,
                                  json={"off_topic": True, "due_date": late})  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["code"] == "promise_later_than_rule"
        r = await assignment.post(f"/api/v1/opinions/{off_topic}/promise", headers=FRONT, json={"off_topic": True})
        assert r.status_code == 200
        r = await assignment.post(f"/api/v1/opinions/{complaint}/redirect", headers=FRONT,
                                  json={"kind": "complaint", "reason": "Khiếu nại quyết định hành chính"})  # fmt: skip
        assert r.status_code == 200 and r.json()["status"] == "redirected"
        [redirect_mail] = await arrive("thủ tục khiếu nại")
        assert redirect_mail["To"] == "binh@example.vn"
        told = redirect_mail.get_content()
        assert "Bộ phận tiếp công dân của UBND phường" in told and "Luật Khiếu nại năm 2011" in told

        await eventually(lambda: stage(complaint, "redirected"), what="the complaint redirected at intake")
        await eventually(lambda: stage(on_the_spot, "closed"), what="the answered opinion closed")

        # Close and conclude: minutes and one conclusion notice per agency, delivered.
        clock.set(T0 + timedelta(days=10, hours=3))
        closing = {"attendance": 96, "speakers": 14, "remarks": "Giao các cơ quan trả lời bằng văn bản đúng hạn."}
        closed = (await scheduling.post(f"/api/v1/conferences/{cid}/close", json=closing, headers=FRONT)).json()
        assert closed["status"] == "closed" and closed["attendance"] == 96 and closed["speakers"] == 14
        r = await scheduling.post(f"/api/v1/conferences/{cid}/conclude", headers=FRONT)
        assert r.json()["status"] == "concluded"

        pending = [*collected, promised, off_topic]

        async def given(code: str) -> dict:  # type: ignore[type-arg]
            async def check():  # type: ignore[no-untyped-def]
                view = await assigned(code)
                return view if view["agency_id"] else None

            return await eventually(check, what=f"{code} given to an agency by the conclusion")

        agencies = {(await given(code))["agency_name"] for code in pending}
        # What the conference left unanswered is due 30 days after the day it ended, not after receipt.
        ended = (T0 + timedelta(days=10, hours=3)).astimezone(VIETNAM).date()
        for code in collected:
            due_day = datetime.fromisoformat((await given(code))["due_at"]).astimezone(VIETNAM).date()
            assert (due_day - ended).days == 30, (code, due_day)
        [hung] = await arrive(f"Ý kiến {collected[1]} sẽ được trả lời bằng văn bản")
        assert hung["To"] == "hung@example.vn" and f"{ended + timedelta(days=30):%d/%m/%Y}" in hung["Subject"]
        results = await arrive("Kết quả Hội nghị đối thoại quý I", 2)
        assert sorted(m["To"].split("@")[0] for m in results) == ["bithu", "chutichubnd"]

        async def documents():  # type: ignore[no-untyped-def]
            docs = (await assignment.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)).json()
            mine = [d for d in docs if d["kind"] in ("minutes", "conclusion_notice") and d["status"] == "issued"]
            return docs if len(mine) == 1 + len(agencies) else None

        docs = await eventually(documents, what="the minutes and one conclusion notice per agency")
        assert sorted(d["agency"] for d in docs if d["kind"] == "conclusion_notice") == sorted(agencies)
        assert [d["kind"] for d in docs].count("minutes") == 1
        minutes = next(d for d in docs if d["kind"] == "minutes")
        html = (await assignment.get(f"/api/v1/documents/{minutes['id']}", headers=FRONT)).text
        assert "BIÊN BẢN" in html and "hội nghị nhận <b>7</b> ý kiến" in html and complaint not in html
        assert "UBND phường lắp đèn trong tháng 4." in html and "1 đơn khiếu nại, tố cáo" in html
        pdf = (await assignment.get(f"/api/v1/documents/{minutes['id']}.pdf", headers=FRONT)).content
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert "BIÊN BẢN" in text and "Nguyễn Thị Thư" in text

        notices = await arrive("Thông báo kết luận", len(agencies))
        assert len({m["To"] for m in notices}) == len(agencies)
        delivered = "".join(m.get_content() for m in notices)
        assert all(code in delivered for code in pending)
        promised_notice = next(m for m in notices if promised in m.get_content())
        assert f"{promise_day:%d/%m/%Y}" in promised_notice.get_content()
        assert on_the_spot not in "".join(m.get_content() for m in notices)  # answered: nothing to do

        # No more opinions for a concluded conference.
        r = await intake.post("/api/v1/opinions", json={"text": "Muộn", "channel": "front_collected",
                                                         "conference_id": cid}, headers=FRONT)  # fmt: skip
        assert r.status_code == 409 and r.json()["error"]["code"] == "conference_not_accepting"

        # Follow up: reminders 7, 3 and 1 days before the promised date, then overdue to agency and head.
        due = datetime.combine(promise_day, datetime.min.time(), tzinfo=VIETNAM)
        for days_left in (7, 3, 1):
            clock.set(due - timedelta(days=days_left - 1) + timedelta(seconds=30))  # just past that reminder
            await arrive(f"còn {days_left} ngày trả lời ý kiến {promised}")
        clock.set(due + timedelta(days=1, minutes=1))
        [overdue] = await arrive(f"QUÁ HẠN trả lời ý kiến {promised}")
        [to_head] = await arrive(f"ý kiến {promised} quá hạn")
        assert to_head["To"].startswith("chutichubnd@")
        assert (await status(promised))["overdue"] is True

        supervision = (await assignment.get(f"/api/v1/conferences/{cid}/supervision", headers=FRONT)).json()
        row = next(i for i in supervision["items"] if i["tracking_code"] == promised)
        assert row["status"] == "overdue"

        # The agency's written result closes the item; the citizen is told.
        promised_agency = headers(f"agency-key-{(await given(promised))['agency_id']}")
        r = await assignment.post(f"/api/v1/opinions/{promised}/answer", headers=promised_agency,
                                  json={"kind": "written", "text": "Đã rút ngắn thời gian xác nhận cư trú.",
                                        "document_number": "15/UBND-VP"})  # fmt: skip
        assert r.status_code == 200
        await eventually(lambda: stage(promised, "closed"), what="the promised item closed")
        [answer] = await arrive(f"Trả lời ý kiến của Ông/Bà — mã {promised}")
        assert answer["To"] == "mai@example.vn" and "15/UBND-VP" in answer.get_content()
        [result] = await arrive(f"Kết quả trả lời ý kiến {promised}")  # the head who owned it is told
        assert result["To"].startswith("chutichubnd@") and "15/UBND-VP" in result.get_content()
        # A secretary cannot write the agency's answer; the agency corrects its own, and the citizen is told.
        r = await assignment.post(f"/api/v1/opinions/{off_topic}/answer", headers=FRONT,
                                  json={"kind": "written", "text": "Đã mở lớp.", "document_number": "16"})  # fmt: skip
        assert r.status_code == 403 and r.json()["error"]["code"] == "written_by_agency"
        r = await assignment.post(f"/api/v1/opinions/{promised}/answer/correction", headers=promised_agency,
                                  json={"text": "Đã rút ngắn thời gian xác nhận cư trú còn 1 ngày làm việc.",
                                        "document_number": "15/UBND-VP", "reason": "Ghi thiếu số ngày"})  # fmt: skip
        assert r.status_code == 200, r.text
        [correction] = await arrive(f"Đính chính câu trả lời ý kiến mã {promised}")
        assert correction["To"] == "mai@example.vn" and "Ghi thiếu số ngày" in correction.get_content()

        async def corrected() -> dict | None:  # type: ignore[type-arg]
            view = await status(promised)
            return view if "1 ngày làm việc" in view["answer"]["text"] else None

        view = await eventually(corrected, what="the correction at intake")
        assert "Đính chính câu trả lời: Ghi thiếu số ngày" in [h["note"] for h in view["history"]]
        supervision = (await assignment.get(f"/api/v1/conferences/{cid}/supervision", headers=FRONT)).json()
        row = next(i for i in supervision["items"] if i["tracking_code"] == promised)
        assert row["status"] == "answered_late" and supervision["counts"]["answered_late"] == 1
        # Every reminder exactly once, after all the clock moves and the answer.
        for subject in [f"còn {d} ngày trả lời ý kiến {promised}" for d in (7, 3, 1)] + [
            f"QUÁ HẠN trả lời ý kiến {promised}",
            f"ý kiến {promised} quá hạn",
        ]:
            assert len(mails(subject)) == 1, subject


# A realistic long opinion (about 3,000 characters), as a resident reads a prepared statement.
LONG_OPINION = (
    (
        "Kính thưa các đồng chí lãnh đạo Đảng ủy, HĐND, UBND phường. Tôi là Nguyễn Văn Lâm, tổ dân phố số 7, xin "
        "trình bày ý kiến về tình trạng ngập úng kéo dài tại ngõ 12 và ngõ 14 phố Ngọc Lâm. "
    )
    + " ".join(
        f"Lần thứ {i}, vào ngày {i} tháng 9, sau trận mưa lớn kéo dài hai tiếng, nước dâng cao khoảng 40 đến 50 "
        "xăng-ti-mét, tràn vào nhà của hơn 20 hộ dân, làm hỏng đồ đạc, xe máy chết máy giữa đường, các cháu học "
        "sinh không đến trường được; hệ thống cống thoát nước được xây từ năm 1998 đã xuống cấp, nhiều đoạn bị lấp."
        for i in range(1, 12)
    )
    + " Đề nghị phường sớm khảo sát, cải tạo hệ thống thoát nước và thông báo lộ trình cho bà con được biết."
)


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(any(word == seen for seen in remaining) for word in needle)


async def test_a_long_opinion_and_a_deadline_from_above_still_give_documents(env, smtp) -> None:  # type: ignore[no-untyped-def]
    """Two ordinary inputs once left a concluded conference with no documents (a date the database could
    not store; a text the PDF renderer could not lay out): now both give numbered minutes and notices."""
    assert 2900 < len(LONG_OPINION) < 5000
    clock = ManualClock(T0)
    apps = (intake_app(clock=clock), assignment_app(clock=clock), scheduling_app(clock=clock))
    async with running(*apps) as (intake, assignment, scheduling):
        body = plan(starts_at=local(1, 14), urgent=True, urgent_reason="Ngập úng sau mưa lớn",
                    complete_by="2026-03-31")  # fmt: skip
        r = await scheduling.post("/api/v1/conferences", json=body, headers=FRONT)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        # The public plan shows what a public notice shows: no invitees' names or addresses.
        public = (await scheduling.get("/api/v1/conferences?year=2026")).json()
        assert public[0]["title"] == body["title"] and "invitees" not in public[0] and "secretary" not in public[0]
        assert "example.vn" not in str(public)
        staff = (await scheduling.get("/api/v1/conferences?year=2026", headers=FRONT)).json()
        assert staff[0]["invitees"][0]["email"] == "totruong5@example.vn"
        assert (await scheduling.get(f"/api/v1/conferences/{cid}")).json().get("invitees") is None

        clock.set(T0 + timedelta(days=1, hours=7))
        assert (await scheduling.post(f"/api/v1/conferences/{cid}/open", headers=FRONT)).status_code == 200

        async def raised() -> str | None:
            r = await intake.post(
                "/api/v1/opinions",
                json={"text": LONG_OPINION, "channel": "direct", "conference_id": cid},
                headers=FRONT,
            )
            return r.json()["tracking_code"] if r.status_code == 201 else None

        code = await eventually(raised, what="the long opinion recorded at the open conference")

        async def assigned() -> bool:
            return (await assignment.get(f"/api/v1/opinions/{code}", headers=OPERATOR)).status_code == 200

        await eventually(assigned, what="the long opinion assigned")
        assert (await assignment.post(f"/api/v1/opinions/{code}/promise", json={}, headers=FRONT)).status_code == 200
        for move in ("close", "conclude"):
            assert (await scheduling.post(f"/api/v1/conferences/{cid}/{move}", headers=FRONT)).status_code == 200

        async def documents() -> list | None:  # type: ignore[type-arg]
            r = await assignment.get(f"/api/v1/conferences/{cid}/documents", headers=FRONT)
            return r.json() if len(r.json()) == 3 else None

        docs = await eventually(documents, what="the minutes, the conclusion notice and the agency's extract")
        assert sorted(d["kind"] for d in docs) == ["conclusion", "conclusion_notice", "minutes"]
        for d in docs:
            pdf = await assignment.get(f"/api/v1/documents/{d['id']}.pdf", headers=FRONT)
            reader = PdfReader(io.BytesIO(pdf.content))
            text = "\n".join(page.extract_text() for page in reader.pages)
            words = re.sub(r"-\s*\n\s*", "-", text).split()  # "xăng-ti-" at a line's end, "mét" on the next
            # The whole text, in order, across pages, with its Vietnamese letters (words of the cells beside
            # it may come in between where a table row's lines are read across).
            assert is_subsequence(LONG_OPINION.split(), words), " ".join(words)[-800:]
            assert len(reader.pages) >= 2 or d["kind"] != "minutes"
        # The conference (with its deadline from above) is in the report, not a 404.
        report = await assignment.get(f"/api/v1/conferences/{cid}/report", headers=FRONT)
        assert report.status_code == 200 and report.json()["total"]["received"] == 1
