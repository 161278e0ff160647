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
from shared.messaging.consumer import consumes, subscriber

SERVICE = "scheduling"


def build_router(service: SchedulingService, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()

    @subscriber(router, SERVICE, OpinionAssignedV1, prefetch=prefetch)
    @consumes()
    async def on_assigned(event: Envelope[OpinionAssignedV1]) -> None:
        await service.start_clock(event)

    @subscriber(router, SERVICE, OpinionAnsweredV1, prefetch=prefetch)
    @consumes()
    async def on_answered(event: Envelope[OpinionAnsweredV1]) -> None:
        await service.stop_clock(event)

    @subscriber(router, SERVICE, OpinionEscalatedV1, prefetch=prefetch)
    @consumes()
    async def on_escalated(event: Envelope[OpinionEscalatedV1]) -> None:
        await service.stop_clock(event)

    @subscriber(router, SERVICE, OpinionMergedV1, prefetch=prefetch)
    @consumes()
    async def on_merged(event: Envelope[OpinionMergedV1]) -> None:
        await service.stop_clock(event)  # it waits for the answer of the opinion it joined, whose clock runs

    @subscriber(router, SERVICE, OpinionRedirectedV1, prefetch=prefetch)
    @consumes()
    async def on_redirected(event: Envelope[OpinionRedirectedV1]) -> None:
        await service.stop_clock(event)

    @subscriber(router, SERVICE, OpinionDueChangedV1, prefetch=prefetch)
    @consumes()
    async def on_due_changed(event: Envelope[OpinionDueChangedV1]) -> None:
        await service.start_clock(event)

    return router
