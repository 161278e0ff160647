"""Messaging guarantees on the real broker: poison to the dead-letter queue, delivery limits, outbox."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

from faststream.rabbit import RabbitBroker, RabbitRouter

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from shared.events import Envelope, OpinionAnsweredV1, OpinionReceivedV1, Source
from shared.messaging.consumer import TransientError, consumes, subscriber
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
            return await message_count(broker_url, "assignment.opinion.received.v1.dead") == 3

        await eventually(three_dead, what="three messages in the dead-letter queue")

        db = AsyncMongoClient(env["DOITHOAI_MONGO_URL"])[f"{env['DOITHOAI_INSTANCE_ID'].replace('-', '_')}_assignment"]

        async def good_one_assigned() -> bool:
            return await db.assignments.count_documents({}) == 1

        await eventually(good_one_assigned, what="the valid message to be processed after the poison")
        assert await db.assignments.find_one({"_id": good.payload.opinion_id})
        assert await message_count(broker_url, "assignment.opinion.received.v1") == 0

    rejections = [r.getMessage() for r in caplog.records if r.name == "doithoai.consumer"]
    for poison in ("poison-1", "poison-2", "poison-3"):
        assert any(f"message {poison} (opinion.received.v1) rejected" in m for m in rejections), rejections
    assert any("opinion.received.v9" in m for m in rejections)

    dead = await drain(broker_url, "assignment.opinion.received.v1.dead")
    assert sorted(m.message_id for m in dead) == ["poison-1", "poison-2", "poison-3"]
    # RabbitMQ records why and from where each one was dead-lettered.
    assert all(m.headers["x-death"][0]["queue"] == "assignment.opinion.received.v1" for m in dead)
    assert all(m.headers["x-death"][0]["reason"] == "rejected" for m in dead)


async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit(broker_url: str) -> None:
    broker = RabbitBroker(broker_url)
    router = RabbitRouter()
    deliveries = 0

    @subscriber(router, "scheduling", OpinionAnsweredV1, prefetch=1)
    @consumes(attempts=1)
    async def always_failing(event: Envelope[OpinionAnsweredV1]) -> None:
        nonlocal deliveries
        deliveries += 1
        raise TransientError("database away")

    broker.include_router(router)
    await broker.connect()
    await declare_topology(broker)
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
            return await message_count(broker_url, "scheduling.opinion.answered.v1.dead") == 1

        await eventually(dead, timeout=60, what="the message to reach the dead-letter queue")
    finally:
        await broker.stop()
    assert deliveries > DELIVERY_LIMIT - 1  # tried as often as the limit allows, then parked
    [message] = await drain(broker_url, "scheduling.opinion.answered.v1.dead")
    assert body_of(message)["event_id"] == str(event.event_id)
    assert message.headers["x-death"][0]["reason"] == "delivery_limit"


async def test_an_event_the_broker_refused_stays_in_the_outbox_and_goes_out_later(
    env, broker_url: str, rabbit_admin, vhost: str, caplog
) -> None:  # type: ignore[no-untyped-def]
    """State saved, event not published: the outbox keeps it until the broker takes it."""
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

        rabbit_admin.set_permissions(vhost, "guest")  # publishing allowed again

        async def assigned() -> bool:
            return (await client.get(f"/api/v1/opinions/{code}")).json()["status"] == "assigned"

        await eventually(assigned, timeout=30, what="the relay to publish and the opinion to be assigned")
        assert (await opinions.find_one({"tracking_code": code}))["outbox"] == []


async def test_dead_letter_queues_are_classic_and_an_older_quorum_one_is_kept(broker_url: str, vhost: str) -> None:
    """Consumer and link queues stay quorum queues (delivery limit, no loss); dead-letter queues are classic
    (README "Scaling": half the quorum queues of a province). An instance made before keeps its quorum
    dead-letter queues: the topology is declared over them without an error."""
    import httpx

    from tests.conftest import RABBIT_MANAGEMENT

    older = "scheduling.opinion.answered.v1.dead"
    broker = RabbitBroker(broker_url)
    await broker.connect()
    try:
        channel = await broker._connection.channel()  # noqa: SLF001
        await channel.declare_queue(older, durable=True, arguments={"x-queue-type": "quorum"})
        await channel.close()
        await declare_topology(broker, ["ha-noi"])
        await declare_topology(broker, ["ha-noi"])  # and again, as every service does at every start
    finally:
        await broker.stop()
    with httpx.Client(base_url=RABBIT_MANAGEMENT, auth=("guest", "guest")) as http:
        types = {q["name"]: q["type"] for q in http.get(f"/api/queues/{vhost}").raise_for_status().json()}
    assert types[older] == "quorum"
    assert types["intake.opinion.classified.v1.dead"] == "classic"
    assert types["intake.opinion.classified.v1"] == "quorum"
    assert types["link.to.ha-noi"] == "quorum"
    assert {t for name, t in types.items() if name.endswith(".dead") and name != older} == {"classic"}
