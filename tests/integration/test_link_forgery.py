"""Forged link messages, as an attacker holding an instance's own broker credentials (or the admin's)
would send them, through real shovels and vhosts: refused, dead-lettered, audited, nothing changed."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused
from openpyxl import load_workbook

from shared.clock import VIETNAM
from shared.events import PHOTO_UP_MAX_BYTES
from shared.messaging.links import shovel_name
from tests.conftest import AMQP_HOST
from tests.integration.amqp import message_count, publish_raw
from tests.integration.harness import eventually, headers
from tests.integration.linked import linked

LAND = "Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho thửa đất số 45, tờ bản đồ 12"


def envelope(event_type: str, payload: dict[str, Any], *, instance: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": {"level": "district", "instance": instance, "service": "assignment"},
        "correlation_id": payload.get("opinion_id", "x"),
        "payload": payload,
    }


async def send(url: str, exchange: str, routing_key: str, body: dict[str, Any], **props: Any) -> None:
    await publish_raw(
        url,
        routing_key,
        json.dumps(body).encode(),
        exchange_name=exchange,
        message_id=body["event_id"],
        content_type="application/json",
        **props,
    )


async def audit(client, action: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = await client.get("/api/v1/audit", params={"action": action}, headers=headers("operator-key"))
    return r.json()


async def test_a_forged_answer_from_above_never_reaches_the_citizen(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    shape = {"w": ("ward", "d"), "d": ("district", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        intake = await chain.start("w", "intake")
        ward = await chain.start("w", "assignment")
        await chain.start("w", "notification")
        district = await chain.start("d", "assignment")
        chain.connect()
        ids = chain.ids
        r = await intake.post(
            "/api/v1/opinions",
            json={"text": LAND, "channel": "direct", "citizen": {"email": "dan@example.vn"}},
            headers=headers("front-key"),
        )
        code = r.json()["tracking_code"]

        async def at_district():  # type: ignore[no-untyped-def]
            r = await district.get(f"/api/v1/opinions/{code}", headers=headers("operator-key"))
            return r.json() if r.status_code == 200 else None

        held = await eventually(at_district, what="the escalation at the district")
        answer = {
            "from_instance": ids["d"],
            "to_instance": ids["w"],
            "opinion_id": held["opinion_id"],
            "tracking_code": code,
            "holder_instance": ids["d"],
            "holder_name": "Quận D",
            "holder_level": "district",
            "kind": "written",
            "text": "FORGED ANSWER",
            "answered_by": "Kẻ giả mạo",
            "answered_at": datetime.now(UTC).isoformat(),
        }
        ward_user = chain.env("w")["DOITHOAI_BROKER_URL"]
        # 1. The ward's own broker user may not write into its inbound exchange, nor reach an inbound queue
        # by name through the default exchange: the broker refuses both.
        for exchange, key in (
            ("doithoai.inbound", f"{ids['w']}.escalation.answered.v1"),
            ("", "assignment.inbound"),
        ):
            with pytest.raises(ChannelAccessRefused):
                await send(ward_user, exchange, key, envelope("escalation.answered.v1", answer, instance=ids["d"]))
        # 2. With the admin's account (which can write there) and a copied x-shovelled header naming the
        # district's shovel: the consumer believes only the broker-checked user_id, and refuses.
        admin_url = f"amqp://guest:guest@{AMQP_HOST}/{ids['w']}"
        forged_header = {"x-shovelled": [{"shovel-name": shovel_name(ids["d"], ids["w"])}]}
        await send(
            admin_url,
            "doithoai.inbound",
            f"{ids['w']}.escalation.answered.v1",
            envelope("escalation.answered.v1", answer, instance=ids["d"]),
            headers=forged_header,
        )
        # 3. The admin cannot stamp the link's user_id either: the broker checks it against the login.
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
            await send(
                admin_url,
                "doithoai.inbound",
                f"{ids['w']}.escalation.answered.v1",
                envelope("escalation.answered.v1", answer, instance=ids["d"]),
                user_id=shovel_name(ids["d"], ids["w"]),
            )
        dead = "assignment.inbound.dead"
        await eventually(
            lambda: _is(message_count(ward_user, dead), 1), what="the forged answer in the dead-letter queue"
        )
        [entry] = await audit(ward, "link.refused")
        assert entry["target"] == code and entry["details"]["reason"] == "sender_mismatch"
        assert entry["actor_id"] == "no-link" and entry["roles"] == ["link"]
        assert (await intake.get(f"/api/v1/opinions/{code}")).json()["status"] != "closed"

        # The real answer, from the district's agency, still comes down and closes it.
        r = await district.post(
            f"/api/v1/opinions/{code}/answer",
            json={"kind": "written", "text": "Quận đã cấp giấy chứng nhận."},
            headers=headers(f"agency-key-{held['agency_id']}"),
        )
        assert r.status_code == 200, r.text

        async def closed():  # type: ignore[no-untyped-def]
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view if view["status"] == "closed" else None

        view = await eventually(closed, what="the real answer at the ward")
        assert view["answer"]["text"] == "Quận đã cấp giấy chứng nhận."
        mails = [m.get_content() for m in smtp.mail.messages() if m["To"] == "dan@example.vn"]
        assert mails and not any("FORGED" in m for m in mails)


async def _is(count, wanted: int) -> bool:  # type: ignore[no-untyped-def]
    return await count == wanted


def summary(instance: str, name: str, *, received: int, at: datetime, children: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    period = str(datetime.now(VIETNAM).year)
    return {
        "instance": instance,
        "name": name,
        "level": "ward",
        "period": period,
        "generated_at": at.isoformat(),
        "own": {"received": received, "by_channel": {"direct": received}},
        "children": list(children),
    }


async def test_a_ward_cannot_overwrite_a_siblings_statistics(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    shape = {"w1": ("ward", "d"), "w2": ("ward", "d"), "d": ("district", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        for short in shape:
            await chain.start(short, "assignment")
        district = chain.clients[("d", "assignment")]
        chain.connect()
        ids, now = chain.ids, datetime.now(UTC)
        period = str(datetime.now(VIETNAM).year)
        w1_user, w2_user = chain.env("w1")["DOITHOAI_BROKER_URL"], chain.env("w2")["DOITHOAI_BROKER_URL"]

        def report(sender: str, body: dict[str, Any], sequence: int) -> dict[str, Any]:
            payload = {"from_instance": ids[sender], "to_instance": ids["d"], "summary": body, "sequence": sequence}
            return envelope("summary.reported.v1", payload, instance=ids[sender])

        async def through_link(url: str, body: dict[str, Any]) -> None:
            await send(url, "doithoai.links", f"{ids['d']}.summary.reported.v1", body)

        # The sibling's real reports: the third one first, then an older one arriving late.
        await through_link(w2_user, report("w2", summary(ids["w2"], "Phường W2", received=7, at=now), 3))
        await through_link(w2_user, report("w2", summary(ids["w2"], "Phường W2", received=2, at=now), 2))
        # w1 (Bồ Đề) posing as w2 (Ngọc Thụy) in every way the attack tried.
        fake = summary(ids["w2"], "Phường W2", received=9999, at=now + timedelta(days=365 * 70))
        attacks = {
            "summary_of_another": report("w1", fake, 99),
            "sender_mismatch": report("w2", fake, 99),  # through w1's own link, claiming to be w2
            "summary_from_the_future": report("w1", summary(ids["w1"], "P1", received=1, at=fake_at(now)), 99),
            "summary_tree": report(
                "w1",
                summary(ids["w1"], "P1", received=1, at=now, children=[summary(ids["w2"], "x", received=1, at=now)]),
                99,
            ),
        }
        for body in attacks.values():
            await through_link(w1_user, body)
        d_user = chain.env("d")["DOITHOAI_BROKER_URL"]
        dead = "assignment.inbound.dead"
        await eventually(lambda: _is(message_count(d_user, dead), len(attacks)), what="every forged summary refused")

        r = await district.get(f"/api/v1/summary?period={period}", headers=headers("operator-key"))
        children = {c["instance"]: c for c in r.json()["summary"]["children"]}
        assert set(children) == {ids["w2"]}
        assert children[ids["w2"]]["own"]["received"] == 7  # report 3 kept; the late report 2 did not replace it
        reasons = sorted(e["details"]["reason"] for e in await audit(district, "link.refused"))
        assert reasons == sorted(attacks)
        # A later report (by the sequence the sender keeps, not by a timestamp it supplies) replaces it. Its
        # name is a spreadsheet formula: the district's reports must not turn it into a live one.
        formula = '=HYPERLINK("http://ke-gian.example/x","Bấm vào đây")'
        await through_link(w2_user, report("w2", summary(ids["w2"], formula, received=8, at=now), 4))

        async def replaced() -> bool:
            r = await district.get(f"/api/v1/summary?period={period}", headers=headers("operator-key"))
            return r.json()["summary"]["children"][0]["own"]["received"] == 8

        await eventually(replaced, what="the newer report to replace the older")
        csv_text = (
            await district.get(f"/api/v1/reports?period={period}&format=csv", headers=headers("front-key"))
        ).text
        rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
        assert ["'" + formula] == [cell for row in rows for cell in row if "HYPERLINK" in cell]
        xlsx = await district.get(f"/api/v1/reports?period={period}&format=xlsx", headers=headers("front-key"))
        book = load_workbook(io.BytesIO(xlsx.content))
        cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value == formula]
        assert cells and all(c.data_type == "s" for c in cells)  # text, not a formula
        with zipfile.ZipFile(io.BytesIO(xlsx.content)) as package:
            assert not any("<f>" in package.read(n).decode() for n in package.namelist() if n.endswith(".xml"))


def fake_at(now: datetime) -> datetime:
    return now.replace(year=2099)


async def test_photos_come_only_from_the_child_that_sent_the_opinion_and_are_real(rabbit_admin, secantus, smtp) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_media import ELF, jpeg_with_gps, pdf

    shape = {"w1": ("ward", "d"), "w2": ("ward", "d"), "d": ("district", None)}
    async with linked(rabbit_admin, secantus.url, smtp.port, shape) as chain:
        intake = await chain.start("w1", "intake")
        await chain.start("w1", "assignment")
        await chain.start("w2", "assignment")
        district = await chain.start("d", "assignment")
        chain.connect()
        ids = chain.ids
        r = await intake.post(
            "/api/v1/opinions", json={"text": LAND, "channel": "direct"}, headers=headers("front-key")
        )
        code = r.json()["tracking_code"]

        async def at_district():  # type: ignore[no-untyped-def]
            r = await district.get(f"/api/v1/opinions/{code}", headers=headers("operator-key"))
            return r.json() if r.status_code == 200 else None

        held = await eventually(at_district, what="the escalation at the district")

        def photo(sender: str, data: bytes | str, **changes: Any) -> dict[str, Any]:
            payload = {
                "from_instance": ids[sender],
                "to_instance": ids["d"],
                "opinion_id": held["opinion_id"],
                "tracking_code": code,
                "origin_instance": ids["w1"],
                "media_id": uuid.uuid4().hex,
                "data": data if isinstance(data, str) else base64.b64encode(data).decode(),
                "added_by": "citizen",
                "added_at": datetime.now(UTC).isoformat(),
                **changes,
            }
            return envelope("escalation.media_added.v1", payload, instance=ids[sender])

        w1_user, w2_user = chain.env("w1")["DOITHOAI_BROKER_URL"], chain.env("w2")["DOITHOAI_BROKER_URL"]
        good = jpeg_with_gps((300, 200))
        attacks = {  # sent through the link of the first
            "another ward's opinion": (w2_user, photo("w2", good)),
            "posing as the ward that sent it": (w2_user, photo("w1", good)),
            "a stranger": (w1_user, photo("w1", good, from_instance="phuong-khac")),
            "a program": (w1_user, photo("w1", ELF)),
            "a document, not a photo": (w1_user, photo("w1", pdf())),
            "not base64": (w1_user, photo("w1", "day-khong-phai-base64!")),
            "a made-up media id": (w1_user, photo("w1", good, media_id="../../etc/passwd")),
            "too large": (w1_user, photo("w1", b"\xff\xd8\xff" + bytes(PHOTO_UP_MAX_BYTES))),
        }
        for url, body in attacks.values():
            await send(url, "doithoai.links", f"{ids['d']}.escalation.media_added.v1", body)
        d_user = chain.env("d")["DOITHOAI_BROKER_URL"]
        dead = "assignment.inbound.dead"
        await eventually(lambda: _is(message_count(d_user, dead), len(attacks)), what="every bad photo refused")
        db = chain.apps[("d", "assignment")].state.runtime.db
        assert await db["media"].count_documents({}) == 0
        assert await db["media.files"].count_documents({}) == 0
        assert (await district.get(f"/api/v1/opinions/{code}/media", headers=headers("operator-key"))).json() == []
        reasons = sorted(e["details"]["reason"] for e in await audit(district, "link.refused"))
        assert reasons == ["sender_mismatch", "unknown_child"]

        # The real ward's real photo is kept.
        await send(w1_user, "doithoai.links", f"{ids['d']}.escalation.media_added.v1", photo("w1", good))

        async def kept():  # type: ignore[no-untyped-def]
            r = await district.get(f"/api/v1/opinions/{code}/media", headers=headers("operator-key"))
            return r.json()

        [item] = await eventually(kept, what="the real photo at the district")
        assert item["added_by"] == "citizen" and item["kind"] == "photo"
