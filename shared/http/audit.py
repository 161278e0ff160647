"""GET /api/v1/audit: the audit trail, for operators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, AwareDatetime, BaseModel

from shared.audit import AuditLog
from shared.clock import sane_moment
from shared.http.auth import Caller, require_role


class AuditEntry(BaseModel):
    at: AwareDatetime
    actor: str
    actor_id: str
    roles: list[str]
    agency_id: str | None = None
    from_address: str | None = None
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
        since: Annotated[AwareDatetime, AfterValidator(sane_moment)] | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[AuditEntry]:
        log: AuditLog = request.app.state.runtime.audit
        return [AuditEntry(**e) for e in await log.search(target=target, action=action, since=since, limit=limit)]

    return router
