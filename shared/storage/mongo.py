"""MongoDB access through PyMongo's async API: one client per process, one database per service."""

from __future__ import annotations

from pymongo import AsyncMongoClient


def connect(url: str) -> AsyncMongoClient:
    # tz_aware: every datetime read back is aware; the services compare them with aware UTC times.
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=3000)


async def ping(client: AsyncMongoClient, timeout_s: float = 2.0) -> bool:
    try:
        await client.admin.command("ping", maxTimeMS=int(timeout_s * 1000))
    except Exception:
        return False
    return True
