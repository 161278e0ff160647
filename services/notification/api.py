"""Notification's HTTP API: what was sent about an opinion, for staff and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel

from shared.http.auth import Caller, require_role

router = APIRouter(prefix="/api/v1", tags=["thông báo"])


class NotificationView(BaseModel):
    id: str
    type: str
    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    created_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    last_error: str | None = None


@router.get(
    "/opinions/{opinion_id}/notifications",
    response_model=list[NotificationView],
    summary="Các thông báo đã gửi về một ý kiến",
    responses={401: {}, 403: {}},
)
async def notifications(
    opinion_id: str,
    request: Request,
    _: Annotated[Caller, Depends(require_role("front", "operator"))],
) -> list[NotificationView]:
    docs = await request.app.state.notification.repository.for_opinion(opinion_id)
    return [NotificationView(id=d.pop("_id"), **d) for d in docs]
