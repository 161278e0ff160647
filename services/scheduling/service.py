"""Scheduling's use cases: start the answer clock, stop it, and fire timers when they fall due.

Timers live in the database, so a restart loses none. A due timer is published first and marked
fired after the broker confirmed it; a crash in between publishes it again with the same event
id (derived from the timer id), which consumers recognise and drop: never lost, never twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from services.scheduling.domain import TimerKind, plan_timers
from services.scheduling.repository import PENDING, TimerRepository
from shared.events import (
    AgencyRef,
    Envelope,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueSoonV1,
    OpinionEscalatedV1,
    OpinionOverdueV1,
)
from shared.observability import metrics
from shared.runtime import Runtime

log = logging.getLogger(__name__)


class SchedulingService:
    def __init__(
        self, runtime: Runtime, repository: TimerRepository, *, reminder_days: list[int], poll_interval_s: float
    ) -> None:
        self.runtime = runtime
        self.repository = repository
        self.reminder_days = reminder_days
        self.poll_interval_s = poll_interval_s

    async def start_clock(self, event: Envelope[OpinionAssignedV1]) -> None:
        p = event.payload
        if await self.repository.is_closed(p.opinion_id):
            log.info("opinion %s already answered; no timers", p.tracking_code)
            return
        now = self.runtime.clock.now()
        docs = [
            {
                "_id": plan.id,
                "event_id": str(plan.event_id),
                "opinion_id": p.opinion_id,
                "tracking_code": p.tracking_code,
                "kind": plan.kind.value,
                "fire_at": plan.fire_at,
                "days_left": plan.days_left,
                "due_at": p.due_at,
                "agency": p.agency.model_dump(),
                "correlation_id": event.correlation_id,
                "causation_id": str(event.event_id),
                "status": PENDING,
                "created_at": now,
            }
            for plan in plan_timers(p.opinion_id, p.due_at, now, self.reminder_days)
        ]
        added = await self.repository.add(docs)
        log.info("opinion %s: %d timer(s) set, due %s", p.tracking_code, added, p.due_at.isoformat())

    async def stop_clock(self, event: Envelope[OpinionAnsweredV1] | Envelope[OpinionEscalatedV1]) -> None:
        """Answered here, or sent to the level above (whose own clock runs there)."""
        cancelled = await self.repository.close(event.payload.opinion_id, self.runtime.clock.now())
        log.info("opinion %s: %s; %d timer(s) cancelled", event.payload.tracking_code, event.event_type, cancelled)

    def _event(self, timer: dict[str, Any]) -> Envelope[Any]:
        common = {
            "opinion_id": timer["opinion_id"],
            "tracking_code": timer["tracking_code"],
            "agency": AgencyRef(**timer["agency"]),
            "due_at": timer["due_at"],
        }
        payload: OpinionDueSoonV1 | OpinionOverdueV1
        if timer["kind"] == TimerKind.DUE_SOON:
            payload = OpinionDueSoonV1(**common, days_left=timer["days_left"])
        else:
            payload = OpinionOverdueV1(**common)
        envelope = self.runtime.envelope(
            payload, correlation_id=timer["correlation_id"], event_id=uuid.UUID(timer["event_id"])
        )
        return envelope.model_copy(update={"causation_id": timer["causation_id"]})

    async def fire_due(self) -> int:
        """Publish every timer whose moment has come; returns how many fired."""
        fired = 0
        now = self.runtime.clock.now()
        for timer in await self.repository.due(now):
            await self.runtime.publisher.publish(self._event(timer))
            await self.repository.mark_fired(timer["_id"], now)
            metrics.TIMERS_FIRED.labels(**metrics.base(), kind=timer["kind"]).inc()
            log.info("timer %s fired", timer["_id"])
            fired += 1
        return fired

    async def run(self) -> None:
        while True:
            try:
                await self.fire_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("firing timers failed; will try again")
            await asyncio.sleep(self.poll_interval_s)
