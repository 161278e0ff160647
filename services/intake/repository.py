"""Intake's state: each opinion as received, with the status read model built from later events. The
collections are private to this module; a change is saved with its events and audit notes in one write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.intake.domain import Change, Opinion, Stage
from shared.similarity import blocking_keys, signature
from shared.storage.outbox import OUTBOX, EventSource, Outbox
from shared.text import search_key

# What the duplicate finder reads of a candidate (its stored signature, not the text again).
SIMILAR_FIELDS = {"tracking_code": 1, "text": 1, "field": 1, "stage": 1, "tabled": 1, "conference_id": 1,
                  "location": 1, "submitted_at": 1, "merged_into": 1, "similar.sig": 1}  # fmt: skip


def similarity_keys(text: str) -> dict[str, Any]:
    """What the duplicate finder stores on an opinion: its signature and the keys to fetch candidates by."""
    sig = signature(text)
    return {"sig": sig.as_dict(), "keys": blocking_keys(sig)}


class TrackingCodeTaken(Exception):
    pass


class OpinionRepository:
    def __init__(self, db: AsyncDatabase, outbox: Outbox, events: EventSource) -> None:
        self._opinions = db["opinions"]
        self._conferences = db["conferences"]
        self._outbox = outbox
        self._events = events

    async def create_indexes(self) -> None:
        await self._outbox.track(self._opinions)
        await self._opinions.create_index("tracking_code", unique=True)
        await self._opinions.create_index([("submitted_at", DESCENDING)])
        await self._opinions.create_index([("stage", ASCENDING), ("overdue", ASCENDING)])
        await self._opinions.create_index([("conference_id", ASCENDING), ("submitted_at", ASCENDING)], sparse=True)
        await self._opinions.create_index([("history.at", ASCENDING)])  # Open311 status updates by time
        await self._opinions.create_index([("similar.keys", ASCENDING)])  # the duplicate finder's candidates

    async def add_search_keys(self) -> int:
        """Opinions stored before staff search existed get their search key (once, at start)."""
        done = 0
        async for doc in self._opinions.find({"search": {"$exists": False}}, {"text": 1, "tracking_code": 1}):
            key = search_key(f"{doc['text']} {doc['tracking_code']}")
            await self._opinions.update_one({"_id": doc["_id"]}, {"$set": {"search": key}})
            done += 1
        return done

    async def add_similarity_keys(self) -> int:
        """Opinions stored before the duplicate finder existed get its keys (once, at start)."""
        done = 0
        async for doc in self._opinions.find({"similar": {"$exists": False}}, {"text": 1}):
            await self._opinions.update_one({"_id": doc["_id"]}, {"$set": {"similar": similarity_keys(doc["text"])}})
            done += 1
        return done

    async def similar_candidates(self, keys: list[str], *, limit: int) -> list[dict[str, Any]]:
        """Open opinions, not merged, sharing a key with `keys`: the few the finder scores."""
        query = {"similar.keys": {"$in": keys}, "stage": {"$lt": int(Stage.REDIRECTED)}, "merged_into": None}
        cursor = self._opinions.find(query, SIMILAR_FIELDS).sort("submitted_at", DESCENDING).limit(limit)
        return await cursor.to_list(None)

    async def recent_signatures(self, limit: int) -> list[dict[str, Any]]:
        """The stored signatures of the latest opinions: the finder's word weights are counted over them."""
        cursor = self._opinions.find({"similar": {"$exists": True}}, {"similar.sig": 1})
        return [d["similar"]["sig"] for d in await cursor.sort("submitted_at", DESCENDING).limit(limit).to_list(None)]

    async def find(self, query: dict[str, Any], *, skip: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """A page of opinions matching `query`, newest first, and how many match in all."""
        total = await self._opinions.count_documents(query)
        cursor = self._opinions.find(query, {OUTBOX: 0, "processed": 0, "search": 0, "history": 0, "similar": 0})
        return total, await cursor.sort("submitted_at", DESCENDING).skip(skip).limit(limit).to_list(None)

    async def add(self, opinion: Opinion) -> list[dict[str, Any]]:
        """Save a new opinion with its `opinion.received.v1` in one write; returns the outbox entries to publish
        (the caller publishes them after answering, so the citizen does not wait for the broker)."""
        doc = opinion.doc
        doc["search"] = search_key(
            f"{doc['text']} {doc['tracking_code']} {((doc.get('location') or {}).get('address')) or ''}"
        )
        doc["similar"] = similarity_keys(doc["text"])
        entries = self._events.entries(opinion.events, opinion.notes)
        opinion.events, opinion.notes = [], []
        try:
            await self._opinions.insert_one({**doc, OUTBOX: entries})
        except DuplicateKeyError as exc:
            raise TrackingCodeTaken(doc["tracking_code"]) from exc
        return entries

    async def publish(self, opinion_id: str, entries: list[dict[str, Any]]) -> None:
        await self._outbox.flush(self._opinions, opinion_id, entries)

    async def save_feedback(self, opinion: Opinion) -> bool:
        """The citizen's word on the answer, if the opinion is still closed; with its audit note."""
        entries = self._events.entries(opinion.events, opinion.notes)
        opinion.events, opinion.notes = [], []
        result = await self._opinions.update_one(
            {"_id": opinion.opinion_id, "stage": int(Stage.CLOSED)},
            {"$set": opinion.changes(), "$push": {"history": {"$each": opinion.history}, OUTBOX: {"$each": entries}}},
        )
        if result.modified_count != 1:
            return False
        await self._outbox.flush(self._opinions, opinion.opinion_id, entries)
        return True

    async def opinion(self, code: str) -> Opinion | None:
        doc = await self.by_tracking_code(code)
        return Opinion(doc) if doc else None

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
        result = await self._opinions.update_one(query, update)
        return result.modified_count == 1

    async def exists(self, opinion_id: str) -> bool:
        return await self._opinions.count_documents({"_id": opinion_id}, limit=1) == 1

    async def by_id(self, opinion_id: str) -> dict[str, Any] | None:
        return await self._opinions.find_one({"_id": opinion_id})

    async def by_tracking_code(self, code: str) -> dict[str, Any] | None:
        return await self._opinions.find_one({"tracking_code": code}, {OUTBOX: 0, "processed": 0, "similar": 0})

    async def by_tracking_codes(self, codes: list[str]) -> list[dict[str, Any]]:
        cursor = self._opinions.find({"tracking_code": {"$in": codes}}, {OUTBOX: 0, "processed": 0})
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
        cursor = self._opinions.find(query, {OUTBOX: 0, "processed": 0}).sort("submitted_at", DESCENDING).limit(limit)
        return await cursor.to_list(None)

    async def keep_conference(self, conference_id: str, version: int, doc: dict[str, Any]) -> None:
        """Intake's copy of a conference (to accept or refuse opinions for it); newer versions only."""
        try:
            await self._conferences.update_one(
                {"_id": conference_id, "version": {"$lt": version}}, {"$set": {**doc, "version": version}}, upsert=True
            )
        except DuplicateKeyError:
            pass  # a newer version is stored

    async def conference(self, conference_id: str) -> dict[str, Any] | None:
        return await self._conferences.find_one({"_id": conference_id})

    async def open_by_stage(self) -> dict[int, int]:
        """Open opinions per stage, counted in the database (by the stage index)."""
        pipeline = [
            {"$match": {"stage": {"$lt": int(Stage.REDIRECTED)}}},
            {"$group": {"_id": "$stage", "n": {"$sum": 1}}},
        ]
        return {g["_id"]: g["n"] for g in await (await self._opinions.aggregate(pipeline)).to_list(None)}

    async def overdue_now(self) -> int:
        return await self._opinions.count_documents({"stage": {"$lt": int(Stage.REDIRECTED)}, "overdue": True})
