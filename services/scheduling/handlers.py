"""Scheduling's consumers: an assignment starts the answer clock; an answer or an escalation stops it."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter

from services.scheduling.service import SchedulingService
from shared.events import (
    Envelope,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueChangedV1,
    OpinionEscalatedV1,
    OpinionMergedV1,
    OpinionRedirectedV1,
)
from shared.messaging.consumer import ServiceQueue, consumes

SERVICE = "scheduling"


def build_router(service: SchedulingService, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()
    events = ServiceQueue(router, SERVICE, prefetch=prefetch)

    @events.handles(OpinionAssignedV1)
    @consumes()
    async def on_assigned(event: Envelope[OpinionAssignedV1]) -> None:
        await service.start_clock(event)

    @events.handles(OpinionAnsweredV1)
    @consumes()
    async def on_answered(event: Envelope[OpinionAnsweredV1]) -> None:
        await service.stop_clock(event)

    @events.handles(OpinionEscalatedV1)
    @consumes()
    async def on_escalated(event: Envelope[OpinionEscalatedV1]) -> None:
        await service.stop_clock(event)

    @events.handles(OpinionMergedV1)
    @consumes()
    async def on_merged(event: Envelope[OpinionMergedV1]) -> None:
        await service.stop_clock(event)  # it waits for the answer of the opinion it joined, whose clock runs

    @events.handles(OpinionRedirectedV1)
    @consumes()
    async def on_redirected(event: Envelope[OpinionRedirectedV1]) -> None:
        await service.stop_clock(event)

    @events.handles(OpinionDueChangedV1)
    @consumes()
    async def on_due_changed(event: Envelope[OpinionDueChangedV1]) -> None:
        await service.start_clock(event)

    return router
