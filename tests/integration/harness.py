"""Running the services' ASGI apps in the test's event loop, against the real broker and database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

T = TypeVar("T")


@contextlib.asynccontextmanager
async def running(*apps: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Start the apps' lifespans (broker, database, loops) and give an HTTP client for each."""
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            await stack.enter_async_context(client)
            clients.append(client)
        yield clients


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


def headers(key: str) -> dict[str, Any]:
    return {"X-API-Key": key}


SERVICES = ("intake", "assignment", "scheduling", "notification")
# A console's settings that send its calls to http://<service>/…, for `in_process` to route.
CONSOLE_URLS = {f"DOITHOAI_{s.upper()}_URL": f"http://{s}" for s in SERVICES}


class _InProcess(httpx.AsyncBaseTransport):
    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self.transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transports[request.url.host].handle_async_request(request)


def in_process(console: FastAPI, services: dict[str, FastAPI]) -> None:
    """The console (made with CONSOLE_URLS) calls the services' apps in this process, not over the network."""
    console.state.backend.http = httpx.AsyncClient(transport=_InProcess(services))
