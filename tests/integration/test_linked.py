"""Linked instances on the real broker (shovels between vhosts) and database: escalations up, news down."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import VIETNAM
from shared.events import Envelope, EscalationAcknowledgedV1, EscalationMediaAddedV1, EscalationRequestedV1, Source
from tests.conftest import agency_key
from tests.integration.amqp import message_count, publish_raw
from tests.integration.harness import eventually, headers
from tests.integration.linked import linked

LAND = "Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho thửa đất số 45, tờ bản đồ 12"


@pytest.fixture
def city_jurisdiction(tmp_path: Path) -> str:
    path = tmp_path / "jurisdiction.yaml"
    path.write_text("default: ward\nfields:\n  land: city\n  construction: district\n", encoding="utf-8")
    return str(path)


async def status(client, code: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return (await client.get(f"/api/v1/opinions/{code}")).json()


async def wait_status(client, code: str, wanted: str, timeout: float = 30) -> dict:  # type: ignore[no-untyped-def, type-arg]
    async def reached():  # type: ignore[no-untyped-def]
        view = await status(client, code)
        return view if view["status"] == wanted else None

    return await eventually(reached, timeout=timeout, what=f"{code} to be {wanted}")


async def through_link(url: str, to: str, envelope: Envelope) -> None:  # type: ignore[type-arg]
    """Publish an event into the link towards `to`, as the sending instance's services would."""
    await publish_raw(
        url,
        f"{to}.{envelope.event_type}",
        envelope.model_dump_json().encode(),
        exchange_name="doithoai.links",
        message_id=str(envelope.event_id),
        content_type="application/json",
    )


async def test_three_levels_up_and_the_answer_back_to_the_citizen(
    rabbit_admin, secantus, smtp, city_jurisdiction
) -> None:  # type: ignore[no-untyped-def]
    shape = {"w": ("ward", "d"), "d": ("district", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        rules = {"DOITHOAI_JURISDICTION_RULES": city_jurisdiction}
        intake = await chain.start("w", "intake")
        await chain.start("w", "assignment", **rules)
        await chain.start("w", "notification")
        await chain.start("d", "assignment", **rules)
        city = await chain.start("c", "assignment", **rules)
        await chain.start("c", "scheduling")
        chain.connect()

        r = await intake.post(
            "/api/v1/opinions",
            json={"text": LAND, "channel": "direct", "citizen": {"name": "Phạm Thị Lan", "email": "lan@example.vn"}},
            headers=headers("front-key"),
        )
        code = r.json()["tracking_code"]

        view = await wait_status(intake, code, "accepted")
        assert view["holder"] == "Thành phố C"
        assert view["agency"] == "Sở Nông nghiệp và Môi trường (Thành phố C)"  # a province's department
        assert view["due_at"] is not None
        notes = [h["note"] for h in view["history"]]
        assert any(n.startswith("Chuyển lên Quận D") for n in notes)
        assert "Chuyển tiếp lên Thành phố C" in notes

        # The citizen hears from the ward, which alone has their contact.
        async def escalation_mail():  # type: ignore[no-untyped-def]
            return [m for m in smtp.mail.messages() if m["To"] == "lan@example.vn" and "chuyển tới" in m["Subject"]]

        [notice] = await eventually(escalation_mail, what="the escalation notice to the citizen")
        assert "Thành phố C" in notice.get_content()

        department = headers(agency_key("so-nong-nghiep-moi-truong"))
        at_city = (await city.get(f"/api/v1/opinions/{code}", headers=department)).json()
        assert at_city["came_from"] == chain.ids["d"] and at_city["status"] == "assigned"
        r = await city.post(
            f"/api/v1/opinions/{code}/answer",
            json={"kind": "written", "text": "Sở TN&MT đã cấp giấy chứng nhận.", "document_number": "88/STNMT"},
            headers=department,
        )
        assert r.status_code == 200, r.text

        view = await wait_status(intake, code, "closed")
        assert view["answer"]["text"] == "Sở TN&MT đã cấp giấy chứng nhận."
        assert "Thành phố C" in view["answer"]["answered_by"]

        async def answer_mail():  # type: ignore[no-untyped-def]
            return [m for m in smtp.mail.messages() if m["To"] == "lan@example.vn" and "Trả lời" in m["Subject"]]

        [answer] = await eventually(answer_mail, what="the answer mail at the ward")
        assert "88/STNMT" in answer.get_content()

        # Nothing personal crossed a level: the district and the city never saw the contact.
        for short in ("d", "c"):
            docs = await chain.apps[(short, "assignment")].state.runtime.db["assignments"].find().to_list(None)
            assert docs and all("lan@example.vn" not in json.dumps(d, default=str) for d in docs)
            assert all("Phạm Thị Lan" not in json.dumps(d, default=str, ensure_ascii=False) for d in docs)


async def test_two_level_chain_ward_to_city(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    """Since July 2025 wards report straight to the city: land (a district matter) goes to the city."""
    shape = {"w": ("ward", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        intake = await chain.start("w", "intake")
        await chain.start("w", "assignment")
        city = await chain.start("c", "assignment")
        city_plan = await chain.start("c", "scheduling")
        chain.connect()
        r = await intake.post(
            "/api/v1/opinions", json={"text": LAND, "channel": "online"}, headers=headers("front-key")
        )
        code = r.json()["tracking_code"]
        view = await wait_status(intake, code, "accepted")
        assert view["holder"] == "Thành phố C"
        # The city puts it before its own conference (as the sources' 7 city opinions were), and answers it there.
        tomorrow = (datetime.now(VIETNAM) + timedelta(days=1)).strftime("%Y-%m-%dT08:00:00")
        planned = await city_plan.post("/api/v1/conferences", headers=headers("front-key"), json={
            "title": "Hội nghị đối thoại của thành phố", "starts_at": tomorrow, "venue": "Hội trường UBND thành phố",
            "chairs": ["committee_chair"], "urgent": True, "urgent_reason": "Nhiều kiến nghị về đất đai",
        })  # fmt: skip
        cid = planned.json()["id"]
        r = await city_plan.post(f"/api/v1/conferences/{cid}/open", headers=headers("front-key"))
        assert r.status_code == 200, r.text

        async def on_agenda():  # type: ignore[no-untyped-def]
            r = await city.post(f"/api/v1/opinions/{code}/agenda", json={"conference_id": cid},
                                headers=headers("front-key"))  # fmt: skip
            return r.json() if r.status_code == 200 else None  # 409 until the city's assignment knows it

        assert (await eventually(on_agenda, what="the opinion on the city's agenda"))["conference_id"] == cid
        r = await city.post(
            f"/api/v1/opinions/{code}/answer",
            json={"kind": "on_the_spot", "head": "committee_chair", "text": "Thành phố giao quận kiểm tra hồ sơ."},
            headers=headers("front-key"),
        )
        assert r.status_code == 200, r.text
        view = await wait_status(intake, code, "closed")
        assert view["answer"]["kind"] == "on_the_spot"
        assert view["answer"]["answered_by"] == "Chủ tịch UBND thành phố, Thành phố C"

        # Within the ward's authority: stays at the ward.
        r = await intake.post(
            "/api/v1/opinions",
            json={"text": "Rác thải ở ngõ 3 chưa được thu gom", "channel": "online"},
            headers=headers("front-key"),
        )
        view = await wait_status(intake, r.json()["tracking_code"], "assigned")
        assert view["holder"] is None


async def test_an_operator_escalates_by_hand(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    shape = {"w": ("ward", "d"), "d": ("district", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        intake = await chain.start("w", "intake")
        ward = await chain.start("w", "assignment")
        await chain.start("w", "scheduling")
        district = await chain.start("d", "assignment")
        chain.connect()
        r = await intake.post(
            "/api/v1/opinions",
            json={"text": "Ngập úng kéo dài ở khu dân cư mới", "channel": "direct"},
            headers=headers("front-key"),
        )
        code = r.json()["tracking_code"]
        await wait_status(intake, code, "assigned")
        url = f"/api/v1/opinions/{code}/escalate"
        reason = {"reason": "Cần vốn đầu tư hệ thống thoát nước của quận"}
        assert (await ward.post(url, json=reason, headers=headers("agency-key"))).status_code == 403
        r = await ward.post(url, json=reason, headers=headers("operator-key"))
        assert r.status_code == 200, r.text
        assert r.json()["escalation"]["reason"] == reason["reason"]
        r = await ward.post(url, json=reason, headers=headers("operator-key"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "cannot_escalate"

        view = await wait_status(intake, code, "accepted")
        assert view["holder"] == "Quận D"
        timers = chain.apps[("w", "scheduling")].state.scheduling.repository

        async def cancelled() -> bool:
            docs = await timers.for_tracking_code(code)
            return bool(docs) and all(t["status"] == "cancelled" for t in docs)

        await eventually(cancelled, what="the ward's timers to stop")
        r = await district.post(url, json=reason, headers=headers("operator-key"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_parent"


async def test_link_and_parent_down_then_back_every_escalation_arrives_once(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    shape = {"w1": ("ward", "d"), "w2": ("ward", "d"), "d": ("district", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        w1 = await chain.start("w1", "intake")
        await chain.start("w1", "assignment")
        await chain.start("w1", "notification")
        w2 = await chain.start("w2", "intake")
        await chain.start("w2", "assignment")
        await chain.start("d", "assignment")
        chain.connect()

        # The district's service stops, and the link from ward 1 goes down too.
        await chain.stop("d", "assignment")
        rabbit_admin.delete_shovel(chain.ids["w1"], f"doithoai-link-{chain.ids['w1']}-to-{chain.ids['d']}")

        codes = {"w1": [], "w2": []}  # type: ignore[var-annotated]
        for i in range(5):
            body = {"text": f"{LAND} ({i})", "channel": "direct", "citizen": {"email": f"dan{i}@example.vn"}}
            r = await w1.post("/api/v1/opinions", json=body, headers=headers("front-key"))
            codes["w1"].append(r.json()["tracking_code"])
        for i in range(3):
            r = await w2.post(
                "/api/v1/opinions", json={"text": f"{LAND} [{i}]", "channel": "written"}, headers=headers("front-key")
            )
            codes["w2"].append(r.json()["tracking_code"])

        w1_vhost_url = chain.env("w1")["DOITHOAI_BROKER_URL"]
        d_url = chain.env("d")["DOITHOAI_BROKER_URL"]

        async def waiting() -> bool:
            return (
                await message_count(w1_vhost_url, f"link.to.{chain.ids['d']}") == 5
                and await message_count(d_url, "assignment.inbound") == 3
            )

        await eventually(waiting, what="escalations to wait: 5 in ward 1's link queue, 3 at the district")
        for code in codes["w1"] + codes["w2"]:
            assert (await status(w1 if code in codes["w1"] else w2, code))["status"] == "escalated"

        await chain.start("d", "assignment")
        chain.connect()
        for code in codes["w1"]:
            await wait_status(w1, code, "accepted")
        for code in codes["w2"]:
            await wait_status(w2, code, "accepted")

        district = chain.apps[("d", "assignment")].state.runtime.db["assignments"]
        assert await district.count_documents({}) == 8

        async def one_notice_each() -> bool:
            notices = [m["To"] for m in smtp.mail.messages() if "chuyển tới" in m["Subject"]]
            return sorted(notices) == sorted(f"dan{i}@example.vn" for i in range(5))

        await eventually(one_notice_each, what="one escalation notice per citizen")

        # A duplicated acknowledgement (same event id, through the same link) changes nothing.
        ward_repo = chain.apps[("w1", "assignment")].state.runtime.db["assignments"]
        doc = await ward_repo.find_one({"tracking_code": codes["w1"][0]})
        ack_id = doc["processed"][0]
        duplicate = Envelope.new(
            EscalationAcknowledgedV1(
                from_instance=chain.ids["d"],
                to_instance=chain.ids["w1"],
                opinion_id=doc["_id"],
                tracking_code=doc["tracking_code"],
                holder_instance=chain.ids["d"],
                holder_name="Quận D",
                holder_level="district",
                agency_name="Nơi khác",
                due_at=doc["due_at"],
                acknowledged_at=doc["due_at"],
            ),
            Source(level="district", instance=chain.ids["d"], service="assignment"),
            event_id=uuid.UUID(ack_id),
        )
        await through_link(d_url, chain.ids["w1"], duplicate)
        # And a second request for an opinion the district already has adds nothing either.
        request = EscalationRequestedV1(
            from_instance=chain.ids["w1"],
            to_instance=chain.ids["d"],
            opinion_id=doc["_id"],
            tracking_code=doc["tracking_code"],
            origin_instance=chain.ids["w1"],
            chain=[chain.ids["w1"]],
            field="land",
            head="committee_chair",
            channel="direct",
            text=LAND,
            submitted_at=doc["submitted_at"],
            reason="lặp lại",
            requested_at=doc["submitted_at"],
        )
        again = Envelope.new(request, Source(level="ward", instance=chain.ids["w1"], service="assignment"))
        await through_link(w1_vhost_url, chain.ids["d"], again)

        async def both_consumed() -> bool:
            stored = await ward_repo.find_one({"_id": doc["_id"]})
            return (
                await message_count(d_url, "assignment.inbound") == 0
                and await message_count(w1_vhost_url, "assignment.inbound") == 0
                and stored is not None
            )

        await eventually(both_consumed, what="the duplicates to be consumed")
        await asyncio.sleep(1.5)
        assert await district.count_documents({}) == 8
        after = await ward_repo.find_one({"_id": doc["_id"]})
        assert after["holder"]["agency_name"] != "Nơi khác"
        notices = [m for m in smtp.mail.messages() if "chuyển tới" in m["Subject"]]
        assert len(notices) == 5


async def test_link_messages_that_break_the_rules_are_dead_lettered(rabbit_admin, secantus, smtp, caplog) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import REGISTRY

    def refused() -> dict[str, float]:  # by reason, whatever the instance label of the sample
        counts: dict[str, float] = {}
        for metric in REGISTRY.collect():
            for sample in metric.samples if metric.name == "doithoai_link_messages_refused" else []:
                if sample.name.endswith("_total"):
                    counts[sample.labels["reason"]] = counts.get(sample.labels["reason"], 0) + sample.value
        return counts

    refused_before = refused()
    shape = {"w1": ("ward", "d"), "w2": ("ward", "d"), "d": ("district", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        await chain.start("d", "assignment")
        await chain.start("w1", "assignment")
        await chain.start("w2", "assignment")
        chain.connect()
        ids = chain.ids
        w1_url = chain.env("w1")["DOITHOAI_BROKER_URL"]
        d_url = chain.env("d")["DOITHOAI_BROKER_URL"]
        now = datetime.now(UTC)

        def request(**changes) -> dict:  # type: ignore[no-untyped-def, type-arg]
            body = {
                "from_instance": ids["w1"],
                "to_instance": ids["d"],
                "opinion_id": str(uuid.uuid4()),
                "tracking_code": "YK-AAAA-0001",
                "origin_instance": ids["w1"],
                "chain": [ids["w1"]],
                "field": "land",
                "head": "committee_chair",
                "channel": "direct",
                "text": LAND,
                "submitted_at": now.isoformat(),
                "reason": "x",
                "requested_at": now.isoformat(),
            }
            return {**body, **changes}

        bad = {
            "unknown child": request(from_instance="phuong-khac", origin_instance="phuong-khac", chain=["phuong-khac"]),
            "forged sender": request(from_instance=ids["w2"], origin_instance=ids["w2"], chain=[ids["w2"]]),
            "not the parent": request(to_instance="thanh-pho-khac"),
            "wrong origin chain": request(chain=[ids["w2"], ids["w1"]]),
            "loop": request(chain=[ids["d"], ids["w1"]], origin_instance=ids["d"]),
        }
        for body in bad.values():
            envelope = {
                "event_id": str(uuid.uuid4()),
                "event_type": "escalation.requested.v1",
                "occurred_at": now.isoformat(),
                "source": {"level": "ward", "instance": ids["w1"], "service": "assignment"},
                "correlation_id": body["opinion_id"],
                "payload": body,
            }
            await publish_raw(
                w1_url,
                f"{ids['d']}.escalation.requested.v1",
                json.dumps(envelope).encode(),
                exchange_name="doithoai.links",
                message_id=envelope["event_id"],
                content_type="application/json",
            )
        # A child is not the parent: progress news must not come up from below.
        ack = {
            "event_id": str(uuid.uuid4()),
            "event_type": "escalation.acknowledged.v1",
            "occurred_at": now.isoformat(),
            "source": {"level": "ward", "instance": ids["w1"], "service": "assignment"},
            "correlation_id": "x",
            "payload": {
                "from_instance": ids["w1"],
                "to_instance": ids["d"],
                "opinion_id": str(uuid.uuid4()),
                "tracking_code": "YK-AAAA-0002",
                "holder_instance": ids["w1"],
                "holder_name": "P",
                "holder_level": "ward",
                "agency_name": "A",
                "due_at": now.isoformat(),
                "acknowledged_at": now.isoformat(),
            },
        }
        await publish_raw(
            w1_url,
            f"{ids['d']}.escalation.acknowledged.v1",
            json.dumps(ack).encode(),
            exchange_name="doithoai.links",
            message_id=ack["event_id"],
            content_type="application/json",
        )

        async def dead() -> bool:
            return (
                # the bad requests, and the acknowledgement that came the wrong way
                await message_count(d_url, "assignment.inbound.dead") == len(bad) + 1
            )

        await eventually(dead, what="every refused message in a dead-letter queue")
        district = chain.apps[("d", "assignment")].state.runtime.db["assignments"]
        assert await district.count_documents({}) == 0
        # Counted by reason, each once (the registry is the whole test process's: count what this test added).
        added = {reason: count - refused_before.get(reason, 0) for reason, count in refused().items()}
        added = {reason: count for reason, count in added.items() if count}
        assert added == {"unknown_child": 1, "sender_mismatch": 1, "not_addressed_here": 1, "not_parent": 1}, added
        logged = " ".join(r.getMessage() for r in caplog.records if r.name == "doithoai.consumer")
        for reason in ("unknown_child", "sender_mismatch", "not_addressed_here", "not_parent", "loop", "chain must"):
            assert reason in logged, logged


async def test_period_summaries_roll_up_to_the_city(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]

    shape = {"w1": ("ward", "d"), "w2": ("ward", "d"), "d": ("district", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        intake = {short: await chain.start(short, "intake") for short in shape}
        assign = {short: await chain.start(short, "assignment") for short in shape}
        chain.connect()

        async def submit(short: str, text: str, channel: str = "direct") -> str:
            r = await intake[short].post(
                "/api/v1/opinions", json={"text": text, "channel": channel}, headers=headers("front-key")
            )
            return r.json()["tracking_code"]

        rubbish = await submit("w1", "Rác thải ngõ 3 chưa được thu gom")
        await submit("w1", "Đường ngõ 5 nhiều ổ gà", "front_collected")
        land = await submit("w1", LAND, "written")
        await submit("w2", "Trạm y tế phường thiếu thuốc", "online")
        await submit("d", LAND)
        await submit("c", "Đề nghị thành phố mở thêm tuyến xe buýt")

        await wait_status(intake["w1"], rubbish, "assigned")
        r = await assign["w1"].post(
            f"/api/v1/opinions/{rubbish}/answer",
            json={"kind": "written", "text": "Đã xử lý", "document_number": "12/UBND"},
            headers=headers("agency-key"),
        )
        assert r.status_code == 200
        await wait_status(intake["w1"], land, "accepted")
        r = await assign["d"].post(
            f"/api/v1/opinions/{land}/answer",
            json={"kind": "written", "text": "Đã cấp sổ"},
            headers=headers(agency_key("phong-tai-nguyen-moi-truong")),
        )
        assert r.status_code == 200
        await wait_status(intake["w1"], land, "closed")

        period = str(datetime.now(VIETNAM).year)
        for short in ("w1", "w2"):
            r = await assign[short].post(f"/api/v1/summary/report?period={period}", headers=headers("operator-key"))
            assert r.status_code == 200, r.text

        async def district_has_both() -> bool:
            r = await assign["d"].get(f"/api/v1/summary?period={period}", headers=headers("operator-key"))
            return len(r.json()["summary"]["children"]) == 2

        await eventually(district_has_both, what="both wards' summaries at the district")
        r = await assign["d"].post(f"/api/v1/summary/report?period={period}", headers=headers("operator-key"))
        assert r.status_code == 200

        async def city_view():  # type: ignore[no-untyped-def]
            r = await assign["c"].get(f"/api/v1/summary?period={period}", headers=headers("front-key"))
            body = r.json()
            return body if body["summary"]["children"] else None

        body = await eventually(city_view, what="the district's summary at the city")
        summary, total = body["summary"], body["total"]
        [district] = summary["children"]
        assert district["instance"] == chain.ids["d"]
        assert sorted(w["instance"] for w in district["children"]) == sorted([chain.ids["w1"], chain.ids["w2"]])
        assert district["own"]["received"] == 1 and district["own"]["handled_for_children"] == 1
        assert summary["own"]["received"] == 1
        assert total["received"] == 6
        assert total["by_channel"] == {"direct": 3, "front_collected": 1, "written": 1, "online": 1}
        assert total["by_field"]["land"] == 2
        assert total["by_outcome"] == {"answered_in_writing": 1, "escalated_to_district": 1, "pending": 4}
        assert total["escalated_to"] == {"district": 1}
        assert total["on_time"] == 2 and total["overdue"] == 0

        r = await assign["c"].post(f"/api/v1/summary/report?period={period}", headers=headers("operator-key"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_parent"
        r = await assign["c"].get("/api/v1/summary?period=2026-Q5", headers=headers("operator-key"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_period"


async def test_photos_follow_an_escalated_opinion_up_without_the_citizen(
    rabbit_admin, secantus, smtp, city_jurisdiction
) -> None:  # type: ignore[no-untyped-def]
    """A photo taken before the opinion went up and one added after both reach the district and, when it sends
    the opinion on, the city: re-encoded, without EXIF, file name, GPS or the citizen; each kept once, shown to
    staff and the agency given the opinion, never to a caller without a key."""
    from PIL import Image

    from tests.integration.test_media import jpeg_with_gps

    shape = {"w": ("ward", "d"), "d": ("district", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        rules = {"DOITHOAI_JURISDICTION_RULES": city_jurisdiction}
        intake = await chain.start("w", "intake")
        await chain.start("w", "assignment", **rules)
        district = await chain.start("d", "assignment", **rules)
        city = await chain.start("c", "assignment", **rules)
        chain.connect()

        citizen = {"name": "Phạm Thị Lan", "email": "lan@example.vn", "phone": "0912345678"}
        front = headers("front-key")
        r = await intake.post(
            "/api/v1/opinions", json={"text": LAND, "channel": "direct", "citizen": citizen}, headers=front
        )
        code = r.json()["tracking_code"]
        photo = ("pham-thi-lan-nha-so-5.jpg", jpeg_with_gps(), "image/jpeg")
        first = await intake.post(f"/api/v1/opinions/{code}/media", files=[("file", photo)], headers=front)
        assert first.status_code == 201, first.text
        await wait_status(intake, code, "accepted")  # at the city by now
        second = await intake.post(f"/api/v1/opinions/{code}/media", files=[("file", photo)], headers=front)
        assert second.status_code == 201, second.text  # added after the opinion went up
        sent = {first.json()[0]["media_id"], second.json()[0]["media_id"]}

        department = headers(agency_key("so-nong-nghiep-moi-truong"))

        async def at(client, hdrs) -> list | None:  # type: ignore[no-untyped-def, type-arg]
            r = await client.get(f"/api/v1/opinions/{code}/media", headers=hdrs)
            assert r.status_code == 200, r.text
            return r.json() if len(r.json()) == 2 else None

        listed = await eventually(lambda: at(city, department), what="both photos at the city", timeout=30)
        assert {m["media_id"] for m in listed} == sent
        assert {m["media_id"] for m in await at(district, headers("operator-key")) or []} == sent
        for item in listed:
            assert item["kind"] == "photo" and item["added_by"] == "staff"
            assert item["filename"] is None and item["suggested_location"] is None
            got = await city.get(item["url"].removeprefix("http://testserver"), headers=department)
            assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
            assert got.headers["cache-control"] == "private, no-store"
            assert "sandbox" in got.headers["content-security-policy"]
            image = Image.open(io.BytesIO(got.content))
            assert image.size == (1600, 1200) and not image.getexif() and b"MayAnhThu" not in got.content
            thumb = await city.get(item["thumbnail_url"].removeprefix("http://testserver"), headers=department)
            assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) == 320

        # Only with a key: never public, not to another agency.
        url = f"/api/v1/opinions/{code}/media/{listed[0]['media_id']}"
        assert (await city.get(url)).status_code == 401
        assert (await city.get(f"/api/v1/opinions/{code}/media")).status_code == 401
        assert (await city.get(url, headers=headers(agency_key("so-y-te")))).status_code == 403

        # The same photo again (as a resend after a lost confirm would bring it): kept once, not sent on again.
        ward_db = chain.apps[("w", "intake")].state.runtime.db
        record = await ward_db["media"].find_one({"_id": listed[0]["media_id"]})
        assert record["sent_up"] == [chain.ids["d"]] and not record.get("outbox")
        again = EscalationMediaAddedV1(
            from_instance=chain.ids["w"],
            to_instance=chain.ids["d"],
            opinion_id=record["opinion_id"],
            tracking_code=code,
            origin_instance=chain.ids["w"],
            media_id=record["_id"],
            data=base64.b64encode(jpeg_with_gps((300, 200))),
            added_by="staff",
            added_at=record["added_at"],
        )
        envelope = Envelope.new(again, Source(level="ward", instance=chain.ids["w"], service="intake"))
        w_url, d_url = chain.env("w")["DOITHOAI_BROKER_URL"], chain.env("d")["DOITHOAI_BROKER_URL"]
        await through_link(w_url, chain.ids["d"], envelope)

        async def consumed() -> bool:
            return await message_count(d_url, "assignment.inbound") == 0

        await eventually(consumed, what="the repeated photo consumed")
        await asyncio.sleep(1.5)
        for short in ("d", "c"):
            db = chain.apps[(short, "assignment")].state.runtime.db
            assert await db["media"].count_documents({}) == 2
            assert await db["media.files"].count_documents({}) == 4  # each photo and its thumbnail, once
            kept = json.dumps(await db["media"].find().to_list(None), default=str, ensure_ascii=False)
            kept += json.dumps(await db["media.files"].find().to_list(None), default=str, ensure_ascii=False)
            assert not any(word in kept for word in ("Phạm Thị Lan", "lan@example.vn", "0912345678", "pham-thi-lan"))
        assert await message_count(d_url, "assignment.inbound.dead") == 0


async def test_the_city_staff_see_the_photos_of_an_opinion_from_below_in_the_console(
    rabbit_admin, secantus, smtp, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from services.console.accounts import Account
    from services.console.app import ConsoleSettings
    from services.console.app import create_app as console_app
    from shared.http import tokens
    from tests.integration.harness import CONSOLE_URLS, SERVICES, in_process, running
    from tests.integration.linked import patched_env
    from tests.integration.test_console_core import PASSWORD, sign_in
    from tests.integration.test_media import jpeg_with_gps

    private, public = tokens.new_key_pair()
    (tmp_path / "console.pem").write_text(private)
    shape = {"w": ("ward", "c"), "c": ("city", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        intake = await chain.start("w", "intake")
        await chain.start("w", "assignment")
        for service in SERVICES:
            await chain.start("c", service, DOITHOAI_CONSOLE_PUBLIC_KEY=public)
        chain.connect()
        r = await intake.post(
            "/api/v1/opinions", json={"text": LAND, "channel": "online"}, headers=headers("front-key")
        )
        code = r.json()["tracking_code"]
        photo = ("anh.jpg", jpeg_with_gps((640, 480)), "image/jpeg")
        r = await intake.post(f"/api/v1/opinions/{code}/media", files=[("file", photo)], headers=headers("front-key"))
        media_id = r.json()[0]["media_id"]
        city = chain.clients[("c", "assignment")]

        async def at_city():  # type: ignore[no-untyped-def]
            r = await city.get(f"/api/v1/opinions/{code}/media", headers=headers("operator-key"))
            return r.json() if r.status_code == 200 and r.json() else None

        await eventually(at_city, what="the photo at the city", timeout=30)

        with patched_env(chain.env("c", DOITHOAI_SIGNING_KEY_FILE=str(tmp_path / "console.pem"), **CONSOLE_URLS)):
            settings = ConsoleSettings()
        app = console_app(settings)
        in_process(app, {s: chain.apps[("c", s)] for s in SERVICES})
        async with running(app) as (console,):
            await app.state.accounts.add(
                Account("thu-ky", "Nguyễn Thị Thư", "Thư ký", ["secretary"]), PASSWORD, app.state.clock.now()
            )
            thumbnail = f"/y-kien/{code}/tep/{media_id}/anh-nho"
            assert (await console.get(thumbnail)).status_code == 303  # signed in only
            assert (await sign_in(console, "thu-ky", PASSWORD)).status_code == 303
            page = await console.get(f"/y-kien/{code}")
            assert page.status_code == 200, page.text
            assert "Cấp dưới chuyển lên" in page.text and f'src="{thumbnail}"' in page.text
            got = await console.get(thumbnail)
            assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
            assert got.headers["cache-control"] == "private, no-store"
            assert (await console.get(f"/y-kien/{code}/tep/{media_id}")).status_code == 200
            # The city's public side knows no such opinion, photos included.
            console.cookies.clear()
            assert (await console.get(f"/theo-doi/{code}/tep/{media_id}")).status_code == 404
