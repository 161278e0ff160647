"""Assignment's consumers: received opinions, and what linked instances send (checked first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitMessage

from shared.events import (
    AgencyUpdatedV1,
    ConferenceDossierDueV1,
    ConferenceUpdatedV1,
    Envelope,
    EscalationAcknowledgedV1,
    EscalationAnsweredV1,
    EscalationForwardedV1,
    EscalationMediaAddedV1,
    EscalationRequestedV1,
    OpinionEscalatedV1,
    OpinionReceivedV1,
    SummaryReportedV1,
)
from shared.messaging.consumer import ServiceQueue, consumes

if TYPE_CHECKING:
    from services.assignment.app import Assignment

SERVICE = "assignment"


def _origin(message: RabbitMessage) -> tuple[str | None, dict[str, Any]]:
    """The broker-checked user_id of a link message, and its headers."""
    return getattr(message.raw_message, "user_id", None), dict(message.headers or {})


def build_router(parts: Assignment, *, prefetch: int) -> RabbitRouter:
    """The consumers, each calling one use case of the wired service."""
    router = RabbitRouter()
    events = ServiceQueue(router, SERVICE, prefetch=prefetch)
    inbound = ServiceQueue(router, SERVICE, prefetch=prefetch, inbound=True)
    service, summaries, guard, directory, desk = (
        parts.service,
        parts.summaries,
        parts.guard,
        parts.directory,
        parts.desk,
    )

    @events.handles(ConferenceUpdatedV1)
    @consumes()
    async def on_conference_updated(event: Envelope[ConferenceUpdatedV1]) -> None:
        await desk.keep(event)

    @events.handles(ConferenceDossierDueV1)
    @consumes()
    async def on_dossier_due(event: Envelope[ConferenceDossierDueV1]) -> None:
        await desk.send_dossiers(event)

    @events.handles(AgencyUpdatedV1)
    @consumes()
    async def on_agency_updated(event: Envelope[AgencyUpdatedV1]) -> None:
        await directory.apply(event.payload)

    @events.handles(OpinionReceivedV1)
    @consumes()
    async def on_received(event: Envelope[OpinionReceivedV1]) -> None:
        await service.assign(event)

    @inbound.handles(EscalationRequestedV1)
    @consumes()
    async def on_escalation_requested(event: Envelope[EscalationRequestedV1], message: RabbitMessage) -> None:
        await guard.from_child(event.payload, *_origin(message))
        await service.accept_escalation(event)

    @inbound.handles(EscalationAcknowledgedV1)
    @consumes()
    async def on_escalation_acknowledged(event: Envelope[EscalationAcknowledgedV1], message: RabbitMessage) -> None:
        await guard.from_parent(event.payload, *_origin(message))
        await service.on_progress(event)

    @inbound.handles(EscalationForwardedV1)
    @consumes()
    async def on_escalation_forwarded(event: Envelope[EscalationForwardedV1], message: RabbitMessage) -> None:
        await guard.from_parent(event.payload, *_origin(message))
        await service.on_progress(event)

    @inbound.handles(EscalationAnsweredV1)
    @consumes()
    async def on_escalation_answered(event: Envelope[EscalationAnsweredV1], message: RabbitMessage) -> None:
        await guard.from_parent(event.payload, *_origin(message))
        await service.on_progress(event)

    if parts.photos is not None:
        photos = parts.photos

        @inbound.handles(EscalationMediaAddedV1)
        @consumes()
        async def on_escalation_media(event: Envelope[EscalationMediaAddedV1], message: RabbitMessage) -> None:
            await guard.from_child(event.payload, *_origin(message))
            await photos.receive(event)

        @events.handles(OpinionEscalatedV1)
        @consumes()
        async def on_escalated(event: Envelope[OpinionEscalatedV1]) -> None:
            await photos.went_up(event)

    @inbound.handles(SummaryReportedV1)
    @consumes()
    async def on_summary(event: Envelope[SummaryReportedV1], message: RabbitMessage) -> None:
        await guard.summary_from_child(event.payload, *_origin(message), summaries.clock.now())
        await summaries.store_child(event.payload)

    return router
