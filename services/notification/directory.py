"""The agency directory (danh bạ cơ quan): contacts and channels, owned here, announced to routing.

Every change is one compare-and-set write that bumps the agency's version and carries an
`agency.updated.v1` event in the outbox, so assignment's copy follows without ever seeing
contacts or webhook secrets.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.agencies import AgencyRecord
from shared.domain import AuditNote, Recorded, Story
from shared.events import AgencyUpdatedV1
from shared.storage.outbox import OUTBOX, EventSource, Outbox


class ConcurrentChange(Exception):
    pass


def _record(doc: dict[str, Any]) -> AgencyRecord:
    return AgencyRecord(**{k: v for k, v in doc.items() if k not in ("_id", "version", OUTBOX)}, id=doc["_id"])


class AgencyDirectory:
    def __init__(self, collection: AsyncCollection, outbox: Outbox, events: EventSource) -> None:
        self.collection = collection
        self._outbox = outbox
        self._events = events

    async def create_indexes(self) -> None:
        await self._outbox.track(self.collection)

    async def seed(self, records: list[AgencyRecord]) -> None:
        """Insert agencies the database does not have yet; never overwrite changes made since."""
        for record in records:
            try:
                await self.collection.insert_one(
                    {"_id": record.id, **record.model_dump(mode="json", exclude={"id"}), "version": 0}
                )
            except DuplicateKeyError:
                pass

    async def get(self, agency_id: str) -> AgencyRecord | None:
        doc = await self.collection.find_one({"_id": agency_id}, {OUTBOX: 0})
        return _record(doc) if doc else None

    async def webhook_secret(self, agency_id: str) -> str | None:
        record = await self.get(agency_id)
        return record.webhook_secret if record else None

    async def version(self, agency_id: str) -> int | None:
        doc = await self.collection.find_one({"_id": agency_id}, {"version": 1})
        return doc["version"] if doc else None

    async def all(self) -> list[AgencyRecord]:
        return [_record(d) for d in await self.collection.find({}, {OUTBOX: 0}).sort("_id").to_list(None)]

    async def put(self, record: AgencyRecord, change: AuditNote | None = None) -> tuple[AgencyRecord, bool]:
        """Create or replace an agency (with the audit entry of the person who did); returns it and whether
        it is new."""
        current = await self.version(record.id)
        version = (current or 0) + 1
        event = Recorded(
            AgencyUpdatedV1(
                agency_id=record.id,
                name=record.name,
                level=record.level,
                fields=record.fields,
                default=record.default,
                active=record.active,
                version=version,
            ),
            Story(f"agency:{record.id}"),
        )
        entries = self._events.entries([event], [change] if change else [])
        fields = {**record.model_dump(mode="json", exclude={"id"}), "version": version}
        if current is None:
            try:
                await self.collection.insert_one({"_id": record.id, **fields, OUTBOX: entries})
            except DuplicateKeyError as exc:
                raise ConcurrentChange(record.id) from exc
        else:
            result = await self.collection.update_one(
                {"_id": record.id, "version": current}, {"$set": fields, "$push": {OUTBOX: {"$each": entries}}}
            )
            if result.modified_count != 1:
                raise ConcurrentChange(record.id)
        await self._outbox.flush(self.collection, record.id, entries)
        return record, current is None
