"""What operators rely on: readiness that follows the broker and the database, consumers that come back,
metrics that move under a real flow, and dead letters that can be seen."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from shared.events import Envelope, OpinionClassifiedV1, Source
from tests.integration.amqp import publish_raw
from tests.integration.harness import eventually, headers, running
from tests.integration.proxy import Proxy


@pytest.fixture
def env(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_MONITOR_INTERVAL_S", "0.5")
    monkeypatch.setenv("DOITHOAI_GAUGE_INTERVAL_S", "0.5")
    return env


async def test_readiness_follows_broker_and_database_and_consumers_come_back(env, monkeypatch, broker_url) -> None:  # type: ignore[no-untyped-def]
    amqp = urlsplit(env["DOITHOAI_BROKER_URL"])
    mongo = urlsplit(env["DOITHOAI_MONGO_URL"])
    broker_proxy, db_proxy = Proxy(amqp.hostname, amqp.port or 5672), Proxy(mongo.hostname, mongo.port)
    await broker_proxy.start()
    await db_proxy.start()
    monkeypatch.setenv("DOITHOAI_BROKER_URL", f"amqp://guest:guest@127.0.0.1:{broker_proxy.port}{amqp.path}")
    monkeypatch.setenv("DOITHOAI_MONGO_URL", f"mongodb://127.0.0.1:{db_proxy.port}/?serverSelectionTimeoutMS=2000")
    app = intake_app()
    async with running(app) as (client,):

        async def ready(expected: int):  # type: ignore[no-untyped-def]
            r = await client.get("/health/ready")
            return r.json() if r.status_code == expected else None

        assert (await client.get("/health/ready")).json() == {
            "status": "ready",
            "checks": {"broker": True, "database": True},
        }
        r = await client.post("/api/v1/opinions", json={"text": "Cống thoát nước tắc", "channel": "online"},
                              headers=headers("front-key"))  # fmt: skip
        code, opinion_id = r.json()["tracking_code"], r.json()["opinion_id"]

        await broker_proxy.stop()
        body = await eventually(lambda: ready(503), what="readiness to fail without the broker")
        assert body["checks"] == {"broker": False, "database": True}
        assert (await client.get("/health/live")).status_code == 200
        await broker_proxy.start()
        await eventually(lambda: ready(200), timeout=30, what="readiness to recover with the broker")

        # The consumers reconnected too: an event published now is consumed.
        event = Envelope.new(
            OpinionClassifiedV1(opinion_id=opinion_id, tracking_code=code, field="environment",
                                head="committee_chair", method="rules"),
            Source(level="ward", instance="test", service="assignment"),
        )  # fmt: skip
        await publish_raw(broker_url, event.event_type, event.model_dump_json().encode(),
                          message_id=str(event.event_id), content_type="application/json")  # fmt: skip

        async def classified() -> bool:
            return (await client.get(f"/api/v1/opinions/{code}")).json()["status"] == "classified"

        await eventually(classified, timeout=30, what="the consumer to come back after the outage")

        await db_proxy.stop()
        body = await eventually(lambda: ready(503), timeout=30, what="readiness to fail without the database")
        assert body["checks"]["database"] is False
        r = await client.get(f"/api/v1/opinions/{code}")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "database_unavailable" and r.headers["Retry-After"] == "5"
        await db_proxy.start()
        await eventually(lambda: ready(200), timeout=30, what="readiness to recover with the database")
    await broker_proxy.stop()
    await db_proxy.stop()


async def test_metrics_move_under_a_real_flow(env, broker_url) -> None:  # type: ignore[no-untyped-def]
    intake, assignment = intake_app(), assignment_app()
    async with running(intake, assignment) as (client, routing):

        def sample(text: str, name: str, **labels: str) -> float:
            # The registry is the process's: series of earlier tests' instances are there too.
            if not name.startswith("faststream"):
                labels["instance"] = env["DOITHOAI_INSTANCE_ID"]
            for line in text.splitlines():
                if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        before = (await client.get("/metrics")).text
        received_before = sample(before, "doithoai_opinions_received_total", channel="online")
        for text in ("Rác thải ở chợ", "Đường ngõ 3 ổ gà"):
            await client.post(
                "/api/v1/opinions", json={"text": text, "channel": "online"}, headers=headers("front-key")
            )
        await publish_raw(broker_url, "opinion.received.v1", b"not json", message_id=f"poison-{uuid.uuid4()}")

        async def moved():  # type: ignore[no-untyped-def]
            intake_text = (await client.get("/metrics")).text
            routing_text = (await routing.get("/metrics")).text
            done = (
                sample(intake_text, "doithoai_open_opinions", status="assigned") == 2
                and sample(routing_text, "doithoai_queue_messages", queue="assignment.events.dead") == 1
            )
            return (intake_text, routing_text) if done else None

        intake_text, routing_text = await eventually(moved, what="gauges to follow the flow")
        assert sample(intake_text, "doithoai_opinions_received_total", channel="online") == received_before + 2
        assert sample(routing_text, "doithoai_opinions_classified_total", field="environment") >= 1
        assert sample(routing_text, "doithoai_receipt_to_assignment_seconds_count") >= 2
        assert sample(routing_text, "doithoai_messages_rejected_total", event_type="opinion.received.v1") >= 1
        assert "faststream_received_messages_total" in routing_text  # FastStream's per-handler metrics
        assert sample(intake_text, "doithoai_events_published_total", event_type="opinion.received.v1") >= 2
