"""Which agency acts on which field: assignment's copy of the directory, kept by `agency.updated.v1`.

The notification service owns the directory (contacts, channels, secrets); assignment keeps only
what routing needs. Both seed from the same YAML file at start, so routing works before any event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.agencies import AgencyRecord
from shared.events import AgencyRef, AgencyUpdatedV1


class Agency(BaseModel):
    id: str
    name: str
    level: str
    fields: list[str]
    default: bool = False
    active: bool = True
    version: int = 0

    def ref(self) -> AgencyRef:
        return AgencyRef(id=self.id, name=self.name)


@dataclass
class NoAgency(Exception):
    field: str


class Directory:
    """Reads from the `agencies` collection, cached for a short while."""

    def __init__(self, collection: AsyncCollection, *, ttl_s: float = 30.0) -> None:
        self.collection = collection
        self._ttl = ttl_s
        self._cache: list[Agency] = []
        self._loaded_at = float("-inf")

    async def seed(self, records: list[AgencyRecord]) -> None:
        """Insert agencies the database does not have yet; never overwrite changes made since."""
        for r in records:
            fields = {"name": r.name, "level": r.level, "fields": r.fields, "default": r.default, "active": r.active}
            await self.collection.update_one({"_id": r.id}, {"$setOnInsert": {**fields, "version": 0}}, upsert=True)
        self._loaded_at = float("-inf")

    async def apply(self, update: AgencyUpdatedV1) -> None:
        """Take a change from the directory's owner, unless a newer one is already here."""
        changes: dict[str, Any] = {
            "name": update.name,
            "level": update.level,
            "fields": update.fields,
            "default": update.default,
            "active": update.active,
            "version": update.version,
        }
        try:
            await self.collection.update_one(
                {"_id": update.agency_id, "version": {"$lt": update.version}}, {"$set": changes}, upsert=True
            )
        except DuplicateKeyError:
            pass  # the stored version is newer
        self._loaded_at = float("-inf")

    async def all(self) -> list[Agency]:
        if time.monotonic() - self._loaded_at > self._ttl:
            docs: list[dict[str, Any]] = await self.collection.find({"active": True}).sort("_id").to_list(None)
            self._cache = [Agency(id=d.pop("_id"), **d) for d in docs]
            self._loaded_at = time.monotonic()
        return self._cache

    async def for_field(self, field: str) -> Agency:
        agencies = await self.all()
        for agency in agencies:
            if field in agency.fields:
                return agency
        for agency in agencies:
            if agency.default:
                return agency
        raise NoAgency(field)
