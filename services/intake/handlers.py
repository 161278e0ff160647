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
from shared.messaging.consumer import ServiceQueue, consumes

SERVICE = "intake"


def build_router(service: IntakeService, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()
    events = ServiceQueue(router, SERVICE, prefetch=prefetch)

    @events.handles(OpinionClassifiedV1)
    @consumes()
    async def on_classified(event: Envelope[OpinionClassifiedV1]) -> None:
        await service.record(event)

    @events.handles(OpinionAssignedV1)
    @consumes()
    async def on_assigned(event: Envelope[OpinionAssignedV1]) -> None:
        await service.record(event)

    @events.handles(OpinionAnsweredV1)
    @consumes()
    async def on_answered(event: Envelope[OpinionAnsweredV1]) -> None:
        await service.record_answer(event)

    @events.handles(OpinionDueSoonV1)
    @consumes()
    async def on_due_soon(event: Envelope[OpinionDueSoonV1]) -> None:
        await service.record(event)

    @events.handles(OpinionOverdueV1)
    @consumes()
    async def on_overdue(event: Envelope[OpinionOverdueV1]) -> None:
        await service.record(event)

    @events.handles(OpinionEscalatedV1)
    @consumes()
    async def on_escalated(event: Envelope[OpinionEscalatedV1]) -> None:
        await service.record(event)
        await service.send_photos_up(event)

    @events.handles(OpinionEscalationUpdatedV1)
    @consumes()
    async def on_escalation_updated(event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        await service.record(event)

    @events.handles(NotificationFailedV1)
    @consumes()
    async def on_notification_failed(event: Envelope[NotificationFailedV1]) -> None:
        if event.payload.recipient_kind == "agency":
            await service.record(event)

    @events.handles(NotificationAcknowledgedV1)
    @consumes()
    async def on_notification_acknowledged(event: Envelope[NotificationAcknowledgedV1]) -> None:
        await service.record(event)

    @events.handles(ConferenceUpdatedV1)
    @consumes()
    async def on_conference_updated(event: Envelope[ConferenceUpdatedV1]) -> None:
        await service.keep_conference(event)

    @events.handles(OpinionDueChangedV1)
    @consumes()
    async def on_due_changed(event: Envelope[OpinionDueChangedV1]) -> None:
        await service.record(event)

    @events.handles(OpinionRedirectedV1)
    @consumes()
    async def on_redirected(event: Envelope[OpinionRedirectedV1]) -> None:
        await service.record(event)

    @events.handles(OpinionTabledV1)
    @consumes()
    async def on_tabled(event: Envelope[OpinionTabledV1]) -> None:
        await service.record(event)

    @events.handles(OpinionMergedV1)
    @consumes()
    async def on_merged(event: Envelope[OpinionMergedV1]) -> None:
        await service.record(event)

    @events.handles(OpinionAnswerCorrectedV1)
    @consumes()
    async def on_answer_corrected(event: Envelope[OpinionAnswerCorrectedV1]) -> None:
        await service.record(event)

    return router
