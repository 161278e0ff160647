"""Assignment's state: one document per opinion at this instance, and children's summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.domain import Status
from shared.storage.outbox import OUTBOX


class AssignmentRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.assignments = db["assignments"]
        self.agencies = db["agencies"]
        self.child_summaries = db["child_summaries"]
        self.conferences = db["conferences"]
        self.documents = db["documents"]
        self.dossiers = db["dossiers"]
        self.report_sequences = db["report_sequences"]

    async def create_indexes(self) -> None:
        # Tracking codes are unique per receiving instance, not across instances.
        await self.assignments.create_index([("tracking_code", 1), ("origin_instance", 1)], unique=True)
        await self.assignments.create_index([("status", 1), ("due_at", 1)])
        await self.assignments.create_index([("submitted_at", 1)])
        await self.assignments.create_index([("conference_id", 1), ("submitted_at", 1)], sparse=True)
        await self.documents.create_index([("conference_id", 1)])

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

    async def find(
        self, query: dict[str, Any], *, sort: list[tuple[str, int]], skip: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """A page of opinions matching `query` and how many match in all."""
        total = await self.assignments.count_documents(query)
        cursor = self.assignments.find(query, {OUTBOX: 0, "processed": 0}).sort(sort).skip(skip).limit(limit)
        return total, await cursor.to_list(None)

    async def get(self, opinion_id: str) -> dict[str, Any] | None:
        return await self.assignments.find_one({"_id": opinion_id}, {OUTBOX: 0})

    async def by_tracking_code(self, code: str) -> dict[str, Any] | None:
        return await self.assignments.find_one({"tracking_code": code}, {OUTBOX: 0})

    async def transition(
        self, opinion_id: str, expected: Status, changes: dict[str, Any], entries: list[dict[str, Any]]
    ) -> bool:
        """Change an opinion only if it is still in `expected` status: a compare-and-set, with its events."""
        result = await self.assignments.update_one(
            {"_id": opinion_id, "status": expected.value},
            {"$set": changes, "$push": {OUTBOX: {"$each": entries}}},
        )
        return result.modified_count == 1

    async def apply_progress(
        self, opinion_id: str, event_id: str, rank: int, changes: dict[str, Any], entries: list[dict[str, Any]]
    ) -> bool:
        """Apply news from above once, and only if it is newer than what is known (they may overtake)."""
        result = await self.assignments.update_one(
            {"_id": opinion_id, "processed": {"$ne": event_id}, "progress": {"$lt": rank}},
            {
                "$set": {**changes, "progress": rank},
                "$addToSet": {"processed": event_id},
                "$push": {OUTBOX: {"$each": entries}},
            },
        )
        if result.modified_count == 1:
            return True
        await self.assignments.update_one({"_id": opinion_id}, {"$addToSet": {"processed": event_id}})
        return False

    async def outcome_groups(self, match: dict[str, Any]) -> list[dict[str, Any]]:
        """Opinions matching `match` counted by every dimension a summary needs, in the database."""
        pipeline = [
            {"$match": match},
            {
                "$group": {
                    "_id": {
                        "came_from": "$came_from",
                        "channel": "$channel",
                        "field": "$field",
                        "head": "$head",
                        "status": "$status",
                        "kind": "$answer.kind",
                        "on_time": "$answer.on_time",
                        "days": "$answer.days",
                        "holder_level": "$holder.level",
                        "escalated_to_level": "$escalation.to_level",
                    },
                    "n": {"$sum": 1},
                }
            },
        ]
        return await (await self.assignments.aggregate(pipeline)).to_list(None)

    async def count_conferences(self, start: datetime, end: datetime) -> int:
        """Conferences of this instance held (opened) in [start, end)."""
        return await self.conferences.count_documents(
            {
                "snapshot.starts_at": {"$gte": start, "$lt": end},
                "snapshot.status": {"$in": ["open", "closed", "concluded"]},
            }
        )

    async def count_overdue(self, match: dict[str, Any], now: datetime) -> int:
        """Opinions matching `match` still waiting for an answer after their deadline."""
        return await self.assignments.count_documents(
            {
                **match,
                "came_from": None,
                "status": {"$nin": [Status.ANSWERED.value, Status.REDIRECTED.value]},
                "due_at": {"$lt": now},
            }
        )

    async def store_child_summary(self, child: str, period: str, summary: dict[str, Any], sequence: int) -> bool:
        """Keep the newest summary per child and period by the child's report sequence (reports may arrive
        twice or out of order); False if the one kept is as new or newer."""
        older = {"$or": [{"sequence": {"$lt": sequence}}, {"sequence": {"$exists": False}}]}
        try:
            await self.child_summaries.update_one(
                {"_id": f"{child}:{period}", **older},
                {"$set": {"child": child, "period": period, "summary": summary, "sequence": sequence}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a newer one is stored already
        return True

    async def next_report_sequence(self, period: str) -> int:
        """This instance's next report number for `period` (1, 2, …), kept across restarts."""
        doc = await self.report_sequences.find_one_and_update(
            {"_id": period}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return int(doc["n"])

    async def child_summaries_for(self, period: str) -> list[dict[str, Any]]:
        return await self.child_summaries.find({"period": period}).sort("child", 1).to_list(None)

    async def of_conference(self, conference_id: str) -> list[dict[str, Any]]:
        cursor = self.assignments.find({"conference_id": conference_id, "came_from": None}, {OUTBOX: 0})
        return await cursor.sort("submitted_at", 1).to_list(None)

    async def keep_conference(self, conference_id: str, version: int, doc: dict[str, Any]) -> bool:
        """Assignment's copy of a conference; True if this version was newer than the one kept."""
        try:
            result = await self.conferences.update_one(
                {"_id": conference_id, "version": {"$lt": version}}, {"$set": {**doc, "version": version}}, upsert=True
            )
        except DuplicateKeyError:
            return False  # a newer version is kept already
        return result.modified_count == 1 or result.upserted_id is not None

    async def conference(self, conference_id: str) -> dict[str, Any] | None:
        return await self.conferences.find_one({"_id": conference_id})

    async def insert_once(self, collection: Any, doc: dict[str, Any]) -> bool:
        """Insert a document whose id says what it is (a dossier, a notice); False if it exists."""
        try:
            await collection.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False
