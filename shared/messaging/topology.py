"""Exchanges and queues of one instance: who consumes which event, and where failures go.

Every service declares the whole topology at start-up (idempotent), so an event published
before its consumer ever ran still has a queue waiting for it. Each service has one durable
quorum queue with a delivery limit, `<service>.events`, bound to every event type it consumes
(assignment has a second one, `assignment.inbound`, for what neighbours send). A message that
fails too often, or is rejected as malformed, moves to that queue's own dead-letter queue
(`<queue>.dead`) where an operator can inspect and replay it. One queue per service rather than
one per (service, event): 5 quorum queues per instance instead of 45, which is what lets a
province host 127 instances on one broker (README, "Scaling"); the handlers are chosen by the
envelope's event type (`shared.messaging.consumer.ServiceQueue`).

Linked instances talk through three more pieces. A message for a neighbour (parent or child)
is published to `doithoai.links` with routing key `<neighbour>.<event type>` and waits in the
durable queue `link.to.<neighbour>`; RabbitMQ's shovel plugin moves it, with publisher
confirms, into the neighbour's `doithoai.inbound` exchange, bound to `assignment.inbound` by
`*.<event type>`. Internal events and link messages never share an exchange, so nothing
received from a neighbour is forwarded by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

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


def queue_name(service: str, *, inbound: bool = False) -> str:
    return f"{service}.inbound" if inbound else f"{service}.events"


def per_event_queue_name(service: str, event_type: str, *, inbound: bool = False) -> str:
    """The queue an instance made before December 2026 had for one (service, event) pair; only
    `shared.messaging.migration` still looks for these."""
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


def consumed(service: str, *, inbound: bool = False) -> tuple[str, ...]:
    """The event types `service` consumes (from neighbours when `inbound`)."""
    table = INBOUND_SUBSCRIPTIONS if inbound else SUBSCRIPTIONS
    if service not in table:
        raise ValueError(f"{service} has no {'inbound ' if inbound else ''}queue")
    return table[service]


def consumer_queue(service: str, *, inbound: bool = False) -> RabbitQueue:
    """The consumer queue of `service` (for events from neighbours when `inbound`). Declared and bound by
    `declare_topology` alone: a subscriber only looks it up (`declare=False`)."""
    consumed(service, inbound=inbound)
    name = queue_name(service, inbound=inbound)
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        declare=False,
        arguments={
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": name,
            # Lossless dead-lettering from quorum queues needs both of these.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def routing_keys(service: str, *, inbound: bool = False) -> list[str]:
    """What the consumer queue is bound by: its event types (inbound ones are addressed `<this
    instance>.<event type>`; only ours arrive here) and, for internal queues, the replay key."""
    if inbound:
        return [f"*.{event_type}" for event_type in consumed(service, inbound=True)]
    return [*consumed(service), replay_routing_key(queue_name(service))]


def dead_letter_queue(queue: str) -> RabbitQueue:
    """A classic durable queue: dead letters wait here, rarely, for an operator; they need no delivery
    limit and no poison handling, which are what the consumer queues are quorum queues for (a quorum
    queue is a Raft member with its own log, memory and timers: README, "Scaling")."""
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


def consumer_queues() -> list[tuple[str, bool]]:
    """Every (service, inbound) that has a consumer queue."""
    return [(service, False) for service in SUBSCRIPTIONS] + [(service, True) for service in INBOUND_SUBSCRIPTIONS]


async def declare_topology(connection: Any, neighbours: Sequence[str] = ()) -> None:
    """Declare exchanges, queues, dead-letter queues, link queues and bindings; safe to repeat.

    On a channel of its own (of `connection`, an aio-pika connection): FastStream caches declared
    queues by name and would otherwise hand a subscriber this channel's queue object instead of one on
    the subscriber's own channel."""
    channel = await connection.channel()
    try:
        exchanges = {
            ex.name: await channel.declare_exchange(ex.name, ex.type.value, durable=True)
            for ex in (EVENTS_EXCHANGE, LINKS_EXCHANGE, INBOUND_EXCHANGE, DEAD_LETTER_EXCHANGE)
        }

        async def declare(queue: RabbitQueue, exchange: RabbitExchange, keys: list[str]) -> None:
            declared = await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)
            for key in keys:
                await declared.bind(exchanges[exchange.name], routing_key=key)

        for service, inbound in consumer_queues():
            queue = consumer_queue(service, inbound=inbound)
            exchange = INBOUND_EXCHANGE if inbound else EVENTS_EXCHANGE
            await declare(queue, exchange, routing_keys(service, inbound=inbound))
            await declare(dead_letter_queue(queue.name), DEAD_LETTER_EXCHANGE, [queue.name])
        for neighbour in neighbours:
            queue = link_queue(neighbour)
            await declare(queue, LINKS_EXCHANGE, [queue.routing_key])
    finally:
        await channel.close()
