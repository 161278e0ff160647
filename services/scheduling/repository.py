"""Scheduling's state: durable timers, which opinions no longer need them, and the conferences (saved with
their events and audit notes in one write). The collections are private to this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.scheduling.domain import Conference
from shared.storage.outbox import OUTBOX, EventSource, Outbox

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"


class TimerRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self._timers = db["timers"]
        self._closed = db["closed_opinions"]

    async def create_indexes(self) -> None:
        await self._timers.create_index([("status", 1), ("fire_at", 1)], partialFilterExpression={"status": PENDING})
        await self._timers.create_index("opinion_id")
        await self._timers.create_index("conference_id", sparse=True)

    async def add(self, docs: list[dict[str, Any]]) -> int:
        """Insert timers; ones already stored (a redelivered event) are left as they are."""
        try:
            result = await self._timers.insert_many(docs, ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            return int(exc.details.get("nInserted", 0))

    async def due(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        cursor = self._timers.find({"status": PENDING, "fire_at": {"$lte": now}}).sort("fire_at", 1).limit(limit)
        return await cursor.to_list(None)

    async def mark_fired(self, timer_id: str, now: datetime) -> None:
        await self._timers.update_one(
            {"_id": timer_id, "status": PENDING}, {"$set": {"status": FIRED, "fired_at": now}}
        )

    async def cancel_pending(self, query: dict[str, Any], now: datetime) -> int:
        result = await self._timers.update_many(
            {**query, "status": PENDING}, {"$set": {"status": CANCELLED, "cancelled_at": now}}
        )
        return result.modified_count

    async def close(self, opinion_id: str, now: datetime) -> int:
        """The opinion was answered: remember it and cancel its pending timers."""
        try:
            await self._closed.insert_one({"_id": opinion_id, "closed_at": now})
        except DuplicateKeyError:
            pass
        return await self.cancel_pending({"opinion_id": opinion_id}, now)

    async def is_closed(self, opinion_id: str) -> bool:
        return await self._closed.count_documents({"_id": opinion_id}, limit=1) == 1

    async def for_tracking_code(self, code: str) -> list[dict[str, Any]]:
        return await self._timers.find({"tracking_code": code}).sort("fire_at", 1).to_list(None)

    async def retarget(self, opinion_id: str, agency: dict[str, Any]) -> None:
        """The opinion was given to another agency: its pending reminders go to that one."""
        await self._timers.update_many({"opinion_id": opinion_id, "status": PENDING}, {"$set": {"agency": agency}})

    async def head_of(self, opinion_id: str) -> str | None:
        doc = await self._timers.find_one({"opinion_id": opinion_id, "head": {"$ne": None}}, {"head": 1})
        return doc["head"] if doc else None


class ConferenceRepository:
    def __init__(self, db: AsyncDatabase, outbox: Outbox, events: EventSource) -> None:
        self._conferences = db["conferences"]
        self._outbox = outbox
        self._events = events

    async def create_indexes(self) -> None:
        await self._conferences.create_index([("plan_year", 1), ("starts_at", 1)])
        await self._outbox.track(self._conferences)

    def _entries(self, conference: Conference) -> list[dict[str, Any]]:
        entries = self._events.entries(conference.events, conference.notes)
        conference.events, conference.notes = [], []
        return entries

    async def add(self, conference: Conference) -> bool:
        entries = self._entries(conference)
        try:
            await self._conferences.insert_one({**conference.doc, OUTBOX: entries})
        except DuplicateKeyError:
            return False
        await self._outbox.flush(self._conferences, conference.id, entries)
        return True

    async def get(self, conference_id: str) -> Conference | None:
        doc = await self._conferences.find_one({"_id": conference_id}, {OUTBOX: 0})
        return Conference(doc) if doc else None

    async def save(self, conference: Conference) -> bool:
        """Compare-and-set on the version: two people moving one conference at once cannot both win."""
        entries = self._entries(conference)
        result = await self._conferences.update_one(
            {"_id": conference.id, "version": conference.loaded_version},
            {
                "$set": conference.changes(),
                "$push": {"history": {"$each": conference.history}, OUTBOX: {"$each": entries}},
            },
        )
        if result.modified_count != 1:
            return False
        conference.changed.clear()
        conference.history = []
        conference.loaded_version = conference.doc["version"]
        await self._outbox.flush(self._conferences, conference.id, entries)
        return True

    async def of_year(self, year: int) -> list[dict[str, Any]]:
        cursor = self._conferences.find({"plan_year": year}, {OUTBOX: 0, "history": 0}).sort("starts_at", 1)
        return await cursor.to_list(None)
