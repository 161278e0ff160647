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
from shared.messaging.consumer import consumes, subscriber

SERVICE = "notification"


def build_router(service: Meanings, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()

    @subscriber(router, SERVICE, OpinionReceivedV1, prefetch=prefetch)
    @consumes()
    async def on_received(event: Envelope[OpinionReceivedV1]) -> None:
        await service.on_received(event)

    @subscriber(router, SERVICE, OpinionAssignedV1, prefetch=prefetch)
    @consumes()
    async def on_assigned(event: Envelope[OpinionAssignedV1]) -> None:
        await service.on_assigned(event)

    @subscriber(router, SERVICE, OpinionAnsweredV1, prefetch=prefetch)
    @consumes()
    async def on_answered(event: Envelope[OpinionAnsweredV1]) -> None:
        await service.on_answered(event)
        await service.on_answered_for_head(event)

    @subscriber(router, SERVICE, OpinionMergedV1, prefetch=prefetch)
    @consumes()
    async def on_merged(event: Envelope[OpinionMergedV1]) -> None:
        await service.on_merged(event)

    @subscriber(router, SERVICE, OpinionAnswerCorrectedV1, prefetch=prefetch)
    @consumes()
    async def on_answer_corrected(event: Envelope[OpinionAnswerCorrectedV1]) -> None:
        await service.on_answer_corrected(event)

    @subscriber(router, SERVICE, ConferenceResultsV1, prefetch=prefetch)
    @consumes()
    async def on_results(event: Envelope[ConferenceResultsV1]) -> None:
        await service.on_results(event)

    @subscriber(router, SERVICE, OpinionEscalationUpdatedV1, prefetch=prefetch)
    @consumes()
    async def on_escalation_updated(event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        await service.on_escalation_updated(event)

    @subscriber(router, SERVICE, OpinionDueSoonV1, prefetch=prefetch)
    @consumes()
    async def on_due_soon(event: Envelope[OpinionDueSoonV1]) -> None:
        await service.on_deadline(event)

    @subscriber(router, SERVICE, OpinionOverdueV1, prefetch=prefetch)
    @consumes()
    async def on_overdue(event: Envelope[OpinionOverdueV1]) -> None:
        await service.on_deadline(event)

    @subscriber(router, SERVICE, OpinionRedirectedV1, prefetch=prefetch)
    @consumes()
    async def on_redirected(event: Envelope[OpinionRedirectedV1]) -> None:
        await service.on_redirected(event)

    @subscriber(router, SERVICE, ConferenceUpdatedV1, prefetch=prefetch)
    @consumes()
    async def on_conference_updated(event: Envelope[ConferenceUpdatedV1]) -> None:
        await service.on_conference_updated(event)

    @subscriber(router, SERVICE, ConferenceDossierV1, prefetch=prefetch)
    @consumes()
    async def on_dossier(event: Envelope[ConferenceDossierV1]) -> None:
        await service.on_dossier(event)

    @subscriber(router, SERVICE, ConclusionIssuedV1, prefetch=prefetch)
    @consumes()
    async def on_conclusion(event: Envelope[ConclusionIssuedV1]) -> None:
        await service.on_conclusion(event)

    return router
