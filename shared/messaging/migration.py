"""Retiring the per-event queues of an instance made before December 2026.

Such an instance had one quorum queue per (service, event type), `<service>.<event type>` and
`<service>.inbound.<event type>`, each with its dead-letter queue: 45 quorum queues where there
are 5 now (`shared.messaging.topology`). `python -m deploy.links prepare`, which runs as the
broker's administrator before the services start, retires them in every vhost that still has
them:

1. declare the new topology, so the new queues exist and are bound;
2. unbind each old queue, so nothing more is routed there (a message published in between
   reaches both; consumers ignore a repeated event);
3. move what it holds into the new queue, and what its dead-letter queue holds into the new
   dead-letter queue (headers kept: the operator still sees why each one died). What came from a
   neighbour goes back into `assignment.inbound`, dead or not, the way the dead-letter replay tool
   sends it (the broker's proof of origin carried in `REPLAYED_USER_ID`): only the administrator
   can publish there, and a message the link guard refused is refused again, in the open;
4. delete both once they hold nothing and nobody consumes them (quorum queues know no "delete if
   empty": the check is a passive declare just before; an old service still consuming leaves its
   queue for the next run).

Each message is published with a confirm before it is acked (`shared.messaging.moves`): a crash in
between repeats it, never loses it.
"""

from __future__ import annotations

import logging
from typing import Any

import aio_pika

from shared.messaging.moves import move_messages
from shared.messaging.topology import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    INBOUND_EXCHANGE,
    consumed,
    consumer_queues,
    dead_letter_queue_name,
    declare_topology,
    per_event_queue_name,
    queue_name,
    replay_routing_key,
)

log = logging.getLogger(__name__)


def per_event_queues() -> dict[str, tuple[str, bool, str]]:
    """Every old per-event consumer queue → (the queue that replaces it, whether inbound, its event type)."""
    return {
        per_event_queue_name(service, event_type, inbound=inbound): (
            queue_name(service, inbound=inbound),
            inbound,
            event_type,
        )
        for service, inbound in consumer_queues()
        for event_type in consumed(service, inbound=inbound)
    }


async def _delete_if_idle(channel: aio_pika.abc.AbstractChannel, name: str) -> None:
    underlay = await channel.get_underlay_channel()
    state = await underlay.queue_declare(name, passive=True)
    if state.message_count or state.consumer_count:
        log.warning("%s still has %d messages and %d consumers: kept until the next run", name,
                    state.message_count, state.consumer_count)  # fmt: skip
        return
    await underlay.queue_delete(name)


async def retire_per_event_queues(amqp_url: str, present: set[str]) -> dict[str, int]:
    """In the vhost of `amqp_url` (as the administrator), retire the old queues among `present` (the
    vhost's queue names); returns how many messages each one handed over."""
    old = {name: target for name, target in per_event_queues().items() if name in present}
    if not old:
        return {}
    moved: dict[str, int] = {}
    connection: Any = await aio_pika.connect(amqp_url)
    async with connection:
        await declare_topology(connection)
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        events = await channel.get_exchange(EVENTS_EXCHANGE.name)
        inbound_exchange = await channel.get_exchange(INBOUND_EXCHANGE.name)
        dead_letters = await channel.get_exchange(DEAD_LETTER_EXCHANGE.name)
        for name, (target, inbound, event_type) in old.items():
            queue = await channel.declare_queue(name, passive=True)
            if inbound:
                await queue.unbind(inbound_exchange, routing_key=f"*.{event_type}")
            else:
                await queue.unbind(events, routing_key=event_type)
                await queue.unbind(events, routing_key=replay_routing_key(name))
            # Into the live queue: an internal one through its replay key, an inbound one by name.
            live, key = (channel.default_exchange, target) if inbound else (events, replay_routing_key(target))
            moved[name] = await move_messages(queue, live, key)
            await _delete_if_idle(channel, name)
            if dead_letter_queue_name(name) in present:
                dead = await channel.declare_queue(dead_letter_queue_name(name), passive=True)
                if inbound:
                    moved[name] += await move_messages(dead, live, key)
                else:
                    moved[name] += await move_messages(dead, dead_letters, target, keep_broker_headers=True)
                await _delete_if_idle(channel, dead.name)
            log.info("retired %s: %d messages handed to %s", name, moved[name], target)
    return moved
