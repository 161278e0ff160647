"""Moving messages from one queue to another: replaying dead letters, retiring old queues."""

from __future__ import annotations

from collections.abc import Callable

import aio_pika

from shared.messaging.links import REPLAYED_USER_ID

Message = aio_pika.abc.AbstractIncomingMessage


async def move_messages(
    source: aio_pika.abc.AbstractQueue,
    exchange: aio_pika.abc.AbstractExchange,
    route: str | Callable[[Message], str],
    *,
    keep_broker_headers: bool = False,
) -> int:
    """Move every message of `source` to `exchange` under the routing key `route` (or the one it gives
    each message), each published (persistent, confirmed, mandatory) before it is acked: a crash in
    between leaves a copy in both, which the consumers' idempotency absorbs. `x-` headers (delivery
    count, deaths) are dropped unless `keep_broker_headers`. The broker refuses a user_id that is not
    the publisher's own, so the one a message arrived with travels in `REPLAYED_USER_ID`, where the link
    guard reads it. If `route` raises, the message is put back and the error raised. Returns how many
    moved."""
    moved = 0
    while (message := await source.get(no_ack=False, fail=False)) is not None:
        try:
            routing_key = route if isinstance(route, str) else route(message)
        except Exception:
            await message.nack(requeue=True)
            raise
        headers = dict(message.headers or {})
        if not keep_broker_headers:
            headers = {k: v for k, v in headers.items() if not k.startswith("x-")}
        if message.user_id:
            headers[REPLAYED_USER_ID] = message.user_id
        await exchange.publish(
            aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                type=message.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )
        await message.ack()
        moved += 1
    return moved
