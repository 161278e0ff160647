"""MongoDB access through PyMongo's async API: one client per process, one database per service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from pymongo import AsyncMongoClient

_shared: dict[str, AsyncMongoClient] | None = None


def share_clients() -> None:
    """From now on, one client (one pool) per URL for the whole process: a process hosting many
    instances (shared/hosting.py) would otherwise hold a pool and its monitor threads per instance."""
    global _shared
    if _shared is None:
        _shared = {}


def connect(url: str) -> AsyncMongoClient:
    if _shared is not None:
        if url not in _shared:
            _shared[url] = _client(url)
        return _shared[url]
    return _client(url)


async def close(client: AsyncMongoClient) -> None:
    """Close a client of one instance; a shared one stays open for the others (closed at exit)."""
    if _shared is None or client not in _shared.values():
        await client.close()


async def close_shared() -> None:
    """Close the shared clients; from now on each instance has its own again."""
    global _shared
    shared, _shared = _shared or {}, None
    for client in shared.values():
        await client.close()


def _client(url: str) -> AsyncMongoClient:
    """tz_aware: every datetime read back is aware; the services compare them with aware UTC times.

    journal: a write is acknowledged only once it is in the server's journal. Every write here is
    followed by something the world sees (an HTTP answer, a message acked, an event published), and
    without it a crash of the database server loses the last acknowledged writes (MongoDB keeps up
    to 100 ms of them in memory; `make chaos` lost one opinion on SecantusDB that way). A replica
    set's default `w: majority` journals too; this makes it hold for a standalone server as well.

    maxIdleTimeMS: pooled connections unused for a minute are closed by the client. Servers and
    firewalls drop idle connections (SecantusDB after 5 minutes), and a ward is quiet for hours at
    night: without this, the first requests after a quiet spell would meet dead connections.
    """
    return AsyncMongoClient(
        url,
        tz_aware=True,
        journal=True,
        maxIdleTimeMS=60_000,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=3000,
    )


async def ping(client: AsyncMongoClient, timeout_s: float = 2.0) -> bool:
    try:
        await client.admin.command("ping", maxTimeMS=int(timeout_s * 1000))
    except Exception:
        return False
    return True


def document(model: BaseModel) -> dict[str, Any]:
    """A model as MongoDB stores it: datetimes stay datetimes; dates (which BSON cannot hold: a plain
    `date` field made `conference.updated.v1` fail with InvalidDocument) become ISO strings, which
    the model parses back."""
    return _bson_ready(model.model_dump(mode="python"))


def _bson_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _bson_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bson_ready(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value
