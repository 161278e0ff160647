"""Looking at queues directly over AMQP (the management API's counts lag by seconds)."""

from __future__ import annotations

import json
from typing import Any

import aio_pika


async def message_count(broker_url: str, queue: str) -> int:
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


async def listen(broker_url: str, *event_types: str) -> str:
    """A queue of the test's own bound to `event_types` on the events exchange (declared if need be): what
    the services published, by type (their own queues hold every type they consume)."""
    name = "test." + "+".join(event_types)
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("doithoai.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(name, durable=True)
        for event_type in event_types:
            await queue.bind(exchange, routing_key=event_type)
    return name


async def publish_raw(
    broker_url: str, routing_key: str, body: bytes, *, exchange_name: str = "doithoai.events", **properties: Any
) -> None:
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name)
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties),
            routing_key=routing_key,
            mandatory=True,
        )


async def drain(broker_url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take every message off a queue (acking them) and return them."""
    taken = []
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        while (message := await declared.get(fail=False)) is not None:
            await message.ack()
            taken.append(message)
    return taken


def body_of(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    return json.loads(message.body)
