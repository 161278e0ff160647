"""Assignment's consumers: received opinions, and what linked instances send (checked first)."""

from __future__ import annotations

from typing import Any

from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitMessage

from services.assignment.conferences import ConferenceDesk
from services.assignment.directory import Directory
from services.assignment.service import AssignmentService
from services.assignment.summaries import Summaries
from shared.events import (
    AgencyUpdatedV1,
    ConferenceDossierDueV1,
    ConferenceUpdatedV1,
    Envelope,
    EscalationAcknowledgedV1,
    EscalationAnsweredV1,
    EscalationForwardedV1,
    EscalationRequestedV1,
    OpinionReceivedV1,
    SummaryReportedV1,
)
from shared.messaging.consumer import consumes, subscriber
from shared.messaging.links import LinkGuard

SERVICE = "assignment"


def _origin(message: RabbitMessage) -> tuple[str | None, dict[str, Any]]:
    """The broker-checked user_id of a link message, and its headers."""
    return getattr(message.raw_message, "user_id", None), dict(message.headers or {})


def build_router(
    service: AssignmentService,
    summaries: Summaries,
    guard: LinkGuard,
    directory: Directory,
    desk: ConferenceDesk,
    *,
    prefetch: int,
) -> RabbitRouter:
    router = RabbitRouter()

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

    @subscriber(router, SERVICE, SummaryReportedV1, prefetch=prefetch, inbound=True)
    @consumes()
    async def on_summary(event: Envelope[SummaryReportedV1], message: RabbitMessage) -> None:
        await guard.summary_from_child(event.payload, *_origin(message), summaries.runtime.clock.now())
        await summaries.store_child(event.payload)

    return router
