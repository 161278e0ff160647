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
from shared.messaging.consumer import consumes, subscriber

if TYPE_CHECKING:
    from services.assignment.app import Assignment

SERVICE = "assignment"


def _origin(message: RabbitMessage) -> tuple[str | None, dict[str, Any]]:
    """The broker-checked user_id of a link message, and its headers."""
    return getattr(message.raw_message, "user_id", None), dict(message.headers or {})


def build_router(parts: Assignment, *, prefetch: int) -> RabbitRouter:
    """The consumers, each calling one use case of the wired service."""
    router = RabbitRouter()
    service, summaries, guard, directory, desk = (
        parts.service,
        parts.summaries,
        parts.guard,
        parts.directory,
        parts.desk,
    )

    @subscriber(router, SERVICE, ConferenceUpdatedV1, prefetch=prefetch)
    @consumes()
    async def on_conference_updated(event: Envelope[ConferenceUpdatedV1]) -> None:
        await desk.keep(event)

    @subscriber(router, SERVICE, ConferenceDossierDueV1, prefetch=prefetch)
    @consumes()
    async def on_dossier_due(event: Envelope[ConferenceDossierDueV1]) -> None:
        await desk.send_dossiers(event)

    @subscriber(router, SERVICE, AgencyUpdatedV1, prefetch=prefetch)
    @consumes()
    async def on_agency_updated(event: Envelope[AgencyUpdatedV1]) -> None:
        await directory.apply(event.payload)

    @subscriber(router, SERVICE, OpinionReceivedV1, prefetch=prefetch)
    @consumes()
    async def on_received(event: Envelope[OpinionReceivedV1]) -> None:
        await service.assign(event)

    @subscriber(router, SERVICE, EscalationRequestedV1, prefetch=prefetch, inbound=True)
    @consumes()
    async def on_escalation_requested(event: Envelope[EscalationRequestedV1], message: RabbitMessage) -> None:
        await guard.from_child(event.payload, *_origin(message))
        await service.accept_escalation(event)

    @subscriber(router, SERVICE, EscalationAcknowledgedV1, prefetch=prefetch, inbound=True)
    @consumes()
    async def on_escalation_acknowledged(event: Envelope[EscalationAcknowledgedV1], message: RabbitMessage) -> None:
        await guard.from_parent(event.payload, *_origin(message))
        await service.on_progress(event)

    @subscriber(router, SERVICE, EscalationForwardedV1, prefetch=prefetch, inbound=True)
    @consumes()
    async def on_escalation_forwarded(event: Envelope[EscalationForwardedV1], message: RabbitMessage) -> None:
        await guard.from_parent(event.payload, *_origin(message))
        await service.on_progress(event)

    @subscriber(router, SERVICE, EscalationAnsweredV1, prefetch=prefetch, inbound=True)
    @consumes()
    async def on_escalation_answered(event: Envelope[EscalationAnsweredV1], message: RabbitMessage) -> None:
        await guard.from_parent(event.payload, *_origin(message))
        await service.on_progress(event)

    if parts.photos is not None:
        photos = parts.photos

        @subscriber(router, SERVICE, EscalationMediaAddedV1, prefetch=prefetch, inbound=True)
        @consumes()
        async def on_escalation_media(event: Envelope[EscalationMediaAddedV1], message: RabbitMessage) -> None:
            await guard.from_child(event.payload, *_origin(message))
            await photos.receive(event)

        @subscriber(router, SERVICE, OpinionEscalatedV1, prefetch=prefetch)
        @consumes()
        async def on_escalated(event: Envelope[OpinionEscalatedV1]) -> None:
            await photos.went_up(event)

    @subscriber(router, SERVICE, SummaryReportedV1, prefetch=prefetch, inbound=True)
    @consumes()
    async def on_summary(event: Envelope[SummaryReportedV1], message: RabbitMessage) -> None:
        await guard.summary_from_child(event.payload, *_origin(message), summaries.clock.now())
        await summaries.store_child(event.payload)

    return router
