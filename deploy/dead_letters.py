"""Dead-lettered messages: look at them, and send them back to the queue they failed in.

Replaying is lossless: each message is republished (persistent, confirmed) to its original queue
before it is acknowledged in the dead-letter queue; a crash in between leaves a copy in both,
which the consumer's idempotency absorbs.
"""

from __future__ import annotations

import json
from typing import Any

import aio_pika

from shared.messaging.migration import per_event_queues
from shared.messaging.moves import move_messages


def _origin(message: aio_pika.abc.AbstractIncomingMessage) -> str | None:
    """The queue the message died in, or the one that replaced it (a per-event queue of an older instance)."""
    deaths = (message.headers or {}).get("x-death") or []
    if not deaths:
        return None
    queue = str(deaths[0].get("queue"))
    return per_event_queues().get(queue, (queue,))[0]


async def peek(amqp: str, queue: str, limit: int = 20) -> list[dict[str, Any]]:
    """Read up to `limit` messages and put them back untouched."""
    connection = await aio_pika.connect(amqp)
    seen = []
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        held = []
        for _ in range(limit):
            message = await q.get(fail=False, no_ack=False)
            if message is None:
                break
            held.append(message)
            seen.append(
                {
                    "message_id": message.message_id,
                    "routing_key": message.routing_key,
                    "death": json.loads(json.dumps((message.headers or {}).get("x-death") or [], default=str)),
                    "body": message.body.decode("utf-8", "replace"),
                }
            )
        for message in held:
            await message.nack(requeue=True)
    return seen


async def replay(amqp: str, queue: str) -> int:
    """Move every message back to the queue it was dead-lettered from; returns how many moved."""
    connection = await aio_pika.connect(amqp)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        q = await channel.declare_queue(queue, passive=True)

        def origin(message: aio_pika.abc.AbstractIncomingMessage) -> str:
            if (found := _origin(message)) is None:
                raise RuntimeError(f"message {message.message_id} in {queue} does not say where it came from")
            return found

        return await move_messages(q, channel.default_exchange, origin)
