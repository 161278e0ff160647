"""Scheduling's use cases: the year's conferences and their moves, the answer clock of each opinion, and
firing every timer when it falls due. They take narrow ports: the repositories, a clock, a publisher.

Timers live in the database, so a restart loses none. A due timer is acted on first (an event
published, a conference announced) and marked fired afterwards; a crash in between acts again,
which is harmless: events carry an id derived from the timer, which consumers recognise, and a
conference already announced is not announced twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.scheduling.domain import Closing, Conference, ConferencePlan, MoveRefused, TimerKind, plan_timers
from services.scheduling.repository import PENDING, ConferenceRepository, TimerRepository
from shared.audit import Actor
from shared.clock import Clock
from shared.deadlines import DeadlinePolicy
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
    OpinionMergedV1,
    OpinionOverdueV1,
    OpinionRedirectedV1,
)
from shared.messaging.publisher import EventPublisher
from shared.observability import metrics
from shared.storage.outbox import EventSource
from shared.units import Unit

log = logging.getLogger(__name__)


class ConcurrentChange(Exception):
    pass


def _name(by: Actor | str) -> str:
    if isinstance(by, str):
        return by
    record = by.as_record()
    return str(record.get("actor") or record.get("actor_id"))


class ConferenceService:
    """Plan, announce on time, open, close, conclude, cancel, postpone, reschedule."""

    def __init__(
        self,
        conferences: ConferenceRepository,
        timers: TimerRepository,
        *,
        clock: Clock,
        notice: DeadlinePolicy,
        dossier_before: timedelta,
        dossier_update_before: timedelta = timedelta(hours=2),
        unit: Unit | None = None,
    ) -> None:
        self.repository = conferences
        self.timers = timers
        self.clock = clock
        self.notice = notice
        self.dossier_before = dossier_before
        self.dossier_update_before = dossier_update_before
        self.unit = unit or Unit("ward", "Phường")

    async def plan(self, plan: ConferencePlan, *, by: Actor) -> Conference:
        now = self.clock.now()
        conference = Conference.plan(plan, by=_name(by), now=now, notice=self.notice)
        conference.note(by, "conference.planned", conference.id, {"starts_at": plan.starts_at.isoformat()})
        if not await self.repository.add(conference):
            raise ConcurrentChange(conference.id)
        await self.timers.add(conference.timers(self.dossier_before, now, self.dossier_update_before))
        announce_at = conference.doc["announce_at"]
        log.info("conference %s planned for %s, announced at %s", conference.id, plan.starts_at, announce_at)
        if announce_at <= now:  # urgent: the announcement goes out at once
            try:
                return await self.act(conference.id, "announce", by="urgent")
            except (MoveRefused, ConcurrentChange):  # its announcement timer, due now too, was quicker
                return await self.repository.get(conference.id) or conference
        return conference

    async def get(self, conference_id: str) -> Conference | None:
        return await self.repository.get(conference_id)

    async def of_year(self, year: int) -> list[dict[str, Any]]:
        return await self.repository.of_year(year)

    async def act(
        self,
        conference_id: str,
        action: str,
        *,
        by: Actor | str,
        reason: str | None = None,
        starts_at: datetime | None = None,
        closing: Closing | None = None,
    ) -> Conference:
        """Move a conference: KeyError if unknown, MoveRefused with the current status if not allowed,
        RuleBroken for a new date that breaks the rules, ConcurrentChange if someone else moved it meanwhile."""
        conference = await self.repository.get(conference_id)
        if conference is None:
            raise KeyError(conference_id)
        before, now = conference.status, self.clock.now()
        conference.move(
            action, by=_name(by), reason=reason, starts_at=starts_at, now=now, notice=self.notice, closing=closing
        )
        if not isinstance(by, str):  # a person's move (timers and urgency are the system's)
            details = {"reason": reason, "status": conference.status.value}
            conference.note(by, f"conference.{action}", conference_id, details)
        if not await self.repository.save(conference):
            raise ConcurrentChange(conference_id)
        if action in ("cancel", "postpone", "reschedule"):
            await self.timers.cancel_pending({"conference_id": conference_id}, now)
        if action == "reschedule":
            await self.timers.add(conference.timers(self.dossier_before, now, self.dossier_update_before))
        log.info("conference %s: %s → %s (%s)", conference_id, before.value, conference.status.value, _name(by))
        if action == "reschedule" and conference.doc["announce_at"] <= now:
            return await self.act(conference_id, "announce", by="urgent")
        return conference

    async def announce_on_time(self, conference_id: str) -> None:
        """The announcement timer fired: announce, unless it already was (by hand) or was called off."""
        try:
            await self.act(conference_id, "announce", by="timer")
        except MoveRefused as exc:
            log.info("announcement timer of %s: nothing to do, it is %s", conference_id, exc.current)
        except KeyError:
            log.warning("announcement timer of unknown conference %s", conference_id)


class SchedulingService:
    """The answer clock of each opinion, and the firing of every due timer."""

    def __init__(
        self,
        repository: TimerRepository,
        conferences: ConferenceService,
        publisher: EventPublisher,
        events: EventSource,
        *,
        clock: Clock,
        reminder_days: list[int],
        poll_interval_s: float,
        pause_after_fire_s: float = 0.0,
    ) -> None:
        self.repository = repository
        self.conferences = conferences
        self.publisher = publisher
        self.events = events
        self.clock = clock
        self.reminder_days = reminder_days
        self.poll_interval_s = poll_interval_s
        self.pause_after_fire_s = pause_after_fire_s

    async def start_clock(self, event: Envelope[OpinionAssignedV1] | Envelope[OpinionDueChangedV1]) -> None:
        """Reminders and the overdue moment of an opinion's deadline (a moved deadline replaces them)."""
        p = event.payload
        if await self.repository.is_closed(p.opinion_id):
            log.info("opinion %s already answered; no timers", p.tracking_code)
            return
        now = self.clock.now()
        plans = plan_timers(p.opinion_id, p.due_at, now, self.reminder_days)
        if isinstance(p, OpinionDueChangedV1):
            ids = [plan.id for plan in plans]
            await self.repository.cancel_pending({"opinion_id": p.opinion_id, "_id": {"$nin": ids}}, now)
        head = p.head.value if isinstance(p, OpinionAssignedV1) else await self.repository.head_of(p.opinion_id)
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
            await self.repository.retarget(p.opinion_id, p.agency.model_dump())
        log.info("opinion %s: %d timer(s) set, due %s", p.tracking_code, added, p.due_at.isoformat())

    async def timers_of(self, tracking_code: str) -> list[dict[str, Any]]:
        return await self.repository.for_tracking_code(tracking_code)

    async def stop_clock(
        self,
        event: Envelope[OpinionAnsweredV1]
        | Envelope[OpinionEscalatedV1]
        | Envelope[OpinionRedirectedV1]
        | Envelope[OpinionMergedV1],
    ) -> None:
        """Answered here, sent to the level above (whose own clock runs there), redirected, or merged into another
        opinion (whose clock runs)."""
        cancelled = await self.repository.close(event.payload.opinion_id, self.clock.now())
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
        envelope = self.events.envelope(
            payload, correlation_id=timer["correlation_id"], event_id=uuid.UUID(timer["event_id"])
        )
        return envelope.model_copy(update={"causation_id": timer.get("causation_id")})

    async def _act(self, timer: dict[str, Any]) -> None:
        kind = timer["kind"]
        if kind == TimerKind.CONFERENCE_ANNOUNCE:
            await self.conferences.announce_on_time(timer["conference_id"])
        elif kind in (TimerKind.CONFERENCE_DOSSIER, TimerKind.CONFERENCE_DOSSIER_UPDATE):
            payload = ConferenceDossierDueV1(
                conference_id=timer["conference_id"],
                starts_at=timer["starts_at"],
                round=2 if kind == TimerKind.CONFERENCE_DOSSIER_UPDATE else 1,
            )
            await self.publisher.publish(self._timer_envelope(timer, payload))
        else:
            await self.publisher.publish(self._opinion_event(timer))

    async def fire_due(self) -> int:
        """Act on every timer whose moment has come; returns how many fired."""
        fired = 0
        now = self.clock.now()
        for timer in await self.repository.due(now):
            await self._act(timer)
            if self.pause_after_fire_s:  # tests only: widen the window between acting and recording it
                await asyncio.sleep(self.pause_after_fire_s)
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
