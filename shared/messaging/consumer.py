"""Subscribing handlers with one acknowledgement policy for the whole system.

- success: ack;
- a message that does not parse or validate, or a handler bug: reject, so the queue's
  dead-letter exchange moves it to `<queue>.dead` at once;
- a transient failure (database or broker unreachable, SMTP down…): retried here with
  backoff, then nacked back to the queue, where the delivery limit eventually dead-letters
  it if the failure never clears.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import aiormq
import pymongo.errors
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage
from faststream.specification import AsyncAPI

from shared.events import Envelope, EventPayload
from shared.messaging.middleware import check_size
from shared.messaging.topology import consumed, consumer_queue
from shared.observability.logging import log_context

log = logging.getLogger(__name__)


class TransientError(Exception):
    """Raised by a handler when the work cannot be done now but may succeed later."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    pymongo.errors.ConnectionFailure,
    pymongo.errors.ExecutionTimeout,
    aiormq.exceptions.AMQPConnectionError,
    TimeoutError,
    ConnectionError,
)


def event_catalogue(broker: RabbitBroker, service: str) -> dict[str, Any]:
    """The AsyncAPI document of the events `service` consumes: docs/asyncapi/ and each service's /asyncapi.json.
    A queue's catch-all (ServiceQueue._refuse: what no handler takes goes to the dead-letter queue) has no payload
    of its own, and FastStream would list it as an `EmptyPayload` message the queue accepts; it is left out."""
    spec: dict[str, Any] = (
        AsyncAPI(
            broker,
            title=f"doithoai {service} — sự kiện (events)",
            version="1.0.0",
            description=f"Events the {service} service consumes and where they come from; see README's event "
            "catalogue.",
        )
        .to_specification()
        .to_jsonable()
    )
    components = spec.get("components", {})
    empty = "#/components/schemas/EmptyPayload"
    for message in components.get("messages", {}).values():
        if "oneOf" in (payload := message.get("payload", {})):
            payload["oneOf"] = [p for p in payload["oneOf"] if p.get("$ref") != empty]
    components.get("schemas", {}).pop("EmptyPayload", None)
    return spec


P = ParamSpec("P")
R = TypeVar("R")


class ServiceQueue:
    """A service's consumer queue (`<service>.events`, or `assignment.inbound` for what neighbours send):
    one subscriber, one channel, and each event type handled by its own function, chosen by the
    envelope's `event_type`. A message no handler takes (too large, not a JSON object, a type this
    queue does not take) is rejected with the reason, so it goes to the dead-letter queue like any
    malformed message."""

    def __init__(self, router: RabbitRouter, service: str, *, prefetch: int, inbound: bool = False) -> None:
        self.service, self.inbound = service, inbound
        self.queue = consumer_queue(service, inbound=inbound)
        self._handled: set[str] = set()
        self._subscriber = router.subscriber(
            self.queue,
            ack_policy=AckPolicy.REJECT_ON_ERROR,
            channel=Channel(prefetch_count=prefetch),
            title=self.queue.name,
            description=f"Every event {service} consumes{' from linked instances' if inbound else ''}: "
            + ", ".join(consumed(service, inbound=inbound)),
        )
        self._subscriber(self._refuse, filter=self._unhandled)

    @staticmethod
    async def _event_type(message: StreamMessage[Any]) -> Any:
        check_size(message)  # before anything parses it
        body = await message.decode()
        return body.get("event_type") if isinstance(body, dict) else None

    async def _unhandled(self, message: StreamMessage[Any]) -> bool:
        return not message.processed and await self._event_type(message) not in self._handled

    async def _refuse(self, message: RabbitMessage) -> None:
        event_type = await self._event_type(message)
        if event_type is None:
            raise ValueError("not a JSON object with an event_type")
        raise ValueError(f"{event_type!r} is not an event {self.queue.name} takes ({', '.join(sorted(self._handled))})")

    def handles(self, payload: type[EventPayload]) -> Callable[[Callable[..., Any]], Any]:
        """Decorate the handler of `payload` events."""
        event_type = payload.event_type
        if event_type not in consumed(self.service, inbound=self.inbound):
            raise ValueError(f"{self.service} has no {'inbound ' if self.inbound else ''}subscription to {event_type}")
        self._handled.add(event_type)

        async def of_type(message: StreamMessage[Any]) -> bool:
            return not message.processed and await self._event_type(message) == event_type

        return self._subscriber(filter=of_type)


_ATTEMPTS = {"default": 5}


def configure(*, attempts: int) -> None:
    """How many tries a transient failure gets inside one delivery (the process's setting)."""
    _ATTEMPTS["default"] = attempts


def consumes(
    attempts: int | None = None, first_delay: float = 0.5, max_delay: float = 8.0
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Wrap an event handler: log context from the envelope, retries of transient failures."""

    def decorate(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(handler)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            event = next(a for a in (*args, *kwargs.values()) if isinstance(a, Envelope))
            tries = attempts or _ATTEMPTS["default"]
            with log_context(
                event_id=str(event.event_id),
                event_type=event.event_type,
                correlation_id=event.correlation_id,
            ):
                delay = first_delay
                for attempt in range(1, tries + 1):
                    try:
                        return await handler(*args, **kwargs)
                    except TRANSIENT_ERRORS as exc:
                        if attempt == tries:
                            log.warning("still failing after %d attempts (%r); back to the queue", attempt, exc)
                            raise NackMessage(requeue=True) from exc
                        log.warning("transient failure (%r); retrying in %.1fs", exc, delay)
                        await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                        delay = min(delay * 2, max_delay)
            raise AssertionError("unreachable")

        return wrapper

    return decorate
