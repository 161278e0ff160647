"""The audit trail: who changed what, with which roles, from where, when (answers, reassignments,
escalations, conference moves, directory changes, acknowledgements, refused link messages). One entry
per change."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock


class Actor(Protocol):
    """Who made a change: a person or key (shared.http.auth.Caller), a link, a signed mail link."""

    def as_record(self) -> dict[str, object]:
        """actor, actor_id, roles, agency_id, from_address."""
        ...


class AuditLog:
    def __init__(self, db: AsyncDatabase, clock: Clock) -> None:
        self.entries = db["audit"]
        self.clock = clock

    async def create_indexes(self) -> None:
        await self.entries.create_index([("target", 1), ("at", DESCENDING)])
        await self.entries.create_index([("at", DESCENDING)])

    async def record(self, caller: Actor, action: str, target: str, details: dict[str, Any] | None = None) -> None:
        await self.entries.insert_one(
            {"at": self.clock.now(), **caller.as_record(), "action": action, "target": target, "details": details or {}}
        )

    async def copy(self, entry_id: str, entry: dict[str, Any]) -> None:
        """An entry saved with a state change (in that document's outbox), into the trail once."""
        try:
            await self.entries.insert_one({"_id": entry_id, **entry})
        except DuplicateKeyError:
            pass  # copied already, before a crash kept it in the outbox

    async def search(
        self, *, target: str | None, action: str | None, since: datetime | None, limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if target:
            query["target"] = target
        if action:
            query["action"] = action
        if since:
            query["at"] = {"$gte": since}
        return await self.entries.find(query, {"_id": 0}).sort("at", DESCENDING).limit(limit).to_list(None)
