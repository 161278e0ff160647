"""Reports that match reality: the Long Biên district's 2017 summary, reproduced through the front door
(conferences through scheduling, opinions through intake, outcomes through assignment) on linked instances on
the real broker and database, with the three-level configuration of that time; and a two-level chain."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from shared.clock import VIETNAM, ManualClock
from shared.events import Envelope, OpinionReceivedV1, Source
from shared.hosting import HOSTED_INTERVALS
from tests.integration.harness import eventually, headers, running
from tests.integration.linked import linked

OPERATOR = headers("operator-key")
T0 = datetime(2017, 9, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def jurisdiction(tmp_path: Path) -> str:
    path = tmp_path / "jurisdiction.yaml"
    path.write_text("default: ward\nfields:\n  land: district\n  construction: city\n", encoding="utf-8")
    return str(path)


async def publish(url: str, events: list[Envelope]) -> None:  # type: ignore[type-arg]
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("doithoai.events")
        for event in events:
            message = aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.event_id),
                                       content_type="application/json", delivery_mode=2)  # fmt: skip
            await exchange.publish(message, routing_key=event.event_type)


# Opinions as residents word them, by the field the classifier must find (no field is given at intake).
TEXTS = {
    "land": [
        "Đề nghị sớm cấp giấy chứng nhận quyền sử dụng đất cho các hộ ở tổ {n}, hồ sơ đã nộp từ năm 2015.",
        "Gia đình tôi ở tổ {n} có tranh chấp ranh giới đất với hộ bên cạnh, đề nghị đo đạc lại thửa đất.",
        "Đề nghị giải quyết dứt điểm việc bồi thường giải phóng mặt bằng cho các hộ tổ {n} bị thu hồi đất.",
        "Đất nông nghiệp xen kẹt trong khu dân cư tổ {n} có được chuyển mục đích sử dụng sang đất ở không?",
        "Việc lấn chiếm đất công tại khu vực tổ {n} kéo dài nhiều năm chưa được xử lý, đề nghị thu hồi.",
    ],
    "construction": [
        "Công trình xây dựng sai phép tại ngõ {n} đã được phản ánh nhiều lần nhưng chưa bị xử lý.",
        "Đề nghị công khai quy hoạch chi tiết khu đô thị mới để người dân tổ {n} biết, yên tâm xây nhà.",
        "Hộ dân tổ {n} xin cấp giấy phép xây dựng nhà ở đã quá hạn mà chưa được cấp phép.",
    ],
    "traffic": [
        "Đường ngõ {n} xuống cấp, nhiều ổ gà, mùa mưa đọng nước, đề nghị sớm sửa chữa mặt đường.",
        "Đề nghị lắp đèn chiếu sáng cho đoạn đường từ tổ {n} ra đường chính, buổi tối rất tối.",
        "Nút giao đầu ngõ {n} thường xuyên ùn tắc giao thông giờ cao điểm, đề nghị bố trí người phân luồng.",
        "Đề nghị lắp gương cầu lồi và biển báo giao thông ở khúc cua nguy hiểm gần tổ {n}.",
    ],
    "environment": [
        "Rác thải sinh hoạt ở điểm tập kết đầu ngõ {n} không được thu gom kịp thời, bốc mùi hôi thối.",
        "Cống thoát nước tổ {n} bị tắc, nước thải tràn ra đường gây ô nhiễm môi trường.",
        "Xưởng gỗ cạnh khu dân cư tổ {n} gây tiếng ồn và bụi, ảnh hưởng sức khỏe người dân.",
        "Đề nghị nạo vét mương thoát nước và trồng thêm cây xanh ở khu vực tổ {n}.",
    ],
    "agriculture": [
        "Đề nghị hỗ trợ giống lúa và phân bón cho các hộ nông dân xứ đồng tổ {n} sau đợt ngập úng.",
        "Dịch bệnh trên đàn gia cầm ở tổ {n} đang lan rộng, đề nghị cử cán bộ thú y xuống tiêm phòng.",
        "Kênh mương nội đồng khu vực tổ {n} bị bồi lắng, nước tưới không về được ruộng.",
    ],
    "party_building": [
        "Đề nghị Đảng ủy quan tâm công tác phát triển đảng viên trẻ ở chi bộ tổ dân phố số {n}.",
        "Sinh hoạt chi bộ tổ {n} còn hình thức, đề nghị Đảng ủy chỉ đạo đổi mới nội dung sinh hoạt chi bộ.",
        "Đề nghị Đảng ủy kiểm tra việc một số đảng viên ở chi bộ {n} chưa gương mẫu chấp hành quy định nơi cư trú.",
    ],
    "administration": [
        "Thủ tục cấp giấy xác nhận cư trú ở bộ phận một cửa còn chậm, đề nghị rút ngắn thời gian giải quyết (tổ {n}).",
        "Cán bộ tiếp dân ở bộ phận một cửa có thái độ chưa đúng mực với người dân tổ {n}, đề nghị chấn chỉnh.",
        "Đề nghị hướng dẫn người cao tuổi tổ {n} nộp hồ sơ thủ tục hành chính trực tuyến trên cổng dịch vụ công.",
        "Việc chứng thực giấy tờ tại phường phải chờ lâu, đề nghị bố trí thêm cán bộ một cửa (tổ {n}).",
    ],
}


def spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def text(field: str, n: int) -> str:
    pool = TEXTS[field]
    return pool[n % len(pool)].format(n=n)


async def test_the_long_bien_district_summary_of_2017(rabbit_admin, secantus, smtp, jurisdiction) -> None:  # type: ignore[no-untyped-def]
    """Long Biên, 2017, through the front door: 14 ward conferences planned, announced, opened, closed and
    concluded through scheduling; 479 opinions collected by the Front and 205 raised directly entered through
    intake and classified there (51 on Party building, 47 of them answered on the spot; 154 on government, all
    answered on the spot); 37 within the district's authority and 7 within the city's, sent up by the
    secretaries as beyond the ward; what was left concluded for a written answer (pending)."""
    wards = [f"w{i:02d}" for i in range(1, 15)]
    shape = {**{w: ("ward", "d") for w in wards}, "d": ("district", "c"), "c": ("city", None)}
    clock = ManualClock(T0)
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        rules = {"DOITHOAI_JURISDICTION_RULES": jurisdiction}
        # 44 services on one database server: their background passes as a hosted province spaces them
        # (inline publishing does the work; nothing here waits on the relay or a timer).
        quiet = {f"DOITHOAI_{k.upper()}": str(v) for k, v in HOSTED_INTERVALS.items()}
        intake, assignment, scheduling = {}, {}, {}
        for short in shape:  # one clock, in 2017, for every level
            assignment[short] = await chain.start(short, "assignment", clock=clock, **rules, **quiet)
            if short in wards:
                intake[short] = await chain.start(short, "intake", clock=clock, **quiet)
                scheduling[short] = await chain.start(short, "scheduling", clock=clock, **quiet)
        chain.connect(timeout=60)
        front_key, secretary = headers("front-key"), headers("secretary-key")

        front = spread(479, 14)
        party, government = spread(51, 14), spread(154, 14)
        district_matters, city_matters = spread(37, 14), spread(7, 14)
        answer_later = [1, 1, 1, 1] + [0] * 10  # 4 Party-building opinions get a written answer
        others = ["traffic", "environment", "agriculture"]
        conferences: dict[str, str] = {}
        starts = T0 + timedelta(days=5)
        for short in wards:  # the plan of the year: each ward's conference, announced 3 days before
            body = {
                "title": "Hội nghị đối thoại năm 2017",
                "starts_at": f"{starts.astimezone(VIETNAM):%Y-%m-%dT%H:%M:%S}",
                "venue": "Nhà văn hóa tổ dân phố",
                "chairs": ["party_secretary", "council_chair", "committee_chair"],
                "secretary": "Nguyễn Thị Thư",
                "expected_attendance": 120,
            }
            r = await scheduling[short].post("/api/v1/conferences", json=body, headers=front_key)
            assert r.status_code == 201, r.text
            conferences[short] = r.json()["id"]
            assert (await scheduling[short].post(f"/api/v1/conferences/{conferences[short]}/announce",
                                                 headers=front_key)).status_code == 200  # fmt: skip

        async def submit(short: str, words: str, channel: str) -> str:
            body = {"text": words, "channel": channel, "conference_id": conferences[short]}

            async def accepted():  # type: ignore[no-untyped-def]
                r = await intake[short].post("/api/v1/opinions", json=body, headers=front_key)
                return r.json()["tracking_code"] if r.status_code == 201 else None  # 409 until intake knows it

            return await eventually(accepted, what=f"{short} to take an opinion for its conference")

        async def collect(i: int, short: str) -> dict[str, list[str]]:
            fields = ["land"] * district_matters[i] + ["construction"] * city_matters[i]
            fields += [others[n % 3] for n in range(front[i] - len(fields))]
            codes: dict[str, list[str]] = {}
            for n, field in enumerate(fields):
                codes.setdefault(field, []).append(await submit(short, text(field, n + 1), "front_collected"))
            return codes

        collected = dict(zip(wards, await asyncio.gather(*(collect(i, w) for i, w in enumerate(wards))), strict=True))

        # The day: each conference opens, people speak, the heads answer; the secretary records each outcome.
        clock.set(starts + timedelta(minutes=5))
        for short in wards:
            r = await scheduling[short].post(f"/api/v1/conferences/{conferences[short]}/open", headers=front_key)
            assert r.status_code == 200, r.text

        async def hold(i: int, short: str) -> None:
            client, later = assignment[short], answer_later[i]
            for field, head, count in (("party_building", "party_secretary", party[i]),
                                       ("administration", "committee_chair", government[i])):  # fmt: skip
                for n in range(count):
                    code = await submit(short, text(field, n + 1), "direct")

                    async def tabled():  # type: ignore[no-untyped-def]
                        r = await client.get(f"/api/v1/opinions/{code}", headers=secretary)  # noqa: B023
                        return r.json() if r.status_code == 200 and r.json()["status"] == "tabled" else None

                    view = await eventually(tabled, what=f"{code} before the heads")
                    assert (view["field"], view["head"]) == (field, head), view  # classified at intake's word
                    if head == "party_secretary" and later:
                        later -= 1
                        r = await client.post(f"/api/v1/opinions/{code}/promise", json={}, headers=secretary)
                    else:
                        answer = {"kind": "on_the_spot", "head": head, "text": "Đã giải đáp tại hội nghị."}
                        r = await client.post(f"/api/v1/opinions/{code}/answer", json=answer, headers=secretary)
                    assert r.status_code == 200, r.text
            for code in collected[short].get("land", []) + collected[short].get("construction", []):
                reason = {"reason": "Vượt thẩm quyền của phường, chuyển cấp trên giải quyết"}
                r = await client.post(f"/api/v1/opinions/{code}/escalate", json=reason, headers=secretary)
                assert r.status_code == 200, r.text
            cid = conferences[short]
            closing = {"attendance": 118, "speakers": party[i] + government[i]}
            for move, body in (("close", closing), ("conclude", {})):
                r = await scheduling[short].post(f"/api/v1/conferences/{cid}/{move}", json=body, headers=front_key)
                assert r.status_code == 200, r.text

        await asyncio.gather(*(hold(i, w) for i, w in enumerate(wards)))

        # The district took 37 and sent 7 on to the city, which took them; the wards learned it; every ward's
        # conference left its unanswered opinions for a written answer (pending).
        district = chain.apps[("d", "assignment")].state.runtime.db["assignments"]
        city = chain.apps[("c", "assignment")].state.runtime.db["assignments"]

        async def settled() -> bool:
            held = await district.count_documents({"status": "assigned"})
            forwarded = await district.count_documents({"status": "escalated"})
            at_city = await city.count_documents({})
            accepted = tabled = 0
            for short in wards:
                repo = chain.apps[(short, "assignment")].state.runtime.db["assignments"]
                accepted += await repo.count_documents({"holder.state": "accepted"})
                tabled += await repo.count_documents({"status": "tabled"})
            return (held, forwarded, at_city, accepted, tabled) == (37, 7, 7, 44, 0)

        await eventually(settled, timeout=120, what="37 opinions at the district, 7 at the city, none left tabled")

        for short in wards:
            r = await assignment[short].post("/api/v1/summary/report?period=2017", headers=OPERATOR)
            assert r.status_code == 200, r.text
        district_client = assignment["d"]

        async def all_reported():  # type: ignore[no-untyped-def]
            r = await district_client.get("/api/v1/reports?period=2017", headers=OPERATOR)
            body = r.json()
            return body if len(body["summary"]["children"]) == 14 else None

        report = await eventually(all_reported, timeout=30, what="the 14 wards' summaries at the district")
        total = report["total"]
        assert total["conferences"] == 14 and report["plan"] == {"held": 14, "units": 14, "missing": []}
        assert total["by_channel"] == {"front_collected": 479, "direct": 205}
        assert total["received"] == 684
        front_other = sum(front) - 37 - 7
        by_field = {"land": 37, "construction": 7, "party_building": 51, "administration": 154}
        for n, field in enumerate(others):
            by_field[field] = sum(len([k for k in range(f - d - c) if k % 3 == n])
                                  for f, d, c in zip(front, district_matters, city_matters, strict=True))  # fmt: skip
        assert sum(by_field[f] for f in others) == front_other
        assert total["by_field"] == by_field

        def cube(channel: str | None = None, head: str | None = None, outcome: str | None = None) -> int:
            wanted = (channel, head, outcome)
            return sum(
                n
                for key, n in total["cube"].items()
                if all(w in (None, got) for w, got in zip(wanted, key.split("|"), strict=True))
            )

        assert cube("direct", "party_secretary") == 51
        assert cube("direct", "party_secretary", "answered_on_the_spot") == 47
        assert cube("direct", "committee_chair") == 154
        assert cube("direct", "committee_chair", "answered_on_the_spot") == 154
        assert total["by_outcome"] == {
            "answered_on_the_spot": 201,
            "escalated_to_district": 37,
            "escalated_to_city": 7,
            "pending": front_other + 4,  # concluded for a written answer, not yet given
        }
        assert total["answer_days"] == {"0": 201}  # every answer given at the conference

        # The same report, as people file it.
        text_report = (await district_client.get("/api/v1/reports?period=2017&format=csv", headers=OPERATOR)).text
        rows = list(csv.DictReader(io.StringIO(text_report.lstrip("\ufeff"))))
        assert len(rows) == 2 + 14 and rows[0]["Tổng số lượt ý kiến"] == "684" and rows[0]["Số hội nghị"] == "14"
        assert rows[0]["Số người dự"] == str(14 * 118) and rows[0]["Lĩnh vực: Đất đai"] == "37"
        xlsx = (await district_client.get("/api/v1/reports?period=2017&format=xlsx", headers=OPERATOR)).content
        sheet = load_workbook(io.BytesIO(xlsx))["Tổng hợp"]
        header = [cell.value for cell in sheet[2]]
        assert sheet.cell(row=3, column=header.index("Tổng số lượt ý kiến") + 1).value == 684
        pdf = (await district_client.get("/api/v1/reports?period=2017&format=pdf", headers=OPERATOR)).content
        printed = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
        assert "BÁO CÁO KẾT QUẢ ĐỐI THOẠI NĂM 2017" in printed and "684" in printed
        assert (
            "14/14 đơn vị trực thuộc đã tổ chức" in printed
            and f"số người dự: {14 * 118:,}".replace(",", ".") in printed
        )
        # The head × outcome table: 51 Party-building opinions, 47 answered on the spot, on paper.
        assert "Bí thư Quận ủy 51 47 0 0 0 0 4" in printed, printed[:3000]
        assert "3.2. Các đơn vị trực thuộc" in printed
        html = (await district_client.get("/api/v1/reports?period=2017&format=html", headers=OPERATOR)).text
        assert html.count("<svg") == 2  # opinions by field, on-time rate per ward


async def test_a_two_level_chain_reports_to_the_city(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    """Since July 2025: wards report straight to the city; land, a district matter before, goes to the city. A
    ward that has not reported is listed as such, never left out of the city's report."""
    shape = {"w1": ("ward", "c"), "w2": ("ward", "c"), "w3": ("ward", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        clients = {short: await chain.start(short, "assignment") for short in shape}  # w3 never reports
        chain.connect()
        now = datetime.now(UTC)
        for short, fields in (("w1", ["land", "land", "traffic"]), ("w2", ["environment", "land"])):
            inst = chain.ids[short]
            events = [
                Envelope.new(
                    OpinionReceivedV1(
                        opinion_id=str(uuid.uuid4()),
                        tracking_code=f"YK-{short.upper()}-{n:04d}",
                        origin_instance=inst,
                        channel="online",
                        text="Ý kiến",
                        field=field,
                        submitted_at=now,
                    ),
                    Source(level="ward", instance=inst, service="intake"),
                )  # fmt: skip
                for n, field in enumerate(fields)
            ]
            await publish(chain.env(short)["DOITHOAI_BROKER_URL"], events)

        async def accepted() -> bool:
            done = 0
            for short in ("w1", "w2"):
                repo = chain.apps[(short, "assignment")].state.runtime.db["assignments"]
                done += await repo.count_documents({"holder.state": "accepted"})
            return done == 3

        await eventually(accepted, timeout=30, what="the city to accept the three land opinions")
        period = f"{now.astimezone(VIETNAM).year}"
        for short in ("w1", "w2"):
            r = await clients[short].post(f"/api/v1/summary/report?period={period}", headers=OPERATOR)
            assert r.status_code == 200

        async def city_report():  # type: ignore[no-untyped-def]
            body = (await clients["c"].get(f"/api/v1/reports?period={period}", headers=OPERATOR)).json()
            return body if len(body["summary"]["children"]) == 2 else None

        report = await eventually(city_report, what="both wards' summaries at the city")
        total = report["total"]
        assert total["received"] == 5 and total["by_outcome"]["escalated_to_city"] == 3
        assert total["handled_for_children"] == 3 and total["by_outcome"]["pending"] == 2
        assert report["plan"] == {"held": 0, "units": 3, "missing": [chain.ids["w3"]]}
        [missing] = [r for r in report["rows"] if r["kind"] == "Chưa gửi báo cáo"]
        assert missing["instance"] == chain.ids["w3"] and missing["received"] is None
        text = (await clients["c"].get(f"/api/v1/reports?period={period}&format=csv", headers=OPERATOR)).text
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
        kinds = [r["Loại dòng"] for r in rows]
        assert kinds == ["Toàn bộ (cấp này và các cấp dưới)", "Riêng cấp này"] + [
            "Đơn vị trực thuộc (đã gồm cấp dưới của đơn vị)"
        ] * 2 + ["Chưa gửi báo cáo"]
        assert rows[0]["Lĩnh vực: Đất đai"] == "3" and rows[2]["Cấp"] == "phường"


async def test_a_ward_counts_by_conference_date_each_outcome_and_who_came(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Opinions collected in January for a conference held on 3 February count in February; off-topic is an
    outcome of its own; attendance and speakers come from the closing; a staff correction of a field is
    counted."""
    from services.assignment.app import create_app as assignment_app
    from services.intake.app import create_app as intake_app
    from services.scheduling.app import create_app as scheduling_app

    monkeypatch.setenv("DOITHOAI_TIMER_POLL_S", "0.2")
    clock = ManualClock(datetime(2026, 1, 26, 1, 0, tzinfo=UTC))  # 08:00, 26 January 2026
    front, secretary = headers("front-key"), headers("secretary-key")
    apps = (intake_app(clock=clock), assignment_app(clock=clock), scheduling_app(clock=clock))
    async with running(*apps) as (intake, assignment, scheduling):
        plan = {"title": "Hội nghị đối thoại đầu năm 2026", "starts_at": "2026-02-03T08:00:00",
                "venue": "Nhà văn hóa tổ dân phố số 3", "chairs": ["party_secretary", "committee_chair"]}  # fmt: skip
        cid = (await scheduling.post("/api/v1/conferences", json=plan, headers=front)).json()["id"]
        assert (await scheduling.post(f"/api/v1/conferences/{cid}/announce", headers=front)).status_code == 200

        async def submit(words: str, channel: str) -> str:
            body = {"text": words, "channel": channel, "conference_id": cid}

            async def taken():  # type: ignore[no-untyped-def]
                r = await intake.post("/api/v1/opinions", json=body, headers=front)
                return r.json()["tracking_code"] if r.status_code == 201 else None

            code = await eventually(taken, what="intake to take an opinion for the conference")

            async def tabled():  # type: ignore[no-untyped-def]
                r = await assignment.get(f"/api/v1/opinions/{code}", headers=secretary)
                return r.status_code == 200 and r.json()["status"] == "tabled"

            await eventually(tabled, what=f"{code} before the heads")
            return code

        lamp = await submit(TEXTS["traffic"][1].format(n=4), "front_collected")
        rubbish = await submit(TEXTS["environment"][0].format(n=4), "front_collected")
        pool = await submit("Đề nghị mở thêm lớp học bơi miễn phí cho trẻ em dịp hè.", "front_collected")
        clock.set(datetime(2026, 2, 3, 1, 5, tzinfo=UTC))
        assert (await scheduling.post(f"/api/v1/conferences/{cid}/open", headers=front)).status_code == 200
        spoken = await submit("Nhà văn hóa tổ 3 xuống cấp, mái dột, đề nghị sửa chữa.", "direct")
        chosen = (await assignment.get(f"/api/v1/opinions/{spoken}", headers=secretary)).json()["field"]
        right = "construction" if chosen == "culture" else "culture"  # whichever the rules did not choose
        r = await assignment.post(f"/api/v1/opinions/{spoken}/classification", headers=secretary,
                                  json={"field": right, "reason": "Thư ký sửa theo nội dung phát biểu"})  # fmt: skip
        assert r.status_code == 200 and r.json()["field"] == right, r.text
        r = await assignment.post(f"/api/v1/opinions/{spoken}/classification", headers=secretary,
                                  json={"field": right, "reason": "Lần nữa"})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"]["code"] == "same_classification"
        answer = {"kind": "on_the_spot", "head": "committee_chair", "text": "Tháng 3 thay bóng đèn."}
        assert (await assignment.post(f"/api/v1/opinions/{lamp}/answer", json=answer, headers=secretary)).is_success
        r = await assignment.post(f"/api/v1/opinions/{pool}/promise", json={"off_topic": True}, headers=secretary)
        assert r.status_code == 200, r.text
        closing = {"attendance": 85, "speakers": 9}
        for move, body in (("close", closing), ("conclude", {})):
            assert (await scheduling.post(f"/api/v1/conferences/{cid}/{move}", json=body, headers=front)).is_success

        async def settled():  # type: ignore[no-untyped-def]
            r = await assignment.get(f"/api/v1/opinions/{rubbish}", headers=secretary)
            return r.json()["status"] == "assigned"

        await eventually(settled, what="what was left concluded for a written answer")
        january = (await assignment.get("/api/v1/reports?period=2026-01", headers=OPERATOR)).json()["total"]
        february = (await assignment.get("/api/v1/reports?period=2026-02", headers=OPERATOR)).json()["total"]
        assert january["received"] == 0 and january["conferences"] == 0  # entered in January, counted with the day
        assert february["received"] == 4 and february["conferences"] == 1
        assert february["by_outcome"] == {"answered_on_the_spot": 1, "off_topic": 1, "pending": 2}
        assert (february["attendance"], february["speakers"]) == (85, 9)
        assert february["field_corrections"] == 1
        assert february["by_field"][right] >= 1

        # Any range of days, both ends included: the conference's day counts in it, the day after does not.
        for period, received in (("2026-01-20..2026-02-03", 4), ("2026-02-04..2026-03-31", 0)):
            r = await assignment.get("/api/v1/reports", params={"period": period, "format": "json"}, headers=OPERATOR)
            assert r.status_code == 200 and r.json()["total"]["received"] == received, (period, r.text)
        r = await assignment.get("/api/v1/reports", params={"period": "2026-01-20..2026-02-03", "format": "csv"},
                                 headers=OPERATOR)  # fmt: skip
        rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert r.status_code == 200 and rows[0]["Tổng số lượt ý kiến"] == "4"
        pdf = await assignment.get("/api/v1/reports", params={"period": "2026-01-20..2026-02-03", "format": "pdf"},
                                   headers=OPERATOR)  # fmt: skip
        printed = " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
        assert "TỪ NGÀY 20/01/2026 ĐẾN NGÀY 03/02/2026" in printed
        for bad in ("2026-02-03..2026-01-20", "2026-02-30..2026-03-01"):
            r = await assignment.get("/api/v1/reports", params={"period": bad}, headers=OPERATOR)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_period", bad
