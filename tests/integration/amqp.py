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
