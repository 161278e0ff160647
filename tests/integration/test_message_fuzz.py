"""Message fuzzing on every queue of every service: malformed JSON, wrong schema versions, huge
payloads, missing properties and headers. Each lands in its queue's dead-letter queue, the
consumers live on, and nothing else changes: no document written, no event published."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from shared.messaging.links import shovel_name
from shared.messaging.middleware import size_limit
from shared.messaging.topology import (
    INBOUND_SUBSCRIPTIONS,
    SUBSCRIPTIONS,
    consumed,
    consumer_queues,
    dead_letter_queue_name,
    queue_name,
)
from tests.integration.amqp import message_count, publish_raw
from tests.integration.harness import eventually, headers, running

CHILD = "phuong-con"


@pytest.fixture
def env(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_CHILD_IDS", json.dumps([CHILD]))
    return env


def envelope(event_type: str, payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": {"level": "ward", "instance": CHILD, "service": "assignment"},
        "correlation_id": "fuzz",
        "payload": payload,
        **changes,
    }


def battery(event_type: str) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(what, body, message properties) of the bad messages sent for one event type."""
    json_props = {"content_type": "application/json", "message_id": str(uuid.uuid4())}
    wrong_version = event_type.rsplit(".v", 1)[0] + ".v9"
    return [
        ("not JSON", b"\xff\xfe{not json", {"message_id": str(uuid.uuid4())}),
        ("JSON, not an object", b"[1, 2, 3]", json_props),
        ("an unknown version", json.dumps(envelope(wrong_version, {})).encode(), json_props),
        ("a naive time, no payload", json.dumps(envelope(event_type, {}, occurred_at="2026-01-01T08:00")).encode(), {}),
        # Over the limit of its queue (routing keys end with the event type; photos sent up may be larger).
        (
            "huge",
            json.dumps(envelope(event_type, {"text": "x" * (size_limit(f"x.{event_type}") + 1)})).encode(),
            json_props,
        ),
        ("no properties, nothing but a type", json.dumps({"event_type": event_type}).encode(), {}),
    ]


def unshovelled_escalation(instance: str) -> bytes:
    """A well-formed escalation from a real child, but not delivered by that child's shovel."""
    now = datetime.now(UTC).isoformat()
    payload = {
        "from_instance": CHILD,
        "to_instance": instance,
        "opinion_id": str(uuid.uuid4()),
        "tracking_code": "YK-AAAA-0001",
        "origin_instance": CHILD,
        "chain": [CHILD],
        "field": "land",
        "head": "committee_chair",
        "channel": "direct",
        "text": "Xin cấp giấy chứng nhận quyền sử dụng đất",
        "submitted_at": now,
        "reason": "vượt thẩm quyền",
        "requested_at": now,
    }
    return json.dumps(envelope("escalation.requested.v1", payload)).encode()


async def snapshot(mongo_url: str, instance: str) -> dict[str, list[Any]]:
    """Every document of every service database of the instance."""
    client: AsyncMongoClient = AsyncMongoClient(mongo_url)
    try:
        state = {}
        for service in SUBSCRIPTIONS:
            db = client[f"{instance.replace('-', '_')}_{service}"]
            for name in sorted(await db.list_collection_names()):
                state[f"{service}.{name}"] = await db[name].find().sort("_id", 1).to_list(None)
        return state
    finally:
        await client.close()


async def test_every_queue_dead_letters_bad_messages_and_nothing_changes(env, broker_url, secantus, caplog) -> None:  # type: ignore[no-untyped-def]
    instance = env["DOITHOAI_INSTANCE_ID"]
    caplog.set_level(logging.ERROR, logger="doithoai.consumer")
    async with running(intake_app(), assignment_app(), scheduling_app(), notification_app()) as clients:
        before = await eventually(lambda: _settled(secantus.url, instance), what="the services to settle")
        sent: dict[str, int] = {}
        for event_type in {e for events in SUBSCRIPTIONS.values() for e in events}:
            for _, body, props in battery(event_type):
                await publish_raw(broker_url, event_type, body, **props)
            sent[event_type] = len(battery(event_type))
        for event_type in {e for events in INBOUND_SUBSCRIPTIONS.values() for e in events}:
            bodies: list[tuple[bytes, dict[str, Any]]] = [(body, {}) for _, body, _ in battery(event_type)]
            if event_type == "escalation.requested.v1":
                # Forged origins: no link at all, and a copied x-shovelled header naming the child's link.
                forged = {"headers": {"x-shovelled": [{"shovel-name": shovel_name(CHILD, instance)}]}}
                bodies += [(unshovelled_escalation(instance), {}), (unshovelled_escalation(instance), forged)]
            for body, props in bodies:
                await publish_raw(
                    broker_url, f"{instance}.{event_type}", body, exchange_name="doithoai.inbound", **props
                )
            sent[f"inbound.{event_type}"] = len(bodies)

        queues = {  # each consumer queue → its dead-letter queue, and how many bad messages were routed to it
            queue_name(service, inbound=inbound): (
                dead_letter_queue_name(queue_name(service, inbound=inbound)),
                sum(sent[("inbound." if inbound else "") + e] for e in consumed(service, inbound=inbound)),
            )
            for service, inbound in consumer_queues()
        }

        async def all_dead() -> bool:
            return all([await message_count(broker_url, dlq) == expected for dlq, expected in queues.values()])

        await eventually(all_dead, timeout=60, what="every bad message in its dead-letter queue")
        for queue in queues:
            assert await message_count(broker_url, queue) == 0, queue
        after = await snapshot(secantus.url, instance)
        # The only trace a refused message leaves is the audit entry of each refused link message.
        audited = after.pop("assignment.audit", [])
        assert [(e["action"], e["details"]["reason"]) for e in audited] == [("link.refused", "sender_mismatch")] * 2
        before.pop("assignment.audit", None)
        assert after == before, "a refused message changed stored state"

        # The consumers are alive: a real opinion still goes all the way.
        intake = clients[0]
        r = await intake.post("/api/v1/opinions", json={"text": "Đèn đường tổ 3 bị hỏng", "channel": "online"},
                              headers=headers("front-key"))  # fmt: skip
        code = r.json()["tracking_code"]

        async def assigned() -> bool:
            return (await intake.get(f"/api/v1/opinions/{code}")).json()["status"] == "assigned"

        await eventually(assigned, what="a valid opinion to be assigned after the fuzzing")

    refusals = [r.getMessage() for r in caplog.records if r.name == "doithoai.consumer"]
    routed = sum(len(consumed(service, inbound=inbound)) for service, inbound in consumer_queues())
    assert sum("over the limit" in m for m in refusals) == routed  # one huge message of each type, in each queue
    assert sum("sender_mismatch" in m and "no link" in m for m in refusals) == 2, refusals


async def _settled(mongo_url: str, instance: str) -> dict[str, list[Any]] | None:
    """The stored state once start-up work (seeding, replicas) is done: two equal looks a second apart."""
    first = await snapshot(mongo_url, instance)
    await asyncio.sleep(1)
    return first if first and await snapshot(mongo_url, instance) == first else None
