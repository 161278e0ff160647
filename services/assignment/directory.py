"""The agency directory (danh bạ cơ quan): which agency acts on which field."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from pymongo.asynchronous.collection import AsyncCollection

from shared.events import FIELDS, AgencyRef


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    fields: list[str] = Field(default_factory=list)
    default: bool = False

    @field_validator("fields")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field code(s) {unknown}; known codes: {', '.join(FIELDS)}")
        return value

    def ref(self) -> AgencyRef:
        return AgencyRef(id=self.id, name=self.name, email=self.email)


def load_seed(path: Path) -> list[Agency]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Agency(**a) for a in data.get("agencies") or []]


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

    async def seed(self, agencies: list[Agency]) -> None:
        """Insert agencies the database does not have yet; never overwrite edits made since."""
        for agency in agencies:
            await self.collection.update_one(
                {"_id": agency.id}, {"$setOnInsert": agency.model_dump(exclude={"id"})}, upsert=True
            )
        self._loaded_at = float("-inf")

    async def all(self) -> list[Agency]:
        if time.monotonic() - self._loaded_at > self._ttl:
            docs: list[dict[str, Any]] = await self.collection.find().sort("_id").to_list(None)
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
