"""Notification's state: citizens' contacts (kept only here and at intake) and every notification (the
`Notification` aggregate, saved with its events in one write). The collections are private to it.

A notification is stored before anything is sent, and sent only by whoever holds its lease: the
delivery that created it, or later the retry loop once the lease has run out (its holder died or
the attempt failed). A second delivery of the same event finds it stored and does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.notification.domain import QUEUED, Notification, now_utc
from shared.storage.outbox import OUTBOX, EventSource, Outbox


class NotificationRepository:
    def __init__(self, db: AsyncDatabase, outbox: Outbox, events: EventSource) -> None:
        self._notifications = db["notifications"]
        self._contacts = db["contacts"]
        self._outbox = outbox
        self._events = events

    async def create_indexes(self) -> None:
        await self._outbox.track(self._notifications)
        await self._notifications.create_index([("opinion_id", ASCENDING), ("created_at", ASCENDING)])
        await self._notifications.create_index([("tracking_code", ASCENDING)])
        await self._notifications.create_index([("recipient.agency_id", ASCENDING), ("created_at", ASCENDING)])
        await self._notifications.create_index(
            [("status", ASCENDING), ("next_attempt_at", ASCENDING)], partialFilterExpression={"status": QUEUED}
        )
        await self._notifications.create_index(
            [("awaiting_ack", ASCENDING), ("sent_at", ASCENDING)], partialFilterExpression={"awaiting_ack": True}
        )

    async def save_contact(self, opinion_id: str, doc: dict[str, Any]) -> None:
        try:
            await self._contacts.insert_one({"_id": opinion_id, **doc})
        except DuplicateKeyError:
            pass  # a redelivery: the first one stored it

    async def contact(self, opinion_id: str) -> dict[str, Any] | None:
        return await self._contacts.find_one({"_id": opinion_id})

    async def create(self, notifications: list[Notification], lease: timedelta) -> list[Notification]:
        """Store new notifications, leased to the caller; return those that were new."""
        if not notifications:
            return []
        until = now_utc() + lease
        for n in notifications:
            n.doc["lease_until"] = until
        try:
            await self._notifications.insert_many([n.doc for n in notifications], ordered=False)
            return notifications
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            duplicates = {e["index"] for e in errors}
            return [n for i, n in enumerate(notifications) if i not in duplicates]

    async def due(self, limit: int = 100) -> list[Notification]:
        now = now_utc()
        query = {"status": QUEUED, "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}}
        cursor = self._notifications.find(query, {OUTBOX: 0}).sort("next_attempt_at", 1).limit(limit)
        return [Notification(d) for d in await cursor.to_list(None)]

    async def claim(self, notification_id: str, lease: timedelta) -> bool:
        now = now_utc()
        result = await self._notifications.update_one(
            {"_id": notification_id, "status": QUEUED, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + lease}},
        )
        return result.modified_count == 1

    async def save(self, notification: Notification) -> bool:
        """A step of its delivery, with its event, if it is still where it was (a compare-and-set on the
        status it was loaded in); then publish."""
        entries = self._events.entries(notification.events, notification.notes)
        notification.events, notification.notes = [], []
        update: dict[str, Any] = {"$set": notification.changes()}
        if entries:
            update["$push"] = {OUTBOX: {"$each": entries}}
        result = await self._notifications.update_one(
            {"_id": notification.id, "status": notification.loaded_status}, update
        )
        if result.modified_count != 1:
            return False
        notification.changed.clear()
        notification.loaded_status = notification.status
        if entries:
            await self._outbox.flush(self._notifications, notification.id, entries)
        return True

    async def unacknowledged(self, sent_before: datetime, limit: int = 100) -> list[Notification]:
        cursor = self._notifications.find({"awaiting_ack": True, "sent_at": {"$lte": sent_before}}, {OUTBOX: 0})
        return [Notification(d) for d in await cursor.limit(limit).to_list(None)]

    async def get(self, notification_id: str) -> Notification | None:
        doc = await self._notifications.find_one({"_id": notification_id}, {OUTBOX: 0})
        return Notification(doc) if doc else None

    async def search(self, query: dict[str, Any], limit: int = 500) -> list[dict[str, Any]]:
        cursor = self._notifications.find(query, {OUTBOX: 0, "variables": 0}).sort("created_at", 1).limit(limit)
        return await cursor.to_list(None)
