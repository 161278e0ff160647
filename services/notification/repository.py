"""Notification's state: citizens' contacts (kept only here and at intake) and every notification.

A notification is stored before anything is sent, and sent only by whoever holds its lease: the
delivery that created it, or later the retry loop once the lease has run out (its holder died or
the attempt failed). A second delivery of the same event finds it stored and does nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.storage.outbox import OUTBOX

QUEUED, SENT, FAILED, ACKNOWLEDGED = "queued", "sent", "failed", "acknowledged"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def now_utc() -> datetime:
    # Leases and retry times are about this machine's processes, not the domain's (injected) clock.
    return datetime.now(UTC)


class NotificationRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.notifications = db["notifications"]
        self.contacts = db["contacts"]
        self.agencies = db["agencies"]

    async def create_indexes(self) -> None:
        await self.notifications.create_index([("opinion_id", ASCENDING), ("created_at", ASCENDING)])
        await self.notifications.create_index([("tracking_code", ASCENDING)])
        await self.notifications.create_index([("recipient.agency_id", ASCENDING), ("created_at", ASCENDING)])
        await self.notifications.create_index(
            [("status", ASCENDING), ("next_attempt_at", ASCENDING)], partialFilterExpression={"status": QUEUED}
        )
        await self.notifications.create_index(
            [("awaiting_ack", ASCENDING), ("sent_at", ASCENDING)], partialFilterExpression={"awaiting_ack": True}
        )

    async def save_contact(self, opinion_id: str, doc: dict[str, Any]) -> None:
        try:
            await self.contacts.insert_one({"_id": opinion_id, **doc})
        except DuplicateKeyError:
            pass  # a redelivery: the first one stored it

    async def contact(self, opinion_id: str) -> dict[str, Any] | None:
        return await self.contacts.find_one({"_id": opinion_id})

    async def create(self, docs: list[dict[str, Any]], lease: timedelta) -> list[dict[str, Any]]:
        """Store new notifications, leased to the caller; return those that were new."""
        if not docs:
            return []
        until = now_utc() + lease
        for doc in docs:
            doc["lease_until"] = until
        try:
            await self.notifications.insert_many(docs, ordered=False)
            return docs
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            duplicates = {e["index"] for e in errors}
            return [d for i, d in enumerate(docs) if i not in duplicates]

    async def due(self, limit: int = 100) -> list[dict[str, Any]]:
        now = now_utc()
        query = {"status": QUEUED, "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}}
        return await self.notifications.find(query, {OUTBOX: 0}).sort("next_attempt_at", 1).limit(limit).to_list(None)

    async def claim(self, notification_id: str, lease: timedelta) -> bool:
        now = now_utc()
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": QUEUED, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + lease}},
        )
        return result.modified_count == 1

    async def mark_sent(self, notification_id: str, at: datetime, *, subject: str, awaiting_ack: bool) -> None:
        await self.notifications.update_one(
            {"_id": notification_id, "status": QUEUED},
            {
                "$set": {
                    "status": SENT,
                    "sent_at": at,
                    "subject": subject,
                    "awaiting_ack": awaiting_ack,
                    "lease_until": NEVER,
                },
                "$inc": {"attempts": 1},
            },
        )

    async def schedule_retry(self, notification_id: str, error: str, at: datetime, retry_at: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id, "status": QUEUED},
            {
                "$set": {"last_error": error, "last_attempt_at": at, "next_attempt_at": retry_at, "lease_until": NEVER},
                "$inc": {"attempts": 1},
            },
        )

    async def mark_failed(
        self, notification_id: str, error: str, at: datetime, entries: list[dict[str, Any]], *, attempted: bool
    ) -> bool:
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": QUEUED},
            {
                "$set": {"status": FAILED, "last_error": error, "failed_at": at, "lease_until": NEVER},
                "$inc": {"attempts": 1 if attempted else 0},
                "$push": {OUTBOX: {"$each": entries}},
            },
        )
        return result.modified_count == 1

    async def mark_acknowledged(
        self, notification_id: str, at: datetime, via: str, entries: list[dict[str, Any]]
    ) -> bool:
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": SENT},
            {
                "$set": {"status": ACKNOWLEDGED, "acknowledged_at": at, "acknowledged_via": via, "awaiting_ack": False},
                "$push": {OUTBOX: {"$each": entries}},
            },
        )
        return result.modified_count == 1

    async def requeue(self, notification_id: str) -> bool:
        """A failed notification, sent again from scratch (an operator's retry)."""
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": FAILED},
            {"$set": {"status": QUEUED, "attempts": 0, "next_attempt_at": NEVER, "lease_until": NEVER}},
        )
        return result.modified_count == 1

    async def unacknowledged(self, sent_before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.notifications.find({"awaiting_ack": True, "sent_at": {"$lte": sent_before}}, {OUTBOX: 0})
        return await cursor.limit(limit).to_list(None)

    async def stop_waiting_for_ack(self, notification_id: str) -> None:
        await self.notifications.update_one({"_id": notification_id}, {"$set": {"awaiting_ack": False}})

    async def get(self, notification_id: str) -> dict[str, Any] | None:
        return await self.notifications.find_one({"_id": notification_id}, {OUTBOX: 0})

    async def search(self, query: dict[str, Any], limit: int = 500) -> list[dict[str, Any]]:
        cursor = self.notifications.find(query, {OUTBOX: 0, "variables": 0}).sort("created_at", 1).limit(limit)
        return await cursor.to_list(None)
