"""Exchanges and queues of one instance: who consumes which event, and where failures go.

Every service declares the whole topology at start-up (idempotent), so an event published
before its consumer ever ran still has a queue waiting for it. Each (service, event) pair has
its own durable quorum queue with a delivery limit; a message that fails too often, or is
rejected as malformed, moves to that queue's own dead-letter queue where an operator can
inspect and replay it.
"""

from __future__ import annotations

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

EVENTS_EXCHANGE = RabbitExchange("doithoai.events", type=ExchangeType.TOPIC, durable=True)
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
    ),
    "assignment": ("opinion.received.v1",),
    "scheduling": ("opinion.assigned.v1", "opinion.answered.v1"),
    "notification": (
        "opinion.received.v1",
        "opinion.assigned.v1",
        "opinion.answered.v1",
        "opinion.due_soon.v1",
        "opinion.overdue.v1",
    ),
}


def queue_name(service: str, event_type: str) -> str:
    return f"{service}.{event_type}"


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def event_queue(service: str, event_type: str) -> RabbitQueue:
    if event_type not in SUBSCRIPTIONS.get(service, ()):
        raise ValueError(f"{service} has no subscription to {event_type}; add it to SUBSCRIPTIONS")
    name = queue_name(service, event_type)
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=event_type,
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
    return RabbitQueue(
        dead_letter_queue_name(queue),
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=queue,
    )


def all_queues() -> list[tuple[RabbitQueue, RabbitQueue]]:
    """Every (event queue, its dead-letter queue) of an instance."""
    return [
        (event_queue(service, event_type), dead_letter_queue(queue_name(service, event_type)))
        for service, event_types in SUBSCRIPTIONS.items()
        for event_type in event_types
    ]


async def declare_topology(broker: RabbitBroker) -> None:
    """Declare exchanges, queues, dead-letter queues and bindings; safe to repeat."""
    events = await broker.declare_exchange(EVENTS_EXCHANGE)
    dead = await broker.declare_exchange(DEAD_LETTER_EXCHANGE)
    for queue, dlq in all_queues():
        declared = await broker.declare_queue(queue)
        await declared.bind(events, routing_key=queue.routing_key)
        declared_dlq = await broker.declare_queue(dlq)
        await declared_dlq.bind(dead, routing_key=dlq.routing_key)
