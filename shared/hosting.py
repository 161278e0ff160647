"""Hosted mode: one process of a service serves every instance a file lists.

Since July 2025 a province's data centre runs the systems of all its communes and wards. Four processes
per instance (about 80 MB each) would need some 41 GB for Hà Nội's 127; here one process per service
hosts them all. Each instance keeps what makes it one: its own vhost and broker connection, its own
databases, its own settings (level, parent, agencies, API keys, the console's public key). Only the
process, the event loop and the MongoDB connection pool are shared.

HTTP reaches an instance by path prefix, `/i/<instance id>/…` (e.g. `/i/xa-bat-trang/api/v1/opinions`),
or by host name, `<instance id>.<anything>` (e.g. `xa-bat-trang.doithoai.hanoi.gov.vn`): a request is
served by that instance's own app with that instance's keys, so nothing of one instance is readable
through another's address or key. The process's own `/health/live`, `/health/ready` (every instance
ready) and `/metrics` (all instances, each series labelled with its instance) stay at the root.

The instances file (YAML or JSON) holds `defaults` (settings every instance shares) and `instances`
(each one's settings, the names of the DOITHOAI_* variables without the prefix, in lower case). The
process watches it: instances added, removed or changed are started, stopped or restarted without
touching the others. What a single-instance process polls every second or two (outbox relay, timers,
deliveries, queue depths) polls far less often here (HOSTED_INTERVALS), so a quiet province costs
little; what must happen at once is still done at once, inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import random
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from shared.observability import metrics
from shared.observability.logging import bind_instance, configure_logging, log_context
from shared.runtime import run_http
from shared.settings import INSTANCE_ID_PATTERN, ServiceSettings
from shared.storage import mongo

log = logging.getLogger(__name__)

PREFIX = "/i/"
# Hosted defaults (an instance's entry may still set its own): the relay only mends what inline
# publishing missed (it reads the database at once after a miss of its own, otherwise every ten minutes),
# deadlines are counted in days, queue depths feed alerts that wait minutes anyway.
HOSTED_INTERVALS: dict[str, float] = {
    "outbox_interval_s": 10.0,
    "outbox_sweep_s": 600.0,
    "monitor_interval_s": 300.0,
    "gauge_interval_s": 900.0,
    "timer_poll_s": 30.0,
    "delivery_poll_s": 30.0,
}
WATCH_EVERY_S = 5.0
# Instances starting at once: each creates its indexes and declares its topology; 127 at once kept the
# database from answering within its 5 s server selection timeout.
STARTING_AT_ONCE = 8


class HostedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = {}
    instances: list[dict[str, Any]]

    @classmethod
    def read(cls, path: Path) -> HostedFile:
        text = path.read_text(encoding="utf-8")
        return cls.model_validate(json.loads(text) if path.suffix == ".json" else yaml.safe_load(text))

    def entries(self, settings_cls: type[ServiceSettings]) -> dict[str, dict[str, Any]]:
        """Each instance's settings (as given, before validation), by instance id."""
        fields = settings_cls.model_fields
        hosted = {key: value for key, value in HOSTED_INTERVALS.items() if key in fields}
        entries = {}
        for entry in self.instances:
            merged = {**hosted, **self.defaults, **entry}
            instance_id = merged.get("instance_id")
            if not isinstance(instance_id, str) or not INSTANCE_ID_PATTERN.match(instance_id):
                raise ValueError(f"every hosted instance needs a valid instance_id (got {instance_id!r})")
            if instance_id in entries:
                raise ValueError(f"instance {instance_id!r} is listed twice")
            entries[instance_id] = {key: value for key, value in merged.items() if key in fields}
        return entries


def entry_from_env(env: dict[str, str]) -> dict[str, object]:
    """One instance's DOITHOAI_* variables as an entry of an instances file (JSON lists and objects decoded)."""
    entry: dict[str, object] = {}
    for key, value in env.items():
        name = key.removeprefix("DOITHOAI_").lower()
        entry[name] = json.loads(value) if value[:1] in "[{" else value
    return entry


@dataclass
class Hosted:
    """One instance running inside the process: its app, and the task that holds its lifespan open."""

    entry: dict[str, Any]
    app: FastAPI
    prefix: str
    labels: dict[str, str]
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    failed: str | None = None


class Host:
    """The process's ASGI app: routes each request to its instance's app, starts and stops instances."""

    def __init__(
        self,
        service: str,
        create_app: Callable[..., FastAPI],
        settings_cls: type[ServiceSettings],
        path: Path,
    ) -> None:
        self.service = service
        self.create_app = create_app
        self.settings_cls = settings_cls
        self.path = path
        self.instances: dict[str, Hosted] = {}
        self._mtime = 0.0
        self.failed: set[str] = set()  # listed but not running: tried again at every look at the file
        self._watcher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._starting = asyncio.Semaphore(STARTING_AT_ONCE)

    # ---- instances -------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Make the running instances match the file: start new ones, stop gone ones, restart changed ones."""
        async with self._lock:
            self._mtime = self.path.stat().st_mtime
            try:
                wanted = HostedFile.read(self.path).entries(self.settings_cls)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                log.error("hosted instances file %s not applied: %s", self.path, exc)
                return
            stale = [i for i, h in self.instances.items() if wanted.get(i) != h.entry]
            await asyncio.gather(*(self._stop(instance_id) for instance_id in stale))
            new = [(i, e) for i, e in wanted.items() if i not in self.instances]
            started = await asyncio.gather(*(self._start(i, e) for i, e in new))
            self.failed = {i for (i, _), ok in zip(new, started, strict=True) if not ok}
            log.info(
                "%s hosts %d instance(s): %d started, %d failed, %d stopped",
                self.service,
                len(self.instances),
                started.count(True),
                started.count(False),
                len(stale),
            )

    async def _start(self, instance_id: str, entry: dict[str, Any]) -> bool:
        try:
            settings = self.settings_cls(**entry)
        except ValidationError as exc:
            log.error("instance %s not started, its settings are wrong: %s", instance_id, exc)
            return False
        async with self._starting:
            done: asyncio.Future[Hosted] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._hold(settings, entry, done), name=f"{self.service}:{instance_id}")
            try:
                hosted = await done
            except Exception as exc:
                log.error("instance %s not started: %r", instance_id, exc)
                return False
            hosted.task = task
            await hosted.ready.wait()
        if hosted.failed:
            log.error("instance %s did not start: %s", instance_id, hosted.failed)
            return False
        self.instances[instance_id] = hosted
        return True

    async def _hold(self, settings: ServiceSettings, entry: dict[str, Any], done: asyncio.Future[Hosted]) -> None:
        """The instance's own task: its labels and log context live in this task's context, and every task
        it starts (consumers, loops) inherits them."""
        bind_instance(settings.instance_id)
        try:
            app = self.create_app(settings)
        except Exception as exc:
            done.set_exception(exc)
            return
        labels = metrics.base()
        hosted = Hosted(entry, app, PREFIX + settings.instance_id, labels)
        done.set_result(hosted)
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:  # a wrong vhost password, a database away: this instance only
                hosted.failed = repr(exc)
                hosted.ready.set()
                if (runtime := getattr(app.state, "runtime", None)) is not None:
                    with contextlib.suppress(Exception):
                        await runtime.stop()  # what it opened before failing: it is tried again in 5 s
                return
            await _look_through_routes(app)
            hosted.ready.set()
            await hosted.stop.wait()

    async def _stop(self, instance_id: str) -> None:
        hosted = self.instances.pop(instance_id)
        hosted.stop.set()
        if hosted.task is not None:
            await hosted.task
        log.info("instance %s stopped", instance_id)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S * random.uniform(0.8, 1.2))
            try:
                changed = self.path.stat().st_mtime != self._mtime
            except OSError:
                continue
            if changed or self.failed:
                await self.sync()

    # ---- ASGI ------------------------------------------------------------------------------------

    def route(self, scope: Scope) -> tuple[Hosted | None, bool]:
        """The instance a request is for, and whether it came by path prefix."""
        path = scope.get("path", "")
        if path.startswith(PREFIX):
            instance_id = path[len(PREFIX) :].split("/", 1)[0]
            return self.instances.get(instance_id), True
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        label = host.split(":", 1)[0].split(".", 1)[0]
        return (self.instances.get(label) if "." in host else None), False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        hosted, by_prefix = self.route(scope)
        if hosted is None:
            await self._own(scope, receive, send)
            return
        if by_prefix:  # the app sees its prefix as root path: the links it makes (url_for) keep it
            root = scope.get("root_path", "") + hosted.prefix
            scope = {**scope, "root_path": root, "app_root_path": root}
        token = metrics.bind(hosted.labels)  # its metrics and log lines name the instance
        try:
            with log_context(instance=hosted.labels["instance"]):
                await hosted.app(scope, receive, send)
        finally:
            metrics.unbind(token)

    async def _own(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == "/health/live":
            response: Response = JSONResponse({"status": "ok", "instances": len(self.instances)})
        elif path == "/health/ready":
            # Every listed instance running: a wrong entry (see the log) keeps the process not ready.
            ready = bool(self.instances) and not self.failed
            body = {
                "status": "ready" if ready else "not_ready",
                "instances": sorted(self.instances),
                "failed": sorted(self.failed),
            }
            response = JSONResponse(body, status_code=200 if ready else 503)
        elif path == "/metrics":
            body_bytes, content_type = metrics.render()
            response = Response(body_bytes, media_type=content_type)
        elif path.startswith(PREFIX) and path[len(PREFIX) :].split("/", 1)[0] in self.failed:
            response = JSONResponse(
                {
                    "error": "instance_unavailable",
                    "message_vi": "Hệ thống của đơn vị này đang tạm ngừng; xin thử lại sau ít phút.",
                    "message_en": "This instance is listed but not running (its start failed; see the log); "
                    "it is tried again every few seconds.",
                },
                status_code=503,
                headers={"Retry-After": "30"},
            )
        else:
            response = JSONResponse(
                {
                    "error": "unknown_instance",
                    "message_vi": "Không có đơn vị này ở địa chỉ này: dùng /i/<mã đơn vị>/…",
                    "message_en": "No such instance here: use /i/<instance id>/…",
                },
                status_code=404,
            )
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.sync()
                gc.collect()
                gc.freeze()  # see Runtime.start: what lives as long as the process stays out of full passes
                self._watcher = asyncio.create_task(self._watch(), name="hosted-file-watcher")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._watcher is not None:
                    self._watcher.cancel()
                await asyncio.gather(*(self._stop(i) for i in list(self.instances)))
                await mongo.close_shared()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _look_through_routes(app: FastAPI) -> None:
    """One request for no route, in the process: FastAPI builds a router's routes (the validators of their
    parameters, some milliseconds) at the first request that looks through them. Done here, at the instance's
    start, not at its first citizen's submission: in a province that is 127 first requests under load."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hosted") as client:
        await client.get("/.khong-co-trang-nay")


def serve_hosted(
    service: str, create_app: Callable[..., FastAPI], settings_cls: type[ServiceSettings], path: Path
) -> None:
    """Run one process of `service` for every instance `path` lists (its HTTP address, logging and
    proxies come from the process's own DOITHOAI_* settings)."""
    process = settings_cls(instance_id="hosted")
    configure_logging(service, "hosted", json_lines=process.log_json, level=process.log_level)
    mongo.share_clients()
    run_http(Host(service, create_app, settings_cls, path), process)
