"""Exchanges and queues of one instance: who consumes which event, and where failures go.

Every service declares the whole topology at start-up (idempotent), so an event published
before its consumer ever ran still has a queue waiting for it. Each (service, event) pair has
its own durable quorum queue with a delivery limit; a message that fails too often, or is
rejected as malformed, moves to that queue's own dead-letter queue where an operator can
inspect and replay it.

Linked instances talk through three more pieces. A message for a neighbour (parent or child)
is published to `doithoai.links` with routing key `<neighbour>.<event type>` and waits in the
durable queue `link.to.<neighbour>`; RabbitMQ's shovel plugin moves it, with publisher
confirms, into the neighbour's `doithoai.inbound` exchange, where that instance's consumers
of link events have their own queues (`<service>.inbound.<event type>`). Internal events and
link messages never share an exchange, so nothing received from a neighbour is forwarded by
accident.
"""

from __future__ import annotations

from typing import Any

import aiormq
from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

EVENTS_EXCHANGE = RabbitExchange("doithoai.events", type=ExchangeType.TOPIC, durable=True)
LINKS_EXCHANGE = RabbitExchange("doithoai.links", type=ExchangeType.TOPIC, durable=True)
INBOUND_EXCHANGE = RabbitExchange("doithoai.inbound", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTER_EXCHANGE = RabbitExchange("doithoai.dead-letter", type=ExchangeType.DIRECT, durable=True)

# Part of the queue's identity: every service declares the same queues with the same
# arguments, and RabbitMQ refuses a re-declaration that differs. Change with a migration.
DELIVERY_LIMIT = 10

SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": (
        "opinion.classified.v1",
        "opinion.assigned.v1",
        "opinion.answered.v1",
        "opinion.due_soon.v1",
        "opinion.overdue.v1",
        "opinion.escalated.v1",
        "opinion.escalation_updated.v1",
        "notification.failed.v1",
        "notification.acknowledged.v1",
        "conference.updated.v1",
        "opinion.due_changed.v1",
        "opinion.redirected.v1",
        "opinion.tabled.v1",
        "opinion.answer_corrected.v1",
        "opinion.merged.v1",
    ),
    "assignment": (
        "opinion.received.v1",
        "opinion.escalated.v1",
        "agency.updated.v1",
        "conference.updated.v1",
        "conference.dossier_due.v1",
    ),
    "scheduling": (
        "opinion.assigned.v1",
        "opinion.answered.v1",
        "opinion.escalated.v1",
        "opinion.due_changed.v1",
        "opinion.redirected.v1",
        "opinion.merged.v1",
    ),
    "notification": (
        "opinion.received.v1",
        "opinion.assigned.v1",
        "opinion.answered.v1",
        "opinion.due_soon.v1",
        "opinion.overdue.v1",
        "opinion.escalation_updated.v1",
        "opinion.redirected.v1",
        "conference.updated.v1",
        "conference.dossier_ready.v1",
        "conference.conclusion_issued.v1",
        "conference.results_ready.v1",
        "opinion.answer_corrected.v1",
        "opinion.merged.v1",
    ),
}

# Link events consumed from neighbours, through the inbound exchange.
INBOUND_SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "assignment": (
        "escalation.requested.v1",
        "escalation.acknowledged.v1",
        "escalation.forwarded.v1",
        "escalation.answered.v1",
        "escalation.media_added.v1",
        "summary.reported.v1",
    ),
}


def queue_name(service: str, event_type: str, *, inbound: bool = False) -> str:
    return f"{service}.inbound.{event_type}" if inbound else f"{service}.{event_type}"


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def link_queue_name(neighbour: str) -> str:
    return f"link.to.{neighbour}"


def replay_routing_key(queue: str) -> str:
    """The routing key that reaches one consumer queue alone: a dead letter goes back by it (no event
    type starts with `replay.`, so nothing else is ever routed there)."""
    return f"replay.{queue}"


def link_routing_key(neighbour: str, event_type: str) -> str:
    return f"{neighbour}.{event_type}"


def event_queue(service: str, event_type: str, *, inbound: bool = False) -> RabbitQueue:
    """The consumer queue of `service` for `event_type` (from a neighbour when `inbound`)."""
    table = INBOUND_SUBSCRIPTIONS if inbound else SUBSCRIPTIONS
    if event_type not in table.get(service, ()):
        raise ValueError(f"{service} has no {'inbound ' if inbound else ''}subscription to {event_type}")
    name = queue_name(service, event_type, inbound=inbound)
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        # Inbound messages are addressed `<this instance>.<event type>`; only ours arrive here.
        routing_key=f"*.{event_type}" if inbound else event_type,
        arguments={
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": name,
            # Lossless dead-lettering from quorum queues needs both of these.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def dead_letter_queue(queue: str) -> RabbitQueue:
    """A classic durable queue: dead letters wait here, rarely, for an operator; they need no delivery
    limit and no poison handling, which are what the consumer queues are quorum queues for. A quorum
    queue is a Raft member with its own log and memory: at 127 instances on one broker, 37 dead-letter
    queues each made half of 9,600 quorum queues (README, "Scaling"). An instance created before this
    keeps its quorum dead-letter queues (`declare_topology` leaves them as they are)."""
    return RabbitQueue(
        dead_letter_queue_name(queue),
        queue_type=QueueType.CLASSIC,
        durable=True,
        routing_key=queue,
        arguments={"x-queue-type": "classic"},
    )


def link_queue(neighbour: str) -> RabbitQueue:
    """Where messages for a neighbour wait for the shovel; no delivery limit: they must not be dropped."""
    return RabbitQueue(
        link_queue_name(neighbour),
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=f"{neighbour}.#",
    )


def all_queues() -> list[tuple[RabbitQueue, RabbitQueue, RabbitExchange]]:
    """Every (consumer queue, its dead-letter queue, the exchange it is bound to) of an instance."""
    tables = [(SUBSCRIPTIONS, False, EVENTS_EXCHANGE), (INBOUND_SUBSCRIPTIONS, True, INBOUND_EXCHANGE)]
    return [
        (
            event_queue(service, event_type, inbound=is_inbound),
            dead_letter_queue(queue_name(service, event_type, inbound=is_inbound)),
            exchange,
        )
        for table, is_inbound, exchange in tables
        for service, event_types in table.items()
        for event_type in event_types
    ]


async def declare_topology(broker: RabbitBroker, neighbours: list[str] = ()) -> None:  # type: ignore[assignment]
    """Declare exchanges, queues, dead-letter queues, link queues and bindings; safe to repeat.

    On a channel of its own: FastStream caches declared queues by name and would otherwise hand a
    subscriber this channel's queue object instead of one on the subscriber's own channel."""
    connection: Any = broker._connection  # noqa: SLF001 (the broker's connection, opened by connect())
    channel = await connection.channel()
    try:
        exchanges = {
            ex.name: await channel.declare_exchange(ex.name, ex.type.value, durable=True)
            for ex in (EVENTS_EXCHANGE, LINKS_EXCHANGE, INBOUND_EXCHANGE, DEAD_LETTER_EXCHANGE)
        }

        async def declare(queue: RabbitQueue, exchange: str, *routing_keys: str) -> None:
            nonlocal channel
            try:
                declared = await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)
            except aiormq.exceptions.ChannelPreconditionFailed:
                if (queue.arguments or {}).get("x-queue-type") != "classic":
                    raise
                # A dead-letter queue of an older instance, still a quorum queue: kept as it is.
                channel = await connection.channel()
                declared = await channel.declare_queue(queue.name, passive=True)
            for key in (queue.routing_key, *routing_keys):
                await declared.bind(exchanges[exchange], routing_key=key)

        for queue, dlq, exchange in all_queues():
            # Internal queues can also be reached alone, for replaying their dead letters.
            replay = (replay_routing_key(queue.name),) if exchange is EVENTS_EXCHANGE else ()
            await declare(queue, exchange.name, *replay)
            await declare(dlq, DEAD_LETTER_EXCHANGE.name)
        for neighbour in neighbours:
            await declare(link_queue(neighbour), LINKS_EXCHANGE.name)
    finally:
        await channel.close()
