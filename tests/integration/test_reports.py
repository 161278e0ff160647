"""Reports that match reality: the Long Biên district's 2017 summary, reproduced by feeding its opinions
through linked instances on the real broker and database; and a two-level chain."""

from __future__ import annotations

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
from shared.events import Conference, ConferenceUpdatedV1, Envelope, OpinionReceivedV1, Source
from tests.integration.harness import eventually, headers
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


def opinion(source: Source, conference: Conference, channel: str, field: str, head: str, n: int) -> Envelope:  # type: ignore[type-arg]
    """An opinion raised at (or collected for) a ward's conference, classified by the Front."""
    return Envelope.new(
        OpinionReceivedV1(
            opinion_id=str(uuid.uuid4()),
            tracking_code=f"YK-{source.instance[-3:].upper()}-{n:04d}",
            origin_instance=source.instance,
            channel=channel,
            text=f"Ý kiến {channel} {field} số {n}",
            field=field,
            head=head,
            conference_id=conference.conference_id,
            submitted_at=conference.starts_at,
        ),
        source,
    )


def spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def test_the_long_bien_district_summary_of_2017(rabbit_admin, secantus, smtp, jurisdiction) -> None:  # type: ignore[no-untyped-def]
    """479 opinions collected by the Front at 14 ward conferences, 205 raised directly (51 on Party building,
    47 of them answered on the spot; 154 on government, all answered on the spot); 37 within the
    district's authority and 7 within the city's."""
    wards = [f"w{i:02d}" for i in range(1, 15)]
    shape = {**{w: ("ward", "d") for w in wards}, "d": ("district", "c"), "c": ("city", None)}
    clock = ManualClock(T0)
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        rules = {"DOITHOAI_JURISDICTION_RULES": jurisdiction}
        for short in shape:
            await chain.start(short, "assignment", clock=clock, **rules)  # one clock, in 2017, for every level
        apps = {short: chain.apps[(short, "assignment")] for short in shape}
        chain.connect(timeout=60)

        front = spread(479, 14)
        party, government = spread(51, 14), spread(154, 14)
        district_matters, city_matters = spread(37, 14), spread(7, 14)
        answer_later = [1, 1, 1, 1] + [0] * 10  # 4 Party-building opinions get a written answer
        direct_codes: dict[str, list[tuple[str, str]]] = {}
        for i, short in enumerate(wards):
            inst = chain.ids[short]
            source = Source(level="ward", instance=inst, service="intake")
            conference_id = f"HN-2017-{short.upper()}"
            starts = T0 + timedelta(days=5, hours=i)
            conference = Conference(conference_id=conference_id, title="Hội nghị đối thoại năm 2017", starts_at=starts,
                                    venue="Nhà văn hóa", chairs=["party_secretary", "council_chair", "committee_chair"],
                                    plan_year=2017, status="closed")  # fmt: skip
            events: list[Envelope] = [
                Envelope.new(ConferenceUpdatedV1(change="closed", version=3, conference=conference), source)
            ]  # type: ignore[type-arg]

            n = 0
            front_fields = ["land"] * district_matters[i] + ["construction"] * city_matters[i]
            front_fields += ["traffic", "environment", "agriculture"] * front[i]
            for field in front_fields[: front[i]]:
                n += 1
                events.append(opinion(source, conference, "front_collected", field, "committee_chair", n))
            codes = []
            for field, head, count in (("party_building", "party_secretary", party[i]),
                                       ("administration", "committee_chair", government[i])):  # fmt: skip
                for _ in range(count):
                    n += 1
                    event = opinion(source, conference, "direct", field, head, n)
                    events.append(event)
                    codes.append((event.payload.tracking_code, head))
            direct_codes[short] = codes
            await publish(chain.env(short)["DOITHOAI_BROKER_URL"], events)

        # Hold: the heads answer on the spot, except four Party-building opinions promised in writing.
        clock.set(T0 + timedelta(days=5, hours=1))
        for i, short in enumerate(wards):
            client = chain.clients[(short, "assignment")]
            repo = apps[short].state.runtime.db["assignments"]

            async def placed(count: int = len(direct_codes[short]) + front[i]) -> bool:
                return await repo.count_documents({}) == count  # noqa: B023

            await eventually(placed, timeout=60, what=f"ward {short} to place its opinions")
            later = answer_later[i]
            for code, head in direct_codes[short]:
                if head == "party_secretary" and later:
                    later -= 1
                    r = await client.post(f"/api/v1/opinions/{code}/promise", json={}, headers=OPERATOR)
                else:
                    answer = {"kind": "on_the_spot", "head": head, "text": "Đã giải đáp tại hội nghị."}
                    r = await client.post(f"/api/v1/opinions/{code}/answer", headers=OPERATOR, json=answer)
                assert r.status_code == 200, r.text

        # The district took 37 and sent 7 on to the city, which took them; the wards learned it.
        district = apps["d"].state.runtime.db["assignments"]
        city = apps["c"].state.runtime.db["assignments"]

        async def escalations_settled() -> bool:
            held = await district.count_documents({"status": "assigned"})
            forwarded = await district.count_documents({"status": "escalated"})
            at_city = await city.count_documents({})
            accepted = 0
            for short in wards:
                accepted += (
                    await apps[short].state.runtime.db["assignments"].count_documents({"holder.state": "accepted"})
                )
            return (held, forwarded, at_city, accepted) == (37, 7, 7, 44)

        await eventually(escalations_settled, timeout=90, what="37 opinions at the district, 7 at the city")

        for short in wards:
            r = await chain.clients[(short, "assignment")].post("/api/v1/summary/report?period=2017", headers=OPERATOR)
            assert r.status_code == 200, r.text
        district_client = chain.clients[("d", "assignment")]

        async def all_reported():  # type: ignore[no-untyped-def]
            r = await district_client.get("/api/v1/reports?period=2017", headers=OPERATOR)
            body = r.json()
            return body if len(body["summary"]["children"]) == 14 else None

        report = await eventually(all_reported, timeout=30, what="the 14 wards' summaries at the district")
        total = report["total"]
        assert total["conferences"] == 14
        assert total["by_channel"] == {"front_collected": 479, "direct": 205}
        assert total["received"] == 684

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
        assert total["by_outcome"]["escalated_to_district"] == 37
        assert total["by_outcome"]["escalated_to_city"] == 7
        assert total["answer_days"] == {"0": 201}  # every answer given at the conference

        # The same report, as people file it.
        text = (await district_client.get("/api/v1/reports?period=2017&format=csv", headers=OPERATOR)).text
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert len(rows) == 1 + 2 + 14 and rows[1][4] == "684" and rows[1][3] == "14"
        xlsx = (await district_client.get("/api/v1/reports?period=2017&format=xlsx", headers=OPERATOR)).content
        sheet = load_workbook(io.BytesIO(xlsx))["Tổng hợp"]
        assert sheet.cell(row=3, column=5).value == 684
        pdf = (await district_client.get("/api/v1/reports?period=2017&format=pdf", headers=OPERATOR)).content
        first = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
        assert "BÁO CÁO KẾT QUẢ ĐỐI THOẠI NĂM 2017" in first and "684" in first
        html = (await district_client.get("/api/v1/reports?period=2017&format=html", headers=OPERATOR)).text
        assert html.count("<svg") == 2  # opinions by field, on-time rate per ward


async def test_a_two_level_chain_reports_to_the_city(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    """Since July 2025: wards report straight to the city; land, a district matter before, goes to the city."""
    shape = {"w1": ("ward", "c"), "w2": ("ward", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        clients = {short: await chain.start(short, "assignment") for short in shape}
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
