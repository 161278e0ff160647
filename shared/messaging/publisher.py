"""Publishing events so that a publish that returned really is on disk at the broker.

Persistent messages, publisher confirms and `mandatory` with returns raised: an event that no
queue would take, that the broker refuses, or that is not confirmed within the timeout raises,
and the caller's outbox keeps it for another try.
"""

from __future__ import annotations

from faststream.rabbit import RabbitBroker

from shared.events import Envelope, EventPayload
from shared.messaging.topology import EVENTS_EXCHANGE


class EventPublisher:
    def __init__(self, broker: RabbitBroker, *, timeout: float) -> None:
        self._broker = broker
        self._timeout = timeout

    async def publish(self, envelope: Envelope[EventPayload]) -> None:
        await self.publish_raw(
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
            body=envelope.model_dump_json(),
        )

    async def publish_raw(self, *, event_id: str, event_type: str, correlation_id: str, body: str) -> None:
        await self._broker.publish(
            body.encode(),
            exchange=EVENTS_EXCHANGE,
            routing_key=event_type,
            persist=True,
            mandatory=True,
            timeout=self._timeout,
            message_id=event_id,
            correlation_id=correlation_id,
            message_type=event_type,
            content_type="application/json",
        )
