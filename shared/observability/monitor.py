"""A service's periodic look at what metrics cannot count as things happen: queue depths
(dead letters waiting for an operator, link backlogs) and the state kept in its database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.rabbit import RabbitBroker

from shared.observability import metrics

log = logging.getLogger(__name__)


class Monitor:
    def __init__(self, broker: RabbitBroker, *, interval_s: float, gauge_interval_s: float | None = None) -> None:
        self.broker = broker
        self.interval_s = interval_s
        # Counting what the database holds reads every open opinion: slower than a queue depth,
        # and it changes slowly, so it runs less often.
        self.gauge_interval_s = interval_s if gauge_interval_s is None else gauge_interval_s
        self._gauges_at = float("-inf")
        self.queues: dict[str, str] = {}  # name → kind (dead_letter, link)
        self.refreshers: list[Callable[[], Awaitable[None]]] = []
        self._channel: Any = None

    def watch(self, queue: str, kind: str) -> None:
        self.queues[queue] = kind

    def refresh_with(self, refresher: Callable[[], Awaitable[None]]) -> None:
        self.refreshers.append(refresher)

    async def queue_depth(self, name: str) -> int:
        # A channel of its own: a passive declare interrupted (at shutdown) closes its channel.
        if self._channel is None or self._channel.is_closed:
            self._channel = await self.broker._connection.channel()  # noqa: SLF001
        # The raw AMQP call: aio-pika's robust channel would answer from its cache of declared queues.
        underlay = await self._channel.get_underlay_channel()
        result = await underlay.queue_declare(name, passive=True)
        return result.message_count or 0

    async def look(self) -> None:
        labels = metrics.base()
        for name, kind in self.queues.items():
            metrics.QUEUE_MESSAGES.labels(**labels, queue=name, kind=kind).set(await self.queue_depth(name))
        now = asyncio.get_running_loop().time()
        if now - self._gauges_at >= self.gauge_interval_s:
            self._gauges_at = now
            for refresh in self.refreshers:
                await refresh()

    async def run(self) -> None:
        while True:
            try:
                await self.look()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("monitoring pass failed (%r); will try again", exc)
            await asyncio.sleep(self.interval_s)
