"""Server-side sessions: a random token in an HttpOnly cookie, its hash in the database.

A session ends when its holder signs out, after `idle` without use, after `absolute` in any case, or
when an operator disables the account or resets its password (every session of the account is
revoked). Each session has its own CSRF token, which every form posts back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

TOUCH_EVERY = timedelta(minutes=5)  # last use is written at most this often (one read per page, not two writes)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id_hash: str
    username: str
    csrf: str
    created_at: datetime
    last_seen: datetime


class Sessions:
    def __init__(self, db: AsyncDatabase, *, idle: timedelta, absolute: timedelta) -> None:
        self.collection = db["sessions"]
        self.idle = idle
        self.absolute = absolute

    async def create_indexes(self) -> None:
        await self.collection.create_index([("username", ASCENDING)])
        await self.collection.create_index([("expires_at", ASCENDING)])

    async def open(self, username: str, now: datetime, *, via: str, address: str | None) -> tuple[str, Session]:
        """A new session; returns the token for the cookie (only its hash is stored) and the session."""
        token = secrets.token_urlsafe(32)
        doc = {
            "_id": _hash(token),
            "username": username,
            "csrf": secrets.token_urlsafe(32),
            "created_at": now,
            "last_seen": now,
            "expires_at": now + self.absolute,
            "via": via,
            "address": address,
        }
        await self.collection.insert_one(doc)
        return token, self._session(doc)

    @staticmethod
    def _session(doc: dict[str, Any]) -> Session:
        return Session(doc["_id"], doc["username"], doc["csrf"], doc["created_at"], doc["last_seen"])

    async def find(self, token: str | None, now: datetime) -> Session | None:
        if not token or len(token) > 100:
            return None
        doc = await self.collection.find_one({"_id": _hash(token)})
        if doc is None:
            return None
        if doc["expires_at"] <= now or doc["last_seen"] + self.idle <= now:
            await self.collection.delete_one({"_id": doc["_id"]})
            return None
        if now - doc["last_seen"] >= TOUCH_EVERY:
            await self.collection.update_one({"_id": doc["_id"]}, {"$set": {"last_seen": now}})
        return self._session(doc)

    async def close(self, session: Session) -> None:
        await self.collection.delete_one({"_id": session.id_hash})

    async def close_all(self, username: str) -> int:
        result = await self.collection.delete_many({"username": username})
        return result.deleted_count
