"""The audit trail: who changed what, with which role, when (answers, reassignments, escalations,
conference moves, directory changes, retries). One entry per change made through an API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock
from shared.http.auth import Caller, require_role


class AuditLog:
    def __init__(self, db: AsyncDatabase, clock: Clock) -> None:
        self.entries = db["audit"]
        self.clock = clock

    async def create_indexes(self) -> None:
        await self.entries.create_index([("target", 1), ("at", DESCENDING)])
        await self.entries.create_index([("at", DESCENDING)])

    async def record(self, caller: Caller, action: str, target: str, details: dict[str, Any] | None = None) -> None:
        await self.entries.insert_one(
            {
                "at": self.clock.now(),
                **caller.as_record(),
                "action": action,
                "target": target,
                "details": details or {},
            }
        )

    async def search(
        self, *, target: str | None, action: str | None, since: datetime | None, limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if target:
            query["target"] = target
        if action:
            query["action"] = action
        if since:
            query["at"] = {"$gte": since}
        return await self.entries.find(query, {"_id": 0}).sort("at", DESCENDING).limit(limit).to_list(None)


class AuditEntry(BaseModel):
    at: AwareDatetime
    actor: str
    role: str
    action: str
    target: str
    details: dict[str, Any]


def audit_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["vận hành"])

    @router.get("/audit", response_model=list[AuditEntry], summary="Nhật ký thay đổi: ai, vai trò gì, làm gì, lúc nào")
    async def audit(
        request: Request,
        _: Annotated[Caller, Depends(require_role("operator"))],
        target: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        log: AuditLog = request.app.state.runtime.audit
        return [
            AuditEntry(**e) for e in await log.search(target=target, action=action, since=since, limit=min(limit, 1000))
        ]

    return router
