"""Intake's state: each opinion as received, with the status read model built from later events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.intake.domain import Change, Stage
from shared.events import Envelope, OpinionReceivedV1
from shared.storage.outbox import OUTBOX, outbox_entries
from shared.text import search_key


class TrackingCodeTaken(Exception):
    pass


class OpinionRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self.opinions = db["opinions"]
        self.conferences = db["conferences"]

    async def create_indexes(self) -> None:
        await self.opinions.create_index("tracking_code", unique=True)
        await self.opinions.create_index([("submitted_at", DESCENDING)])
        await self.opinions.create_index([("stage", ASCENDING), ("overdue", ASCENDING)])
        await self.opinions.create_index([("conference_id", ASCENDING), ("submitted_at", ASCENDING)], sparse=True)

    async def add_search_keys(self) -> int:
        """Opinions stored before staff search existed get their search key (once, at start)."""
        done = 0
        async for doc in self.opinions.find({"search": {"$exists": False}}, {"text": 1, "tracking_code": 1}):
            key = search_key(f"{doc['text']} {doc['tracking_code']}")
            await self.opinions.update_one({"_id": doc["_id"]}, {"$set": {"search": key}})
            done += 1
        return done

    async def find(self, query: dict[str, Any], *, skip: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """A page of opinions matching `query`, newest first, and how many match in all."""
        total = await self.opinions.count_documents(query)
        cursor = self.opinions.find(query, {OUTBOX: 0, "processed": 0, "search": 0, "history": 0})
        return total, await cursor.sort("submitted_at", DESCENDING).skip(skip).limit(limit).to_list(None)

    async def give_feedback(self, code: str, feedback: dict[str, Any], note: str) -> bool:
        """The citizen's word on the answer, on a closed opinion only; the latest one counts."""
        result = await self.opinions.update_one(
            {"tracking_code": code, "stage": int(Stage.CLOSED)},
            {
                "$set": {"feedback": feedback, "updated_at": feedback["at"]},
                "$push": {"history": {"at": feedback["at"], "stage": None, "note": note}},
            },
        )
        return result.modified_count == 1

    async def insert_received(
        self, event: Envelope[OpinionReceivedV1], entered_by: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Save the opinion and its `opinion.received.v1` event in one write."""
        p = event.payload
        doc = {
            "_id": p.opinion_id,
            "tracking_code": p.tracking_code,
            "origin_instance": p.origin_instance,
            "channel": p.channel.value,
            "text": p.text,
            "search": search_key(f"{p.text} {p.tracking_code} {(p.location.address or '') if p.location else ''}"),
            "field": p.field,
            "head": p.head.value if p.head else None,
            "location": p.location.model_dump() if p.location else None,
            "citizen": p.citizen.model_dump() if p.citizen else None,
            "conference_id": p.conference_id,
            "correlation_id": event.correlation_id,
            "submitted_at": p.submitted_at,
            "updated_at": p.submitted_at,
            "stage": int(Stage.RECEIVED),
            "overdue": False,
            "entered_by": entered_by,  # who typed it in (the audit trail of a submission lives here)
            "history": [{"at": p.submitted_at, "stage": int(Stage.RECEIVED), "note": "Tiếp nhận ý kiến"}],
            "processed": [str(event.event_id)],
            OUTBOX: outbox_entries(event),
        }
        try:
            await self.opinions.insert_one(doc)
        except DuplicateKeyError as exc:
            raise TrackingCodeTaken(p.tracking_code) from exc
        return doc

    async def apply(self, opinion_id: str, event_id: str, at: datetime, change: Change) -> bool:
        """Apply a downstream event once; False if already applied (or not applicable)."""
        query: dict[str, Any] = {"_id": opinion_id, "processed": {"$ne": event_id}}
        if change.before is not None:
            query["stage"] = {"$lt": int(change.before)}
        update: dict[str, Any] = {
            "$set": {**change.set, "updated_at": at},
            "$addToSet": {"processed": event_id},
            "$push": {"history": {"at": at, "stage": int(change.stage) if change.stage else None, "note": change.note}},
        }
        if change.stage is not None:
            update["$max"] = {"stage": int(change.stage)}
        result = await self.opinions.update_one(query, update)
        return result.modified_count == 1

    async def exists(self, opinion_id: str) -> bool:
        return await self.opinions.count_documents({"_id": opinion_id}, limit=1) == 1

    async def by_id(self, opinion_id: str) -> dict[str, Any] | None:
        return await self.opinions.find_one({"_id": opinion_id})

    async def by_tracking_code(self, code: str) -> dict[str, Any] | None:
        return await self.opinions.find_one({"tracking_code": code}, {OUTBOX: 0, "processed": 0})

    async def by_tracking_codes(self, codes: list[str]) -> list[dict[str, Any]]:
        cursor = self.opinions.find({"tracking_code": {"$in": codes}}, {OUTBOX: 0, "processed": 0})
        return await cursor.to_list(None)

    async def search(
        self,
        *,
        field: str | None,
        start: datetime | None,
        end: datetime | None,
        open_: bool | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if field:
            query["field"] = field
        if start or end:
            query["submitted_at"] = {k: v for k, v in (("$gte", start), ("$lt", end)) if v}
        if open_ is not None:
            query["stage"] = {"$lt": int(Stage.REDIRECTED)} if open_ else {"$gte": int(Stage.REDIRECTED)}
        cursor = self.opinions.find(query, {OUTBOX: 0, "processed": 0}).sort("submitted_at", DESCENDING).limit(limit)
        return await cursor.to_list(None)

    async def keep_conference(self, conference_id: str, version: int, doc: dict[str, Any]) -> None:
        """Intake's copy of a conference (to accept or refuse opinions for it); newer versions only."""
        try:
            await self.conferences.update_one(
                {"_id": conference_id, "version": {"$lt": version}}, {"$set": {**doc, "version": version}}, upsert=True
            )
        except DuplicateKeyError:
            pass  # a newer version is stored

    async def conference(self, conference_id: str) -> dict[str, Any] | None:
        return await self.conferences.find_one({"_id": conference_id})

    async def open_by_stage(self) -> dict[int, int]:
        """Open opinions per stage, counted in the database (by the stage index)."""
        pipeline = [
            {"$match": {"stage": {"$lt": int(Stage.REDIRECTED)}}},
            {"$group": {"_id": "$stage", "n": {"$sum": 1}}},
        ]
        return {g["_id"]: g["n"] for g in await (await self.opinions.aggregate(pipeline)).to_list(None)}

    async def overdue_now(self) -> int:
        return await self.opinions.count_documents({"stage": {"$lt": int(Stage.REDIRECTED)}, "overdue": True})
