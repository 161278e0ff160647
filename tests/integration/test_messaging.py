"""Messaging guarantees on the real broker: poison to the dead-letter queue, delivery limits, outbox."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime

import pytest
from faststream.rabbit import RabbitBroker, RabbitRouter

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from shared.events import Envelope, OpinionAnsweredV1, OpinionReceivedV1, Source
from shared.messaging.consumer import ServiceQueue, TransientError, consumes
from shared.messaging.topology import DELIVERY_LIMIT, declare_topology
from tests.integration.amqp import body_of, drain, message_count, publish_raw
from tests.integration.harness import eventually, headers, running

SOURCE = Source(level="ward", instance="test", service="test")


def received(opinion_id: str) -> Envelope[OpinionReceivedV1]:
    return Envelope.new(
        OpinionReceivedV1(
            opinion_id=opinion_id,
            tracking_code="YK-AAAA-BBBB",
            origin_instance="test",
            channel="written",
            text="Rác thải không được thu gom",
            submitted_at=datetime.now(UTC),
        ),
        SOURCE,
    )


async def test_malformed_and_unknown_version_messages_are_dead_lettered_and_the_consumer_lives_on(
    env, broker_url: str, secantus, caplog
) -> None:  # type: ignore[no-untyped-def]
    from pymongo import AsyncMongoClient

    app = assignment_app()
    async with running(app):
        good = received(str(uuid.uuid4()))
        wrong_version = json.loads(received(str(uuid.uuid4())).model_dump_json())
        wrong_version["event_type"] = "opinion.received.v9"
        missing_fields = json.loads(received(str(uuid.uuid4())).model_dump_json())
        del missing_fields["payload"]["text"]

        await publish_raw(broker_url, "opinion.received.v1", b"{not json", message_id="poison-1")
        await publish_raw(
            broker_url,
            "opinion.received.v1",
            json.dumps(wrong_version).encode(),
            message_id="poison-2",
            content_type="application/json",
        )
        await publish_raw(
            broker_url,
            "opinion.received.v1",
            json.dumps(missing_fields).encode(),
            message_id="poison-3",
            content_type="application/json",
        )
        await publish_raw(
            broker_url,
            "opinion.received.v1",
            good.model_dump_json().encode(),
            message_id=str(good.event_id),
            content_type="application/json",
        )

        async def three_dead() -> bool:
            return await message_count(broker_url, "assignment.events.dead") == 3

        await eventually(three_dead, what="three messages in the dead-letter queue")

        db = AsyncMongoClient(env["DOITHOAI_MONGO_URL"])[f"{env['DOITHOAI_INSTANCE_ID'].replace('-', '_')}_assignment"]

        async def good_one_assigned() -> bool:
            return await db.assignments.count_documents({}) == 1

        await eventually(good_one_assigned, what="the valid message to be processed after the poison")
        assert await db.assignments.find_one({"_id": good.payload.opinion_id})
        assert await message_count(broker_url, "assignment.events") == 0

    rejections = [r.getMessage() for r in caplog.records if r.name == "doithoai.consumer"]
    for poison in ("poison-1", "poison-2", "poison-3"):
        assert any(f"message {poison} (opinion.received.v1) rejected" in m for m in rejections), rejections
    assert any("opinion.received.v9" in m for m in rejections)

    dead = await drain(broker_url, "assignment.events.dead")
    assert sorted(m.message_id for m in dead) == ["poison-1", "poison-2", "poison-3"]
    # RabbitMQ records why and from where each one was dead-lettered.
    assert all(m.headers["x-death"][0]["queue"] == "assignment.events" for m in dead)
    assert all(m.headers["x-death"][0]["reason"] == "rejected" for m in dead)


async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit(broker_url: str) -> None:
    broker = RabbitBroker(broker_url)
    router = RabbitRouter()
    deliveries = 0

    @ServiceQueue(router, "scheduling", prefetch=1).handles(OpinionAnsweredV1)
    @consumes(attempts=1)
    async def always_failing(event: Envelope[OpinionAnsweredV1]) -> None:
        nonlocal deliveries
        deliveries += 1
        raise TransientError("database away")

    broker.include_router(router)
    await broker.connect()
    await declare_topology(broker._connection)  # noqa: SLF001
    await broker.start()
    try:
        event = Envelope.new(
            OpinionAnsweredV1(
                opinion_id="o",
                tracking_code="c",
                kind="written",
                text="t",
                answered_by="x",
                answered_at=datetime.now(UTC),
            ),
            SOURCE,
        )
        await publish_raw(
            broker_url,
            event.event_type,
            event.model_dump_json().encode(),
            message_id=str(event.event_id),
            content_type="application/json",
        )

        async def dead() -> bool:
            return await message_count(broker_url, "scheduling.events.dead") == 1

        await eventually(dead, timeout=60, what="the message to reach the dead-letter queue")
    finally:
        await broker.stop()
    assert deliveries > DELIVERY_LIMIT - 1  # tried as often as the limit allows, then parked
    [message] = await drain(broker_url, "scheduling.events.dead")
    assert body_of(message)["event_id"] == str(event.event_id)
    assert message.headers["x-death"][0]["reason"] == "delivery_limit"


@pytest.mark.parametrize("sweep_s", ["0", "600"])
async def test_an_event_the_broker_refused_stays_in_the_outbox_and_goes_out_later(
    env, broker_url: str, rabbit_admin, vhost: str, caplog, monkeypatch, sweep_s: str
) -> None:  # type: ignore[no-untyped-def]
    """State saved, event not published: the outbox keeps it until the broker takes it. The same when the
    relay sweeps the database only every ten minutes (hosted): a process that missed a publishing looks again
    at every interval until it is out."""
    monkeypatch.setenv("DOITHOAI_OUTBOX_SWEEP_S", sweep_s)
    caplog.set_level(logging.WARNING, logger="shared.storage.outbox")
    intake, assignment = intake_app(), assignment_app()
    async with running(intake, assignment) as (client, _):
        # The instance's user may no longer publish events: the broker refuses every publish to
        # the events exchange (queues stay writable so channels can still be restored).
        rabbit_admin.set_permissions(vhost, "guest", write=r"^(?!doithoai\.events$).*")
        r = await client.post(
            "/api/v1/opinions",
            json={"text": "Đèn đường ngõ 3 bị hỏng", "channel": "online"},
            headers=headers("front-key"),
        )
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]
        opinions = intake.state.runtime.db["opinions"]
        event_id = (await opinions.find_one({"tracking_code": code}))["outbox"][0]["event_id"]

        async def refused_thrice() -> bool:  # the inline publish, then the relay, tried and failed
            tries = [
                r
                for r in caplog.records
                if event_id in r.getMessage() and "left for the outbox relay" in r.getMessage()
            ]
            return len(tries) >= 3

        await eventually(refused_thrice, timeout=30, what="the inline publish and two relay passes to fail")
        doc = await opinions.find_one({"tracking_code": code})
        assert len(doc["outbox"]) == 1 and doc["outbox"][0]["event_type"] == "opinion.received.v1"
        assert (await client.get(f"/api/v1/opinions/{code}")).json()["status"] == "received"
        # What the gauge the alert watches is set to: a pass sends nothing and counts the document stuck.
        assert await intake.state.runtime.outbox.relay_once() == (0, 1)

        rabbit_admin.set_permissions(vhost, "guest")  # publishing allowed again

        async def assigned() -> bool:
            return (await client.get(f"/api/v1/opinions/{code}")).json()["status"] == "assigned"

        await eventually(assigned, timeout=30, what="the relay to publish and the opinion to be assigned")
        assert (await opinions.find_one({"tracking_code": code}))["outbox"] == []
        assert await intake.state.runtime.outbox.relay_once() == (0, 0)


async def test_an_instance_made_with_one_queue_per_event_is_moved_to_one_queue_per_service(
    broker_url: str, vhost: str, rabbit_admin
) -> None:  # type: ignore[no-untyped-def]
    """Before December 2026 every (service, event) pair had its own quorum queue. `deploy.links prepare` hands
    what they hold (live, dead, from a neighbour) to the new queues and deletes them; consumer and link queues
    are quorum queues, dead-letter queues classic; a second run finds nothing to do."""
    import aio_pika

    from deploy.dead_letters import replay
    from deploy.links import Credentials, Hierarchy, prepare
    from shared.messaging.links import REPLAYED_USER_ID
    from shared.messaging.migration import per_event_queues
    from shared.messaging.topology import DEAD_LETTER_EXCHANGE, replay_routing_key

    answered = json.loads(received(str(uuid.uuid4())).model_dump_json())  # any envelope will do
    connection = await aio_pika.connect(broker_url)
    async with connection:  # the old layout, as the code before declared it
        channel = await connection.channel(publisher_confirms=True)
        events = await channel.declare_exchange("doithoai.events", "topic", durable=True)
        inbound = await channel.declare_exchange("doithoai.inbound", "topic", durable=True)
        dead_letters = await channel.declare_exchange(DEAD_LETTER_EXCHANGE.name, "direct", durable=True)
        for name, (_, is_inbound, event_type) in per_event_queues().items():
            arguments = {
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                "x-dead-letter-routing-key": name,
            }
            queue = await channel.declare_queue(name, durable=True, arguments=arguments)
            if is_inbound:
                await queue.bind(inbound, f"*.{event_type}")
            else:
                await queue.bind(events, event_type)
                await queue.bind(events, replay_routing_key(name))
            dead = await channel.declare_queue(f"{name}.dead", durable=True, arguments={"x-queue-type": "classic"})
            await dead.bind(dead_letters, name)

        def message(event_id: str, **kw: object) -> aio_pika.Message:
            return aio_pika.Message(json.dumps(answered).encode(), message_id=event_id, delivery_mode=2, **kw)  # type: ignore[arg-type]

        await events.publish(message("waiting"), routing_key="opinion.received.v1")  # assignment's, notification's
        from_child = message("from-child", user_id="guest")
        await channel.default_exchange.publish(from_child, routing_key="assignment.inbound.escalation.requested.v1")
        died = {"x-death": [{"queue": "scheduling.opinion.answered.v1", "reason": "rejected", "count": 1}]}
        await dead_letters.publish(message("died", headers=died), routing_key="scheduling.opinion.answered.v1")

    hierarchy = Hierarchy(instances=[{"id": vhost, "name": "Phường Thử", "level": "ward"}])  # type: ignore[list-item]
    credentials = Credentials(shovel="s", instances={vhost: "instance-password"})
    try:
        await asyncio.to_thread(prepare, hierarchy, credentials)
        names = rabbit_admin.queue_names(vhost)
        await asyncio.to_thread(prepare, hierarchy, credentials)  # nothing left to retire
        types = {q["name"]: q["type"] for q in rabbit_admin.queues(vhost)}
    finally:
        rabbit_admin.delete_user(f"doithoai-{vhost}")
    assert names == set(types) and not names & per_event_queues().keys()
    assert {t for name, t in types.items() if name.endswith(".dead")} == {"classic"}
    assert {t for name, t in types.items() if not name.endswith(".dead")} == {"quorum"}
    assert len(types) == 10  # 5 consumer queues and their dead-letter queues, for 45 and 45 before

    assert [m.message_id for m in await drain(broker_url, "assignment.events")] == ["waiting"]
    assert [m.message_id for m in await drain(broker_url, "notification.events")] == ["waiting"]
    [from_child] = await drain(broker_url, "assignment.inbound")
    assert from_child.headers[REPLAYED_USER_ID] == "guest"  # the broker's proof of origin, as a replay carries it
    # The dead letter keeps why it died, and replaying it reaches the queue that replaced its own.
    assert await message_count(broker_url, "scheduling.events.dead") == 1
    assert await replay(broker_url, "scheduling.events.dead") == 1
    assert [m.message_id for m in await drain(broker_url, "scheduling.events")] == ["died"]
    # New events reach the new queues only.
    await publish_raw(broker_url, "opinion.merged.v1", b"{}", message_id="after")
    assert [await message_count(broker_url, q) for q in ("intake.events", "scheduling.events")] == [1, 1]
