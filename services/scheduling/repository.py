"""Scheduling's state: durable timers, and which opinions no longer need them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"


class TimerRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.timers = db["timers"]
        self.closed = db["closed_opinions"]

    async def create_indexes(self) -> None:
        await self.timers.create_index([("status", 1), ("fire_at", 1)], partialFilterExpression={"status": PENDING})
        await self.timers.create_index("opinion_id")

    async def add(self, docs: list[dict[str, Any]]) -> int:
        """Insert timers; ones already stored (a redelivered event) are left as they are."""
        try:
            result = await self.timers.insert_many(docs, ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            return int(exc.details.get("nInserted", 0))

    async def due(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        cursor = self.timers.find({"status": PENDING, "fire_at": {"$lte": now}}).sort("fire_at", 1).limit(limit)
        return await cursor.to_list(None)

    async def mark_fired(self, timer_id: str, now: datetime) -> None:
        await self.timers.update_one({"_id": timer_id, "status": PENDING}, {"$set": {"status": FIRED, "fired_at": now}})

    async def close(self, opinion_id: str, now: datetime) -> int:
        """The opinion was answered: remember it and cancel its pending timers."""
        try:
            await self.closed.insert_one({"_id": opinion_id, "closed_at": now})
        except DuplicateKeyError:
            pass
        result = await self.timers.update_many(
            {"opinion_id": opinion_id, "status": PENDING}, {"$set": {"status": CANCELLED, "cancelled_at": now}}
        )
        return result.modified_count

    async def is_closed(self, opinion_id: str) -> bool:
        return await self.closed.count_documents({"_id": opinion_id}, limit=1) == 1

    async def for_tracking_code(self, code: str) -> list[dict[str, Any]]:
        return await self.timers.find({"tracking_code": code}).sort("fire_at", 1).to_list(None)
