"""Scheduling's state: durable timers, which opinions no longer need them, and the conferences."""

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
        await self.timers.create_index("conference_id", sparse=True)

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

    async def cancel_pending(self, query: dict[str, Any], now: datetime) -> int:
        result = await self.timers.update_many(
            {**query, "status": PENDING}, {"$set": {"status": CANCELLED, "cancelled_at": now}}
        )
        return result.modified_count

    async def close(self, opinion_id: str, now: datetime) -> int:
        """The opinion was answered: remember it and cancel its pending timers."""
        try:
            await self.closed.insert_one({"_id": opinion_id, "closed_at": now})
        except DuplicateKeyError:
            pass
        return await self.cancel_pending({"opinion_id": opinion_id}, now)

    async def is_closed(self, opinion_id: str) -> bool:
        return await self.closed.count_documents({"_id": opinion_id}, limit=1) == 1

    async def for_tracking_code(self, code: str) -> list[dict[str, Any]]:
        return await self.timers.find({"tracking_code": code}).sort("fire_at", 1).to_list(None)


class ConferenceRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.conferences = db["conferences"]

    async def create_indexes(self) -> None:
        await self.conferences.create_index([("plan_year", 1), ("starts_at", 1)])

    async def insert(self, doc: dict[str, Any]) -> bool:
        try:
            await self.conferences.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def get(self, conference_id: str) -> dict[str, Any] | None:
        return await self.conferences.find_one({"_id": conference_id}, {"outbox": 0})

    async def change(
        self, conference_id: str, version: int, changes: dict[str, Any], history: dict[str, Any], entries: list[Any]
    ) -> bool:
        """Compare-and-set on the version: two people moving one conference at once cannot both win."""
        result = await self.conferences.update_one(
            {"_id": conference_id, "version": version},
            {
                "$set": {**changes, "version": version + 1},
                "$push": {"history": history, "outbox": {"$each": entries}},
            },
        )
        return result.modified_count == 1

    async def of_year(self, year: int) -> list[dict[str, Any]]:
        cursor = self.conferences.find({"plan_year": year}, {"outbox": 0, "history": 0}).sort("starts_at", 1)
        return await cursor.to_list(None)
