"""Notification's state: citizens' contacts (kept only here and at intake) and every notification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

QUEUED, SENT, FAILED = "queued", "sent", "failed"


@dataclass(frozen=True)
class Claim:
    doc: dict[str, Any]
    owned: bool


class NotificationRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.notifications = db["notifications"]
        self.contacts = db["contacts"]

    async def create_indexes(self) -> None:
        await self.notifications.create_index([("opinion_id", 1), ("created_at", 1)])
        await self.notifications.create_index([("status", 1), ("created_at", 1)])

    async def save_contact(self, opinion_id: str, doc: dict[str, Any]) -> None:
        try:
            await self.contacts.insert_one({"_id": opinion_id, **doc})
        except DuplicateKeyError:
            pass  # a redelivery: the first one stored it

    async def contact(self, opinion_id: str) -> dict[str, Any] | None:
        return await self.contacts.find_one({"_id": opinion_id})

    async def claim(self, doc: dict[str, Any], lease: timedelta) -> Claim:
        """Become the one sender of a notification, for `lease`.

        The first delivery of an event inserts the notification and holds its lease. A second
        delivery (a redelivery, or the outbox relay's copy arriving at the same time) finds it
        sent, or leased by someone else, and does not send; it may take over a queued
        notification only once the lease has run out (its holder died or gave up).
        """
        now = datetime.now(UTC)
        try:
            await self.notifications.insert_one({**doc, "lease_until": now + lease})
            return Claim(doc, owned=True)
        except DuplicateKeyError:
            pass
        taken = await self.notifications.update_one(
            {"_id": doc["_id"], "status": QUEUED, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + lease}},
        )
        if taken.modified_count == 1:
            return Claim(doc, owned=True)
        existing = await self.notifications.find_one({"_id": doc["_id"]})
        if existing is None:
            raise RuntimeError(f"notification {doc['_id']} vanished while being claimed")
        return Claim(existing, owned=False)

    async def mark_sent(self, notification_id: str, now: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id},
            {"$set": {"status": SENT, "sent_at": now}, "$inc": {"attempts": 1}, "$unset": {"lease_until": ""}},
        )

    async def mark_attempt_failed(self, notification_id: str, error: str, now: datetime) -> None:
        """Record the failure and give the lease back, so the next try may claim at once."""
        await self.notifications.update_one(
            {"_id": notification_id},
            {
                "$set": {"last_error": error, "last_attempt_at": now, "lease_until": datetime.now(UTC)},
                "$inc": {"attempts": 1},
            },
        )

    async def for_opinion(self, opinion_id: str) -> list[dict[str, Any]]:
        return await self.notifications.find({"opinion_id": opinion_id}).sort("created_at", 1).to_list(None)
