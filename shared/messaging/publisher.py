"""Publishing events so that a publish that returned really is on disk at the broker.

Persistent messages, publisher confirms and `mandatory` with returns raised: an event that no
queue would take, that the broker refuses, or that is not confirmed within the timeout raises,
and the caller's outbox keeps it for another try.
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.rabbit import RabbitBroker

from shared.events import Envelope, EventPayload
from shared.messaging.topology import EVENTS_EXCHANGE, LINKS_EXCHANGE, link_routing_key


@dataclass(frozen=True)
class Route:
    exchange: str
    routing_key: str

    @classmethod
    def internal(cls, event_type: str) -> Route:
        """To this instance's own consumers."""
        return cls(EVENTS_EXCHANGE.name, event_type)

    @classmethod
    def to_neighbour(cls, neighbour: str, event_type: str) -> Route:
        """Across a link, to the parent or a child."""
        return cls(LINKS_EXCHANGE.name, link_routing_key(neighbour, event_type))


class EventPublisher:
    def __init__(self, broker: RabbitBroker, *, timeout: float) -> None:
        self._broker = broker
        self._timeout = timeout

    async def publish(self, envelope: Envelope[EventPayload], route: Route | None = None) -> None:
        await self.publish_raw(
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
            body=envelope.model_dump_json(),
            route=route or Route.internal(envelope.event_type),
        )

    async def publish_raw(
        self, *, event_id: str, event_type: str, correlation_id: str, body: str, route: Route
    ) -> None:
        await self._broker.publish(
            body.encode(),
            exchange=route.exchange,
            routing_key=route.routing_key,
            persist=True,
            mandatory=True,
            timeout=self._timeout,
            message_id=event_id,
            correlation_id=correlation_id,
            message_type=event_type,
            content_type="application/json",
        )
