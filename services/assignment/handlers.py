"""Assignment's consumer: every received opinion is classified and given to an agency."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter

from services.assignment.service import AssignmentService
from shared.events import Envelope, OpinionReceivedV1
from shared.messaging.consumer import consumes, subscriber

SERVICE = "assignment"


def build_router(service: AssignmentService, *, prefetch: int) -> RabbitRouter:
    router = RabbitRouter()

    @subscriber(router, SERVICE, OpinionReceivedV1, prefetch=prefetch)
    @consumes()
    async def on_received(event: Envelope[OpinionReceivedV1]) -> None:
        await service.assign(event)

    return router
