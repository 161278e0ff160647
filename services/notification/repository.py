"""Notification's state: citizens' contacts (kept only here and at intake) and every notification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

QUEUED, SENT, FAILED = "queued", "sent", "failed"


class NotificationRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.notifications = db["notifications"]
        self.contacts = db["contacts"]

    async def create_indexes(self) -> None:
        await self.notifications.create_index([("opinion_id", 1), ("created_at", 1)])
        await self.notifications.create_index([("status", 1), ("created_at", 1)])

    async def save_contact(self, opinion_id: str, doc: dict[str, Any]) -> None:
        await self.contacts.update_one({"_id": opinion_id}, {"$setOnInsert": doc}, upsert=True)

    async def contact(self, opinion_id: str) -> dict[str, Any] | None:
        return await self.contacts.find_one({"_id": opinion_id})

    async def claim(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Store a new notification as queued; if it exists already, return the stored one."""
        try:
            await self.notifications.insert_one(doc)
            return doc
        except DuplicateKeyError:
            existing = await self.notifications.find_one({"_id": doc["_id"]})
            if existing is None:
                raise
            return existing

    async def mark_sent(self, notification_id: str, now: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id}, {"$set": {"status": SENT, "sent_at": now}, "$inc": {"attempts": 1}}
        )

    async def mark_attempt_failed(self, notification_id: str, error: str, now: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id},
            {"$set": {"last_error": error, "last_attempt_at": now}, "$inc": {"attempts": 1}},
        )

    async def for_opinion(self, opinion_id: str) -> list[dict[str, Any]]:
        return await self.notifications.find({"opinion_id": opinion_id}).sort("created_at", 1).to_list(None)
