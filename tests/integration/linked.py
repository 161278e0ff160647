"""Linked instances for tests: a hierarchy of fresh vhosts with users, shovels and in-process services."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from deploy.links import Credentials, Hierarchy, InstanceSpec, connect, link_states, prepare
from services.assignment.app import AssignmentSettings
from services.assignment.app import create_app as assignment_app
from services.intake.app import IntakeSettings
from services.intake.app import create_app as intake_app
from services.notification.app import NotificationSettings
from services.notification.app import create_app as notification_app
from services.scheduling.app import SchedulingSettings
from services.scheduling.app import create_app as scheduling_app
from shared.clock import Clock
from shared.messaging.admin import RabbitAdmin
from shared.messaging.links import link_user
from shared.storage import mongo
from tests.conftest import AMQP_HOST, API_KEYS

APPS = {
    "intake": (IntakeSettings, intake_app),
    "assignment": (AssignmentSettings, assignment_app),
    "scheduling": (SchedulingSettings, scheduling_app),
    "notification": (NotificationSettings, notification_app),
}

NAMES = {"ward": "Phường", "district": "Quận", "city": "Thành phố"}


@contextlib.contextmanager
def patched_env(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


THREE_LEVEL_RULES = Path(__file__).resolve().parents[2] / "services/assignment/config/jurisdiction.three-level.yaml"


class Linked:
    """`shape` maps a short name to (level, parent short name); ids get a unique prefix."""

    def __init__(self, admin: RabbitAdmin, mongo_url: str, smtp_port: int, shape: dict[str, tuple[str, str | None]]):
        self.admin = admin
        self.mongo_url = mongo_url
        self.smtp_port = smtp_port
        prefix = f"t{uuid.uuid4().hex[:6]}"
        self.ids = {short: f"{prefix}-{short}" for short in shape}
        self.hierarchy = Hierarchy(
            instances=[
                InstanceSpec(
                    id=self.ids[short],
                    name=f"{NAMES[level]} {short.upper()}",
                    level=level,
                    parent=self.ids[parent] if parent else None,
                    amqp=f"amqp://{AMQP_HOST}",
                )
                for short, (level, parent) in shape.items()
            ]
        )
        self.creds = Credentials(
            shovel=uuid.uuid4().hex,
            instances={i: uuid.uuid4().hex for i in self.ids.values()},
            shovel_user=f"{prefix}-link",
        )
        self.apps: dict[tuple[str, str], FastAPI] = {}
        self.clients: dict[tuple[str, str], httpx.AsyncClient] = {}
        self._stacks: dict[tuple[str, str], contextlib.AsyncExitStack] = {}

    def env(self, short: str, **extra: str) -> dict[str, str]:
        inst = self.hierarchy.get(self.ids[short])
        return {
            **self.hierarchy.settings_env(inst.id),
            "DOITHOAI_BROKER_URL": inst.uri(inst.user, self.creds.instance(inst.id)),
            "DOITHOAI_MONGO_URL": self.mongo_url,
            "DOITHOAI_API_KEYS": json.dumps(API_KEYS),
            "DOITHOAI_SMTP_PORT": str(self.smtp_port),
            "DOITHOAI_OUTBOX_INTERVAL_S": "0.5",
            "DOITHOAI_OUTBOX_GRACE_S": "1",
            "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "0",
            "DOITHOAI_ACK_SECRET": "test-ack-secret-0123456789",
            # The chains these tests build are ward → district → city: the table of that time (land and
            # construction at the district) unless a test brings its own.
            "DOITHOAI_JURISDICTION_RULES": str(THREE_LEVEL_RULES),
            **extra,
        }

    async def start(self, short: str, service: str, *, clock: Clock | None = None, **extra: str) -> httpx.AsyncClient:
        settings_cls, factory = APPS[service]
        with patched_env(self.env(short, **extra)):
            settings = settings_cls()
        app = factory(settings, clock=clock)
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        await stack.enter_async_context(client)
        key = (short, service)
        self.apps[key], self.clients[key], self._stacks[key] = app, client, stack
        return client

    async def stop(self, short: str, service: str) -> None:
        await self._stacks.pop((short, service)).aclose()

    async def stop_all(self) -> None:
        for key in list(self._stacks):
            await self.stop(*key)

    def connect(self, timeout: float = 30.0) -> None:
        connect(self.hierarchy, self.creds)
        deadline = time.monotonic() + timeout
        while True:
            states = link_states(self.hierarchy, self.creds)
            if all(s == "running" for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"shovels not running: {states}")
            time.sleep(0.2)

    def cleanup(self) -> None:
        for inst in self.hierarchy.instances:
            self.admin.delete_vhost(inst.id)
            self.admin.delete_user(inst.user)
        for source, target in self.hierarchy.links():
            self.admin.delete_user(link_user(source.id, target.id))


@contextlib.asynccontextmanager
async def linked(admin: RabbitAdmin, mongo_url: str, smtp_port: int, shape: dict[str, Any]) -> AsyncIterator[Linked]:
    chain = Linked(admin, mongo_url, smtp_port, shape)
    prepare(chain.hierarchy, chain.creds)
    mongo.share_clients()  # as a hosted process does: one pool for all, not a pool and monitors per service
    try:
        yield chain
    finally:
        await chain.stop_all()
        await mongo.close_shared()
        chain.cleanup()
