"""Notification's consumers: which events lead to which messages."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter

from services.notification.messages import Meanings
from shared.events import (
    ConclusionIssuedV1,
    ConferenceDossierV1,
    ConferenceResultsV1,
    ConferenceUpdatedV1,
    Envelope,
    OpinionAnswerCorrectedV1,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueSoonV1,
    OpinionEscalationUpdatedV1,
    OpinionMergedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
    OpinionRedirectedV1,
)
from shared.messaging.consumer import ServiceQueue, consumes

SERVICE = "notification"


def build_router(service: Meanings, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()
    events = ServiceQueue(router, SERVICE, prefetch=prefetch)

    @events.handles(OpinionReceivedV1)
    @consumes()
    async def on_received(event: Envelope[OpinionReceivedV1]) -> None:
        await service.on_received(event)

    @events.handles(OpinionAssignedV1)
    @consumes()
    async def on_assigned(event: Envelope[OpinionAssignedV1]) -> None:
        await service.on_assigned(event)

    @events.handles(OpinionAnsweredV1)
    @consumes()
    async def on_answered(event: Envelope[OpinionAnsweredV1]) -> None:
        await service.on_answered(event)
        await service.on_answered_for_head(event)

    @events.handles(OpinionMergedV1)
    @consumes()
    async def on_merged(event: Envelope[OpinionMergedV1]) -> None:
        await service.on_merged(event)

    @events.handles(OpinionAnswerCorrectedV1)
    @consumes()
    async def on_answer_corrected(event: Envelope[OpinionAnswerCorrectedV1]) -> None:
        await service.on_answer_corrected(event)

    @events.handles(ConferenceResultsV1)
    @consumes()
    async def on_results(event: Envelope[ConferenceResultsV1]) -> None:
        await service.on_results(event)

    @events.handles(OpinionEscalationUpdatedV1)
    @consumes()
    async def on_escalation_updated(event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        await service.on_escalation_updated(event)

    @events.handles(OpinionDueSoonV1)
    @consumes()
    async def on_due_soon(event: Envelope[OpinionDueSoonV1]) -> None:
        await service.on_deadline(event)

    @events.handles(OpinionOverdueV1)
    @consumes()
    async def on_overdue(event: Envelope[OpinionOverdueV1]) -> None:
        await service.on_deadline(event)

    @events.handles(OpinionRedirectedV1)
    @consumes()
    async def on_redirected(event: Envelope[OpinionRedirectedV1]) -> None:
        await service.on_redirected(event)

    @events.handles(ConferenceUpdatedV1)
    @consumes()
    async def on_conference_updated(event: Envelope[ConferenceUpdatedV1]) -> None:
        await service.on_conference_updated(event)

    @events.handles(ConferenceDossierV1)
    @consumes()
    async def on_dossier(event: Envelope[ConferenceDossierV1]) -> None:
        await service.on_dossier(event)

    @events.handles(ConclusionIssuedV1)
    @consumes()
    async def on_conclusion(event: Envelope[ConclusionIssuedV1]) -> None:
        await service.on_conclusion(event)

    return router
