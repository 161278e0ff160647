"""Scheduling's use cases: the answer clock of each opinion, and firing every timer when it falls due.

Timers live in the database, so a restart loses none. A due timer is acted on first (an event
published, a conference announced) and marked fired afterwards; a crash in between acts again,
which is harmless: events carry an id derived from the timer, which consumers recognise, and a
conference already announced is not announced twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from services.scheduling.conferences import ConferenceService
from services.scheduling.domain import TimerKind, plan_timers
from services.scheduling.repository import PENDING, TimerRepository
from shared.events import (
    AgencyRef,
    ConferenceDossierDueV1,
    Envelope,
    Head,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueChangedV1,
    OpinionDueSoonV1,
    OpinionEscalatedV1,
    OpinionOverdueV1,
    OpinionRedirectedV1,
)
from shared.observability import metrics
from shared.runtime import Runtime

log = logging.getLogger(__name__)


class SchedulingService:
    def __init__(
        self,
        runtime: Runtime,
        repository: TimerRepository,
        conferences: ConferenceService,
        *,
        reminder_days: list[int],
        poll_interval_s: float,
    ) -> None:
        self.runtime = runtime
        self.repository = repository
        self.conferences = conferences
        self.reminder_days = reminder_days
        self.poll_interval_s = poll_interval_s

    async def start_clock(self, event: Envelope[OpinionAssignedV1] | Envelope[OpinionDueChangedV1]) -> None:
        """Reminders and the overdue moment of an opinion's deadline (a moved deadline replaces them)."""
        p = event.payload
        if await self.repository.is_closed(p.opinion_id):
            log.info("opinion %s already answered; no timers", p.tracking_code)
            return
        now = self.runtime.clock.now()
        plans = plan_timers(p.opinion_id, p.due_at, now, self.reminder_days)
        if isinstance(p, OpinionDueChangedV1):
            ids = [plan.id for plan in plans]
            await self.repository.cancel_pending({"opinion_id": p.opinion_id, "_id": {"$nin": ids}}, now)
        head = p.head.value if isinstance(p, OpinionAssignedV1) else await self._head_of(p.opinion_id)
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
                "head": head,
                "correlation_id": event.correlation_id,
                "causation_id": str(event.event_id),
                "status": PENDING,
                "created_at": now,
            }
            for plan in plans
        ]
        added = await self.repository.add(docs)
        if added == 0 and isinstance(p, OpinionAssignedV1):  # reassigned (or redelivered): remind the agency now named
            await self.repository.timers.update_many(
                {"opinion_id": p.opinion_id, "status": PENDING}, {"$set": {"agency": p.agency.model_dump()}}
            )
        log.info("opinion %s: %d timer(s) set, due %s", p.tracking_code, added, p.due_at.isoformat())

    async def _head_of(self, opinion_id: str) -> str | None:
        doc = await self.repository.timers.find_one({"opinion_id": opinion_id, "head": {"$ne": None}}, {"head": 1})
        return doc["head"] if doc else None

    async def stop_clock(
        self,
        event: Envelope[OpinionAnsweredV1] | Envelope[OpinionEscalatedV1] | Envelope[OpinionRedirectedV1],
    ) -> None:
        """Answered here, sent to the level above (whose own clock runs there), or redirected."""
        cancelled = await self.repository.close(event.payload.opinion_id, self.runtime.clock.now())
        log.info("opinion %s: %s; %d timer(s) cancelled", event.payload.tracking_code, event.event_type, cancelled)

    def _opinion_event(self, timer: dict[str, Any]) -> Envelope[Any]:
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
            payload = OpinionOverdueV1(**common, head=Head(timer["head"]) if timer.get("head") else None)
        return self._timer_envelope(timer, payload)

    def _timer_envelope(self, timer: dict[str, Any], payload: Any) -> Envelope[Any]:
        envelope = self.runtime.envelope(
            payload, correlation_id=timer["correlation_id"], event_id=uuid.UUID(timer["event_id"])
        )
        return envelope.model_copy(update={"causation_id": timer.get("causation_id")})

    async def _act(self, timer: dict[str, Any]) -> None:
        kind = timer["kind"]
        if kind == TimerKind.CONFERENCE_ANNOUNCE:
            await self.conferences.announce_on_time(timer["conference_id"])
        elif kind == TimerKind.CONFERENCE_DOSSIER:
            payload = ConferenceDossierDueV1(conference_id=timer["conference_id"], starts_at=timer["starts_at"])
            await self.runtime.publisher.publish(self._timer_envelope(timer, payload))
        else:
            await self.runtime.publisher.publish(self._opinion_event(timer))

    async def fire_due(self) -> int:
        """Act on every timer whose moment has come; returns how many fired."""
        fired = 0
        now = self.runtime.clock.now()
        for timer in await self.repository.due(now):
            await self._act(timer)
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
