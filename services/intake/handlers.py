"""Intake's consumers: every downstream event about an opinion updates what the citizen sees."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter

from services.intake.service import IntakeService
from shared.events import (
    ConferenceUpdatedV1,
    Envelope,
    NotificationAcknowledgedV1,
    NotificationFailedV1,
    OpinionAnswerCorrectedV1,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionDueChangedV1,
    OpinionDueSoonV1,
    OpinionEscalatedV1,
    OpinionEscalationUpdatedV1,
    OpinionMergedV1,
    OpinionOverdueV1,
    OpinionRedirectedV1,
    OpinionTabledV1,
)
from shared.messaging.consumer import consumes, subscriber

SERVICE = "intake"


def build_router(service: IntakeService, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()

    @subscriber(router, SERVICE, OpinionClassifiedV1, prefetch=prefetch)
    @consumes()
    async def on_classified(event: Envelope[OpinionClassifiedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionAssignedV1, prefetch=prefetch)
    @consumes()
    async def on_assigned(event: Envelope[OpinionAssignedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionAnsweredV1, prefetch=prefetch)
    @consumes()
    async def on_answered(event: Envelope[OpinionAnsweredV1]) -> None:
        await service.record_answer(event)

    @subscriber(router, SERVICE, OpinionDueSoonV1, prefetch=prefetch)
    @consumes()
    async def on_due_soon(event: Envelope[OpinionDueSoonV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionOverdueV1, prefetch=prefetch)
    @consumes()
    async def on_overdue(event: Envelope[OpinionOverdueV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionEscalatedV1, prefetch=prefetch)
    @consumes()
    async def on_escalated(event: Envelope[OpinionEscalatedV1]) -> None:
        await service.record(event)
        await service.send_photos_up(event)

    @subscriber(router, SERVICE, OpinionEscalationUpdatedV1, prefetch=prefetch)
    @consumes()
    async def on_escalation_updated(event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, NotificationFailedV1, prefetch=prefetch)
    @consumes()
    async def on_notification_failed(event: Envelope[NotificationFailedV1]) -> None:
        if event.payload.recipient_kind == "agency":
            await service.record(event)

    @subscriber(router, SERVICE, NotificationAcknowledgedV1, prefetch=prefetch)
    @consumes()
    async def on_notification_acknowledged(event: Envelope[NotificationAcknowledgedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, ConferenceUpdatedV1, prefetch=prefetch)
    @consumes()
    async def on_conference_updated(event: Envelope[ConferenceUpdatedV1]) -> None:
        await service.keep_conference(event)

    @subscriber(router, SERVICE, OpinionDueChangedV1, prefetch=prefetch)
    @consumes()
    async def on_due_changed(event: Envelope[OpinionDueChangedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionRedirectedV1, prefetch=prefetch)
    @consumes()
    async def on_redirected(event: Envelope[OpinionRedirectedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionTabledV1, prefetch=prefetch)
    @consumes()
    async def on_tabled(event: Envelope[OpinionTabledV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionMergedV1, prefetch=prefetch)
    @consumes()
    async def on_merged(event: Envelope[OpinionMergedV1]) -> None:
        await service.record(event)

    @subscriber(router, SERVICE, OpinionAnswerCorrectedV1, prefetch=prefetch)
    @consumes()
    async def on_answer_corrected(event: Envelope[OpinionAnswerCorrectedV1]) -> None:
        await service.record(event)

    return router
