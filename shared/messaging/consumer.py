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
from faststream.rabbit import Channel, RabbitRouter

from shared.events import Envelope, EventPayload
from shared.messaging.topology import EVENTS_EXCHANGE, INBOUND_EXCHANGE, event_queue
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

P = ParamSpec("P")
R = TypeVar("R")


def subscriber(
    router: RabbitRouter, service: str, payload: type[EventPayload], *, prefetch: int, inbound: bool = False
) -> Callable[[Callable[..., Any]], Any]:
    """Subscribe a handler of `payload` events to the service's own queue for that event
    (for events from neighbours when `inbound`)."""
    queue = event_queue(service, payload.event_type, inbound=inbound)
    return router.subscriber(
        queue,
        INBOUND_EXCHANGE if inbound else EVENTS_EXCHANGE,
        ack_policy=AckPolicy.REJECT_ON_ERROR,
        channel=Channel(prefetch_count=prefetch),
        title=queue.name,
        description=(payload.__doc__ or "").strip() or None,
    )


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
