"""The raw floor for the end-to-end benchmark: the same pipeline written by hand with aio-pika and
PyMongo, with nothing of doithoai in it (no FastStream, no pydantic, no HTTP, no templates).

It sends the database the same commands per opinion as the services do (captured with the
server's profiler and compared command by command: the same filters, update operators and
projections, not only the same number of round trips; on SecantusDB a point update whose filter
holds more than `_id` costs about half a millisecond more), with the same guarantees: quorum
queues with dead-lettering and a delivery limit, persistent messages, publisher confirms, manual
acks, journaled writes, the outbox written with the state and cleared after the confirm, consumers
made idempotent by the same guards; documents of the same size in collections with the same
indexes (on SecantusDB every write rewrites every index entry of the document). Four processes,
as four services:

  intake        (the driver) insert opinion + outbox → publish received → pull it from the outbox;
                consumes classified and assigned: one guarded update each (the status read model)
  assignment    consumes received: insert assignment + outbox → publish classified and
                assigned → pull them from the outbox → ack
  notification  consumes received: insert contact → ack; consumes assigned: read the agency →
                insert notification → send the mail over SMTP → mark it sent → ack
  scheduling    consumes assigned: count the closed marker → insert the four timers → ack
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aio_pika
import aiosmtplib
from pymongo import AsyncMongoClient

from shared.similarity import blocking_keys, signature
from shared.text import search_key

EXCHANGE = "floor.events"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PREFETCH = 32  # as the services' default
QUEUES = {
    "assignment": ["received"],
    "notification": ["received", "assigned"],
    "scheduling": ["assigned"],
    "intake": ["classified", "assigned"],
}


def _now() -> datetime:
    return datetime.now(UTC)


async def _channel(amqp: str) -> tuple[aio_pika.abc.AbstractRobustConnection, aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect_robust(amqp)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=PREFETCH)
    return connection, channel


async def declare(amqp: str) -> None:
    connection, channel = await _channel(amqp)
    async with connection:
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        dead = await channel.declare_exchange("floor.dead", aio_pika.ExchangeType.DIRECT, durable=True)
        for service, events in QUEUES.items():
            for event in events:
                name = f"floor.{service}.{event}"
                queue = await channel.declare_queue(
                    name,
                    durable=True,
                    arguments={
                        "x-queue-type": "quorum",
                        "x-delivery-limit": 10,
                        "x-dead-letter-exchange": "floor.dead",
                        "x-dead-letter-routing-key": name,
                        "x-dead-letter-strategy": "at-least-once",
                        "x-overflow": "reject-publish",
                    },
                )
                await queue.bind(exchange, routing_key=event)
                dlq = await channel.declare_queue(f"{name}.dead", durable=True, arguments={"x-queue-type": "quorum"})
                await dlq.bind(dead, routing_key=name)


async def publish(exchange: aio_pika.abc.AbstractExchange, event: str, body: dict[str, Any]) -> None:
    message = aio_pika.Message(
        json.dumps(body, default=str).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(uuid.uuid4()),
    )
    await exchange.publish(message, routing_key=event, mandatory=True)  # returns once confirmed


# As the services declare them (index_information() of a running ward), written out by hand:
# (keys, options) per index.
INDEXES: dict[str, dict[str, list[tuple[Any, dict[str, Any]]]]] = {
    "intake": {
        "opinions": [
            ("tracking_code", {"unique": True}), ([("submitted_at", -1)], {}),
            ([("stage", 1), ("overdue", 1)], {}), ([("conference_id", 1), ("submitted_at", 1)], {"sparse": True}),
            ([("history.at", 1)], {}), ([("similar.keys", 1)], {}), ("outbox.created_at", {}),
        ]
    },
    "assignment": {
        "assignments": [
            ([("tracking_code", 1), ("origin_instance", 1)], {"unique": True}), ([("status", 1), ("due_at", 1)], {}),
            ([("agency.id", 1), ("status", 1), ("due_at", 1)], {}),
            ("submitted_at", {}), ("counted_at", {}), ([("conference_id", 1), ("submitted_at", 1)], {"sparse": True}),
            ("outbox.created_at", {}),
        ]
    },
    "notification": {
        "notifications": [
            ([("opinion_id", 1), ("created_at", 1)], {}), ("tracking_code", {}),
            ([("recipient.agency_id", 1), ("created_at", 1)], {}),
            ([("status", 1), ("next_attempt_at", 1)], {"partialFilterExpression": {"status": "queued"}}),
            ([("awaiting_ack", 1), ("sent_at", 1)], {"partialFilterExpression": {"awaiting_ack": True}}),
            ("outbox.created_at", {}),
        ],
        "agencies": [("outbox.created_at", {})],
    },
    "scheduling": {
        "timers": [
            ([("status", 1), ("fire_at", 1)], {"partialFilterExpression": {"status": "pending"}}),
            ("opinion_id", {}), ("conference_id", {"sparse": True}),
        ]
    },
}  # fmt: skip


def _event(body: dict[str, Any]) -> dict[str, Any]:
    """An outbox entry: the event as it will be published, kept with the state until confirmed."""
    return {"event_id": str(uuid.uuid4()), "created_at": _now(), "body": json.dumps(body, default=str)}


def _pull(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Forget the confirmed outbox entries (others may have joined them meanwhile)."""
    return {"$pull": {"outbox": {"event_id": {"$in": [e["event_id"] for e in entries]}}}}


async def create_indexes(mongo: str) -> None:
    client: AsyncMongoClient = AsyncMongoClient(mongo, journal=True)
    for service, collections in INDEXES.items():
        for name, indexes in collections.items():
            for keys, options in indexes:
                await client[f"floor_{service}"][name].create_index(keys, **options)
    await client.close()


Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def consume(channel: aio_pika.abc.AbstractChannel, service: str, handlers: dict[str, Handler]) -> None:
    for event, handle in handlers.items():
        queue = await channel.get_queue(f"floor.{service}.{event}")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage, handle: Handler = handle) -> None:
            try:
                await handle({**json.loads(message.body), "event_id": message.message_id})
            except Exception:
                await message.reject()
                raise
            await message.ack()

        await queue.consume(on_message)


async def run_stage(service: str, amqp: str, mongo: str, smtp_port: int) -> None:
    db = AsyncMongoClient(mongo, journal=True)[f"floor_{service}"]
    connection, channel = await _channel(amqp)
    exchange = await channel.get_exchange(EXCHANGE)

    async def assign(body: dict[str, Any]) -> None:
        now = _now()
        doc = {
            "_id": body["opinion_id"],
            "tracking_code": body["tracking_code"],
            "origin_instance": "floor",
            "text": body["text"],
            "field": "traffic",
            "status": "assigned",
            "agency": {"id": "giao-thong", "name": "Ban Giao thông", "email": "gt@example.vn"},
            "assigned_at": now,
            "due_at": now + timedelta(days=30),
            "submitted_at": now,
        }
        event = {**body, "agency": doc["agency"], "assigned_at": now, "due_at": doc["due_at"]}
        doc["outbox"] = [_event(body), _event(event)]
        await db.assignments.insert_one(doc)
        await asyncio.gather(publish(exchange, "classified", body), publish(exchange, "assigned", event))
        await db.assignments.update_one({"_id": doc["_id"]}, _pull(doc["outbox"]))

    async def remember_contact(body: dict[str, Any]) -> None:
        contact = {"_id": body["opinion_id"], "tracking_code": body["tracking_code"], "name": None, "email": None}
        await db.contacts.insert_one(contact)

    async def notify(body: dict[str, Any]) -> None:
        agency = await db.agencies.find_one({"_id": body["agency"]["id"]}, {"outbox": 0})
        doc = {
            "_id": f"{body['opinion_id']}:assignment_notice",
            "opinion_id": body["opinion_id"],
            "tracking_code": body["tracking_code"],
            "recipient": {"agency_id": body["agency"]["id"], "email": body["agency"]["email"]},
            "subject": f"Giao xử lý ý kiến {body['tracking_code']}",
            "body": body["text"] * 8,  # the rendered notice
            "status": "queued",
            "attempts": 0,
            "created_at": _now(),
            "next_attempt_at": _now(),
            "lease_until": _now() + timedelta(minutes=5),
        }
        await db.notifications.insert_one(doc)
        mail = EmailMessage()
        mail["From"] = "doithoai@example.vn"
        mail["To"] = agency["email"] if agency else body["agency"]["email"]
        mail["Subject"] = f"[Floor] Giao xử lý ý kiến {body['tracking_code']}"
        mail.set_content(body["text"])
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=smtp_port, timeout=10)
        sent = {"status": "sent", "sent_at": _now(), "subject": mail["Subject"], "awaiting_ack": True}
        await db.notifications.update_one(
            {"_id": doc["_id"], "status": "queued"}, {"$set": {**sent, "lease_until": EPOCH}, "$inc": {"attempts": 1}}
        )

    async def set_timers(body: dict[str, Any]) -> None:
        if await db.closed.count_documents({"_id": body["opinion_id"]}, limit=1):
            return
        due = datetime.fromisoformat(body["due_at"])
        await db.timers.insert_many(
            [
                {
                    "_id": f"{body['opinion_id']}:{kind}",
                    "opinion_id": body["opinion_id"],
                    "fire_at": due - timedelta(days=days),
                    "status": "pending",
                    "agency": body["agency"],
                }
                for kind, days in (("r7", 7), ("r3", 3), ("r1", 1), ("overdue", 0))
            ]
        )

    def read_model(stage: int, before: int | None) -> Handler:
        """Fold the event into the status once: the event id guards against a second delivery."""

        async def fold(body: dict[str, Any]) -> None:
            query: dict[str, Any] = {"_id": body["opinion_id"], "processed": {"$ne": body["event_id"]}}
            if before is not None:
                query["stage"] = {"$lt": before}
            now = _now()
            update = {
                "$set": {"field": "traffic", "updated_at": now},
                "$addToSet": {"processed": body["event_id"]},
                "$push": {"history": {"at": now, "stage": stage, "note": f"Giai đoạn {stage}"}},
                "$max": {"stage": stage},
            }
            await db.opinions.update_one(query, update)

        return fold

    if service == "notification":
        await db.agencies.replace_one({"_id": "giao-thong"}, {"email": "gt@example.vn"}, upsert=True)
    handlers: dict[str, dict[str, Handler]] = {
        "assignment": {"received": assign},
        "notification": {"received": remember_contact, "assigned": notify},
        "scheduling": {"assigned": set_timers},
        "intake": {"classified": read_model(2, None), "assigned": read_model(3, 4)},
    }
    await consume(channel, service, handlers[service])
    async with connection:
        await asyncio.Future()  # until the process is terminated


def _stage_process(service: str, amqp: str, mongo: str, smtp_port: int) -> None:
    asyncio.run(run_stage(service, amqp, mongo, smtp_port))


class Floor:
    """The hand-written pipeline's processes; `submit` is the intake stage, run in the caller."""

    def __init__(self, amqp: str, mongo: str, smtp_port: int) -> None:
        self.amqp, self.mongo, self.smtp_port = amqp, mongo, smtp_port
        self.processes: list[multiprocessing.Process] = []

    async def __aenter__(self) -> Floor:
        await declare(self.amqp)
        await create_indexes(self.mongo)
        context = multiprocessing.get_context("spawn")
        for service in ("assignment", "notification", "scheduling", "intake"):
            process = context.Process(
                target=_stage_process, args=(service, self.amqp, self.mongo, self.smtp_port), daemon=True
            )
            process.start()
            self.processes.append(process)
        self.connection, channel = await _channel(self.amqp)
        self.exchange = await channel.get_exchange(EXCHANGE)
        self.db = AsyncMongoClient(self.mongo, journal=True)["floor_intake"]
        await asyncio.sleep(2)  # the consumers attach
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.connection.close()
        await self.db.client.close()
        for process in self.processes:
            process.terminate()
            process.join(10)

    def pids(self) -> dict[str, int]:
        services = ("assignment", "notification", "scheduling", "intake read model")
        return {name: p.pid for name, p in zip(services, self.processes, strict=True) if p.pid}

    async def submit(self, text: str) -> str:
        now = _now()
        code = f"YK-{uuid.uuid4().hex[:4].upper()}-{uuid.uuid4().hex[:4].upper()}"
        doc = {
            "_id": str(uuid.uuid4()),
            "tracking_code": code,
            "text": text,
            "stage": 1,
            "submitted_at": now,
            "entered_by": {"actor": "bench", "role": "front"},
            "history": [{"at": now, "stage": 1, "note": "Tiếp nhận ý kiến"}],
            "processed": [str(uuid.uuid4())],
            # What intake stores for staff search and the duplicate finder: the same storage work.
            "search": search_key(f"{text} {code} "),
            "similar": {"sig": (sig := signature(text)).as_dict(), "keys": blocking_keys(sig)},
        }
        doc["outbox"] = [_event({"opinion_id": doc["_id"], "tracking_code": code, "text": text})]
        await self.db.opinions.insert_one(doc)
        await publish(self.exchange, "received", {"opinion_id": doc["_id"], "tracking_code": code, "text": text})
        await self.db.opinions.update_one({"_id": doc["_id"]}, _pull(doc["outbox"]))
        return code
