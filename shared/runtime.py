"""What every service process holds: database, broker, publisher, outbox and background tasks.

Start order matters: the service's own storage set-up first, then the broker connection and the
whole topology, then consumers, then background loops; stopping runs the other way round, so
in-flight messages finish and are acknowledged before the database goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.rabbit import Channel, RabbitBroker, RabbitRouter
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import REGISTRY

from shared.audit import AuditLog
from shared.clock import Clock, OffsetFileClock, SystemClock
from shared.events import Envelope, EventPayload, Source
from shared.messaging import consumer
from shared.messaging.middleware import MessageContext
from shared.messaging.publisher import EventPublisher
from shared.messaging.topology import consumer_queues, dead_letter_queue_name, declare_topology, queue_name
from shared.observability import metrics
from shared.observability.logging import configure_logging
from shared.observability.monitor import Monitor
from shared.settings import ServiceSettings
from shared.storage import mongo
from shared.storage.mongo import connect, ping
from shared.storage.outbox import EventSource, Outbox

log = logging.getLogger(__name__)

_prometheus_middleware: RabbitPrometheusMiddleware | None = None
_serving = False  # this process is one service, run by serve()


def _middleware() -> RabbitPrometheusMiddleware:
    # One per process: its collectors live in the global registry and may be registered once.
    global _prometheus_middleware
    if _prometheus_middleware is None:
        _prometheus_middleware = RabbitPrometheusMiddleware(registry=REGISTRY)
    return _prometheus_middleware


class Runtime:
    def __init__(self, settings: ServiceSettings, service: str, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.service = service
        if clock is None:
            clock = OffsetFileClock(settings.test_clock_file) if settings.test_clock_file else SystemClock()
        self.clock = clock
        self.source = Source(level=settings.level, instance=settings.instance_id, service=service)
        self.mongo = connect(settings.mongo_url)
        self.db = self.mongo[settings.database_name(service)]
        self.broker = RabbitBroker(
            settings.broker_url,
            default_channel=Channel(publisher_confirms=True, on_return_raises=True),
            middlewares=[MessageContext, _middleware()],
            logger=logging.getLogger("faststream"),
            log_level=logging.DEBUG,  # "Received"/"Processed" per message only when asked for
            graceful_timeout=15.0,
            app_id=f"doithoai-{service}",
        )
        self.publisher = EventPublisher(self.broker, timeout=settings.publish_timeout_s)
        self.audit = AuditLog(self.db, self.clock)
        self.outbox = Outbox(
            self.publisher,
            grace_s=settings.outbox_grace_s,
            interval_s=settings.outbox_interval_s,
            sweep_s=settings.outbox_sweep_s,
            audit=self.audit,
        )
        self.events = EventSource(self.source, self.clock)
        self.monitor = Monitor(
            self.broker, interval_s=settings.monitor_interval_s, gauge_interval_s=settings.gauge_interval_s
        )
        for queue_service, inbound in consumer_queues():
            if queue_service == service:
                self.monitor.watch(dead_letter_queue_name(queue_name(service, inbound=inbound)), "dead_letter")
        self._loops: list[Callable[[], Coroutine[Any, Any, None]]] = [self.outbox.run, self.monitor.run]
        self._tasks: list[asyncio.Task[None]] = []
        metrics.configure(instance=settings.instance_id, level=settings.level, service=service)
        consumer.configure(attempts=settings.handler_attempts)

    def include(self, router: RabbitRouter) -> None:
        self.broker.include_router(router)

    def add_loop(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A background coroutine started after the consumers and cancelled on stop."""
        self._loops.append(loop)

    def envelope(self, payload: EventPayload, *, cause: Envelope[Any] | None = None, **kw: Any) -> Envelope[Any]:
        return self.events.envelope(payload, cause=cause, **kw)

    async def start(self, setup: Callable[[], Awaitable[None]] | None = None) -> None:
        await self.audit.create_indexes()
        if setup is not None:
            await setup()
        await self.broker.connect()
        await declare_topology(self.broker._connection, self.settings.neighbours)  # noqa: SLF001
        await self.broker.start()
        self._tasks = [asyncio.create_task(loop(), name=loop.__qualname__) for loop in self._loops]
        if _serving:
            # What exists now (models, schemas, routes, pools) lives as long as the process: keep it
            # out of the collector's full passes. They walked all of it to free nothing and stopped a
            # service for up to 0.9 s under load, the latency tail of `make bench`. (Not in tests,
            # where one process starts many apps and frozen objects are never freed.)
            gc.collect()
            gc.freeze()
        log.info(
            "%s of %s (%s) started; consuming from %s",
            self.service,
            self.settings.instance_id,
            self.settings.level,
            self.settings.broker_url.rsplit("@", 1)[-1],
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.stop()
        await mongo.close(self.mongo)

    async def readiness(self) -> dict[str, bool]:
        broker_ok, db_ok = await asyncio.gather(self.broker.ping(timeout=1.0), ping(self.mongo, 1.0))
        return {"broker": broker_ok, "database": db_ok}


def main(service: str, create_app: Callable[..., FastAPI], settings_cls: type[ServiceSettings]) -> None:
    """`python -m services.<service>`: one instance, from the DOITHOAI_* settings; with
    `--hosted FILE`, every instance FILE lists, in this one process (shared/hosting.py)."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    parser.add_argument("--hosted", type=Path, metavar="FILE", help="serve every instance this file lists")
    args = parser.parse_args()
    if args.hosted is not None:
        from shared.hosting import serve_hosted

        serve_hosted(service, create_app, settings_cls, args.hosted)
        return
    settings = settings_cls()
    serve(create_app(settings), settings, service)


def serve(app: FastAPI, settings: ServiceSettings, service: str) -> None:
    """Run one service process: our logging, uvicorn's HTTP server, SIGTERM = graceful stop."""
    configure_logging(service, settings.instance_id, json_lines=settings.log_json, level=settings.log_level)
    global _serving
    _serving = True
    run_http(app, settings)


def run_http(app: Any, settings: ServiceSettings) -> None:
    """uvicorn on the settings' address; SIGTERM = graceful stop (one instance's app, or a host of many)."""
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: only configured proxies here.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        timeout_graceful_shutdown=20,
    )
