"""Assignment's state in MongoDB: opinions as `Assignment` aggregates, conference copies, documents,
dossiers, and the children's summaries. The collections are private to this module.

`save` writes an aggregate's state, the events it recorded (the outbox) and its audit notes in one
document write (atomic on any deployment), then publishes them; whatever a crash or a broker outage
leaves in the outbox, the relay publishes later with the same ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.domain import Assignment, Status
from shared.domain import Aggregate
from shared.storage.outbox import OUTBOX, EventSource, Outbox

HIDDEN = {OUTBOX: 0, "processed": 0}


class AssignmentRepository:
    def __init__(self, db: AsyncDatabase, outbox: Outbox, events: EventSource) -> None:
        self._assignments = db["assignments"]
        self._child_summaries = db["child_summaries"]
        self._conferences = db["conferences"]
        self._documents = db["documents"]
        self._dossiers = db["dossiers"]
        self._report_sequences = db["report_sequences"]
        self._registers = db["document_registers"]
        self._document_failures = db["document_failures"]
        self._conclusion_tasks = db["conclusion_tasks"]
        self._outbox = outbox
        self._events = events

    async def create_indexes(self) -> None:
        # Tracking codes are unique per receiving instance, not across instances.
        await self._assignments.create_index([("tracking_code", 1), ("origin_instance", 1)], unique=True)
        await self._assignments.create_index([("status", 1), ("due_at", 1)])
        # An agency's inbox: its items by status, the next deadline first (and the due-soon/overdue counts).
        await self._assignments.create_index([("agency.id", 1), ("status", 1), ("due_at", 1)])
        await self._assignments.create_index([("submitted_at", 1)])
        await self._assignments.create_index([("counted_at", 1)])
        await self._assignments.create_index([("conference_id", 1), ("submitted_at", 1)], sparse=True)
        await self._documents.create_index([("conference_id", 1)])
        for collection in (self._assignments, self._documents, self._dossiers):
            await self._outbox.track(collection)

    def _entries(self, aggregate: Aggregate) -> list[dict[str, Any]]:
        entries = self._events.entries(aggregate.events, aggregate.notes)
        aggregate.events, aggregate.notes = [], []
        return entries

    # ---- opinions, as aggregates -------------------------------------------------------------------

    async def get(self, opinion_id: str) -> Assignment | None:
        doc = await self._assignments.find_one({"_id": opinion_id}, {OUTBOX: 0})
        return Assignment.from_document(doc) if doc else None

    async def by_tracking_code(self, code: str) -> Assignment | None:
        doc = await self._assignments.find_one({"tracking_code": code}, {OUTBOX: 0})
        return Assignment.from_document(doc) if doc else None

    async def add(self, assignment: Assignment) -> tuple[Assignment, bool]:
        """Store a new opinion once, with its events; a second delivery gets the stored one (its leftover
        events published) and False."""
        entries = self._entries(assignment)
        try:
            await self._assignments.insert_one({**assignment.document(), OUTBOX: entries})
        except DuplicateKeyError:
            stored = await self._assignments.find_one({"_id": assignment.opinion_id})
            if stored is None:
                raise
            if stored.get(OUTBOX):
                await self._outbox.flush(self._assignments, stored["_id"], stored[OUTBOX])
            return Assignment.from_document(stored), False
        await self._outbox.flush(self._assignments, assignment.opinion_id, entries)
        return assignment, True

    async def save(self, assignment: Assignment) -> bool:
        """Write what changed, its events and notes, if the opinion is still in the status it was loaded in
        (a compare-and-set: two people answering at once cannot both win); then publish."""
        entries = self._entries(assignment)
        result = await self._assignments.update_one(
            {"_id": assignment.opinion_id, "status": assignment.loaded_status},
            {"$set": assignment.changes(), "$push": {OUTBOX: {"$each": entries}}},
        )
        if result.modified_count != 1:
            return False
        assignment.changed.clear()
        assignment.loaded_status = assignment.status
        await self._outbox.flush(self._assignments, assignment.opinion_id, entries)
        return True

    async def save_news(self, assignment: Assignment, event_id: str, rank: int) -> bool:
        """News from above, once, and only if newer than what is known (messages may overtake each other)."""
        entries = self._entries(assignment)
        result = await self._assignments.update_one(
            {"_id": assignment.opinion_id, "processed": {"$ne": event_id}, "progress": {"$lt": rank}},
            {
                "$set": {**assignment.changes(), "progress": rank},
                "$addToSet": {"processed": event_id},
                "$push": {OUTBOX: {"$each": entries}},
            },
        )
        if result.modified_count != 1:
            await self._assignments.update_one({"_id": assignment.opinion_id}, {"$addToSet": {"processed": event_id}})
            return False
        await self._outbox.flush(self._assignments, assignment.opinion_id, entries)
        return True

    # ---- opinions, as documents for views and counts ----------------------------------------------

    async def view(self, code: str) -> dict[str, Any] | None:
        return await self._assignments.find_one({"tracking_code": code}, HIDDEN)

    async def find(
        self, query: dict[str, Any], *, sort: list[tuple[str, int]], skip: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """A page of opinions matching `query` and how many match in all."""
        total = await self._assignments.count_documents(query)
        cursor = self._assignments.find(query, HIDDEN).sort(sort).skip(skip).limit(limit)
        return total, await cursor.to_list(None)

    async def by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        return await self._assignments.find({"_id": {"$in": ids}}, HIDDEN).to_list(None)

    async def followed(self) -> list[dict[str, Any]]:
        """Every opinion received here with a deadline from a conference or a promise (the Front's board)."""
        query = {
            "came_from": None,
            "status": {"$in": [Status.ASSIGNED.value, Status.ANSWERED.value]},
            "$or": [{"conference_id": {"$ne": None}}, {"promise": {"$exists": True}}],
        }
        return await self._assignments.find(query, HIDDEN).to_list(None)

    async def of_conference(self, conference_id: str) -> list[dict[str, Any]]:
        cursor = self._assignments.find({"conference_id": conference_id}, HIDDEN)
        return await cursor.sort("submitted_at", 1).to_list(None)

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
                        "off_topic": "$promise.off_topic",
                        "method": "$method",
                    },
                    "n": {"$sum": 1},
                }
            },
        ]
        return await (await self._assignments.aggregate(pipeline)).to_list(None)

    async def count_overdue(self, match: dict[str, Any], now: datetime) -> int:
        """Opinions matching `match` still waiting for an answer after their deadline."""
        return await self._assignments.count_documents(
            {
                **match,
                "came_from": None,
                "status": {"$nin": [Status.ANSWERED.value, Status.REDIRECTED.value]},
                "due_at": {"$lt": now},
            }
        )

    # ---- conferences (assignment's copy) ------------------------------------------------------------

    async def held_conferences(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Conferences of this instance held (opened) in [start, end), as their snapshots."""
        cursor = self._conferences.find(
            {
                "snapshot.starts_at": {"$gte": start, "$lt": end},
                "snapshot.status": {"$in": ["open", "closed", "concluded"]},
            },
            {"snapshot": 1},
        )
        return [doc["snapshot"] for doc in await cursor.to_list(None)]

    async def count_on_conference_day(self, conference_id: str, day: datetime) -> None:
        """Its opinions count on the conference's date (set again when the conference moves)."""
        await self._assignments.update_many({"conference_id": conference_id}, {"$set": {"counted_at": day}})

    async def keep_conference(self, conference_id: str, version: int, doc: dict[str, Any]) -> bool:
        """Assignment's copy of a conference; True if this version was newer than the one kept."""
        try:
            result = await self._conferences.update_one(
                {"_id": conference_id, "version": {"$lt": version}}, {"$set": {**doc, "version": version}}, upsert=True
            )
        except DuplicateKeyError:
            return False  # a newer version is kept already
        return result.modified_count == 1 or result.upserted_id is not None

    async def conference(self, conference_id: str) -> dict[str, Any] | None:
        return await self._conferences.find_one({"_id": conference_id})

    # ---- documents and dossiers: each inserted once, its events with it -----------------------------

    async def add_document(self, doc: dict[str, Any], aggregate: Aggregate) -> bool:
        return await self._insert_once(self._documents, doc, aggregate)

    async def add_dossier(self, doc: dict[str, Any], aggregate: Aggregate) -> bool:
        return await self._insert_once(self._dossiers, doc, aggregate)

    async def dossiers_sent(self, conference_id: str, head: str) -> set[str]:
        """Tracking codes already sent to a head in the dossiers of a conference."""
        cursor = self._dossiers.find({"conference_id": conference_id, "head": head}, {"codes": 1})
        return {code for doc in await cursor.to_list(None) for code in doc.get("codes", [])}

    async def _insert_once(self, collection: Any, doc: dict[str, Any], aggregate: Aggregate) -> bool:
        """Insert a document whose id says what it is (a dossier, a notice), with the events recorded on
        `aggregate`; False (and nothing published) if it exists."""
        entries = self._entries(aggregate)
        try:
            await collection.insert_one({**doc, OUTBOX: entries})
        except DuplicateKeyError:
            return False
        if entries:
            await self._outbox.flush(collection, doc["_id"], entries)
        return True

    async def documents_of(self, conference_id: str) -> list[dict[str, Any]]:
        cursor = self._documents.find({"conference_id": conference_id}, {"html": 0, "pdf": 0, OUTBOX: 0})
        return await cursor.sort("_id", 1).to_list(None)

    async def document(self, document_id: str) -> dict[str, Any] | None:
        return await self._documents.find_one({"_id": document_id}, {OUTBOX: 0})

    async def notices_of(self, conference_id: str) -> list[dict[str, Any]]:
        return await self._documents.find(
            {"conference_id": conference_id, "kind": "conclusion_notice"}, {"opinion_ids": 1, "agency": 1, "_id": 1}
        ).to_list(None)

    async def document_list(self, conference_id: str) -> list[dict[str, Any]]:
        """A conference's documents without their content (HTML, PDF, DOCX)."""
        cursor = self._documents.find({"conference_id": conference_id}, {"html": 0, "pdf": 0, "docx": 0, OUTBOX: 0})
        return await cursor.sort("created_at", 1).to_list(None)

    async def has_document(self, document_id: str) -> bool:
        return await self._documents.count_documents({"_id": document_id}, limit=1) > 0

    # ---- the document register (sổ đăng ký văn bản đi): numbers per series and year -----------------

    async def reserve_number(
        self, series: str, year: int, key: str, *, at: datetime, label: str, pattern: str
    ) -> tuple[int, datetime]:
        """The number of the document `key` in `series` for `year`, and the moment it was taken: taken once
        (a retry, a redelivery or a concurrent attempt for the same document gets the same number), with no
        gaps and no duplicates. One document per series and year holds the counter and the list of what was
        numbered, changed in one atomic findAndModify: the number is the entry's place in that list."""
        found = await self._number_of(series, key)
        if found:
            return found
        for _ in range(5):
            try:
                doc = await self._registers.find_one_and_update(
                    {"_id": f"{series}:{year}", "issued.key": {"$ne": key}},
                    {
                        "$inc": {"n": 1},
                        "$set": {"series": series, "year": year},
                        "$push": {"issued": {"key": key, "at": at, "label": label, "pattern": pattern}},
                    },
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                doc = None
            if doc is None:
                # Either this key was numbered meanwhile (the filter failed, the upsert collided: an error, or no
                # document from some servers), or two first numbers of a new series raced: look, then try again.
                found = await self._number_of(series, key)
                if found:
                    return found
                continue
            entry = doc["issued"][int(doc["n"]) - 1]
            if entry["key"] == key:
                return int(doc["n"]), entry["at"]
            found = await self._number_of(series, key)  # never expected: the list and the counter move together
            if found:
                return found
        raise RuntimeError(f"could not number {key} in {series}:{year}")

    async def _number_of(self, series: str, key: str) -> tuple[int, datetime] | None:
        doc = await self._registers.find_one({"series": series, "issued.key": key}, {"issued": 1})
        if doc is None:
            return None
        for index, entry in enumerate(doc["issued"]):
            if entry["key"] == key:
                return index + 1, entry["at"]
        return None

    async def register(self, year: int) -> list[dict[str, Any]]:
        """Every number taken in `year`, by series then number."""
        rows = []
        for doc in await self._registers.find({"year": year}).sort("_id", 1).to_list(None):
            for index, entry in enumerate(doc.get("issued", [])):
                rows.append({"series": doc["series"], "year": year, "number": index + 1, **entry})
        return rows

    # ---- documents that could not be produced: visible until they are ----------------------------

    async def record_document_failure(self, document_id: str, record: dict[str, Any], now: datetime) -> None:
        await self._document_failures.update_one(
            {"_id": document_id},
            {
                "$set": {**record, "last_failed_at": now},
                "$setOnInsert": {"first_failed_at": now},
                "$inc": {"attempts": 1},
            },
            upsert=True,
        )

    async def clear_document_failure(self, document_id: str) -> None:
        await self._document_failures.delete_one({"_id": document_id})

    async def document_failures(self, conference_id: str) -> list[dict[str, Any]]:
        return await self._document_failures.find({"conference_id": conference_id}).sort("_id", 1).to_list(None)

    async def missing_documents(self) -> dict[str, int]:
        """How many documents cannot be produced now, by kind."""
        counts: dict[str, int] = {}
        for doc in await self._document_failures.find({}, {"kind": 1}).to_list(None):
            counts[doc["kind"]] = counts.get(doc["kind"], 0) + 1
        return counts

    async def mark_documents(self, conference_id: str, *, complete: bool, at: datetime) -> None:
        """Whether a concluded conference has all its documents; the retry loop takes those that have not."""
        await self._conferences.update_one(
            {"_id": conference_id}, {"$set": {"documents_complete": complete, "documents_attempted_at": at}}
        )

    async def conferences_missing_documents(self, attempted_before: datetime) -> list[dict[str, Any]]:
        """Concluded conferences whose documents were attempted and are not all there, not tried since."""
        return await self._conferences.find(
            {
                "snapshot.status": "concluded",
                "documents_complete": False,
                "documents_attempted_at": {"$lt": attempted_before},
            }
        ).to_list(None)

    # ---- the task a conclusion gives an agency, as the secretary words it -----------------------------

    async def set_conclusion_task(
        self, conference_id: str, tracking_code: str, task: str, by: str, now: datetime
    ) -> None:
        await self._conclusion_tasks.update_one(
            {"_id": f"{conference_id}:{tracking_code}"},
            {"$set": {"conference_id": conference_id, "tracking_code": tracking_code, "task": task, "by": by,
                      "at": now}},
            upsert=True,
        )  # fmt: skip

    async def conclusion_tasks(self, conference_id: str) -> dict[str, str]:
        cursor = self._conclusion_tasks.find({"conference_id": conference_id})
        return {doc["tracking_code"]: doc["task"] for doc in await cursor.to_list(None)}

    # ---- children's summaries ----------------------------------------------------------------------

    async def store_child_summary(self, child: str, period: str, summary: dict[str, Any], sequence: int) -> bool:
        """Keep the newest summary per child and period by the child's report sequence (reports may arrive
        twice or out of order); False if the one kept is as new or newer."""
        older = {"$or": [{"sequence": {"$lt": sequence}}, {"sequence": {"$exists": False}}]}
        try:
            await self._child_summaries.update_one(
                {"_id": f"{child}:{period}", **older},
                {"$set": {"child": child, "period": period, "summary": summary, "sequence": sequence}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a newer one is stored already
        return True

    async def next_report_sequence(self, period: str) -> int:
        """This instance's next report number for `period` (1, 2, …), kept across restarts."""
        doc = await self._report_sequences.find_one_and_update(
            {"_id": period}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return int(doc["n"])

    async def child_summaries_for(self, period: str) -> list[dict[str, Any]]:
        return await self._child_summaries.find({"period": period}).sort("child", 1).to_list(None)
