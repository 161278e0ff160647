"""Assignment's state: one document per opinion with its classification, agency, deadline, answer."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.domain import Status
from shared.storage.outbox import OUTBOX


class AssignmentRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.assignments = db["assignments"]
        self.agencies = db["agencies"]

    async def create_indexes(self) -> None:
        # Tracking codes are unique per receiving instance, not across instances.
        await self.assignments.create_index([("tracking_code", 1), ("origin_instance", 1)], unique=True)
        await self.assignments.create_index([("status", 1), ("due_at", 1)])

    async def insert(self, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Insert once. A second delivery gets the stored document (with what is left in its outbox)
        and False."""
        try:
            await self.assignments.insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            existing = await self.assignments.find_one({"_id": doc["_id"]})
            if existing is None:
                raise
            return existing, False

    async def by_tracking_code(self, code: str) -> dict[str, Any] | None:
        return await self.assignments.find_one({"tracking_code": code}, {OUTBOX: 0})

    async def record_answer(self, opinion_id: str, answer: dict[str, Any], entries: list[dict[str, Any]]) -> bool:
        """Answer only an opinion still waiting for one; the filter makes it a compare-and-set."""
        result = await self.assignments.update_one(
            {"_id": opinion_id, "status": Status.ASSIGNED.value},
            {
                "$set": {"status": Status.ANSWERED.value, "answer": answer},
                "$push": {OUTBOX: {"$each": entries}},
            },
        )
        return result.modified_count == 1
