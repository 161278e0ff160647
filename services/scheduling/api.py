"""Scheduling's HTTP API: the deadline timers of an opinion, for staff and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel

from shared.http.auth import Caller, require_role

router = APIRouter(prefix="/api/v1", tags=["hạn trả lời"])


class TimerView(BaseModel):
    kind: str
    fire_at: AwareDatetime
    due_at: AwareDatetime
    days_left: int
    status: str


@router.get(
    "/opinions/{tracking_code}/timers",
    response_model=list[TimerView],
    summary="Các mốc nhắc hạn và quá hạn của một ý kiến",
    responses={401: {}, 403: {}},
)
async def timers(
    tracking_code: str,
    request: Request,
    _: Annotated[Caller, Depends(require_role("front", "agency", "operator"))],
) -> list[TimerView]:
    docs = await request.app.state.scheduling.repository.for_tracking_code(tracking_code.strip().upper())
    return [TimerView(**{k: d[k] for k in TimerView.model_fields}) for d in docs]
