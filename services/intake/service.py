"""Intake's use cases: take an opinion in, keep its status current as the other services report."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from services.intake.domain import change_for, new_tracking_code
from services.intake.repository import OpinionRepository, TrackingCodeTaken
from shared.events import (
    Channel,
    CitizenContact,
    Envelope,
    EventPayload,
    Head,
    Location,
    OpinionReceivedV1,
)
from shared.observability import metrics
from shared.runtime import Runtime
from shared.storage.outbox import OUTBOX

log = logging.getLogger(__name__)


class IntakeService:
    def __init__(self, runtime: Runtime, repository: OpinionRepository) -> None:
        self.runtime = runtime
        self.repository = repository

    async def submit(
        self,
        *,
        text: str,
        channel: Channel,
        field: str | None = None,
        head: Head | None = None,
        citizen: CitizenContact | None = None,
        location: Location | None = None,
        conference_id: str | None = None,
    ) -> dict[str, Any]:
        """Store the opinion with its `opinion.received.v1` event; the caller flushes the outbox."""
        opinion_id = str(uuid.uuid4())
        for _ in range(5):
            payload = OpinionReceivedV1(
                opinion_id=opinion_id,
                tracking_code=new_tracking_code(),
                origin_instance=self.runtime.settings.instance_id,
                channel=channel,
                text=text,
                field=field,
                head=head,
                citizen=citizen,
                location=location,
                conference_id=conference_id,
                submitted_at=self.runtime.clock.now(),
            )
            event = self.runtime.envelope(payload, correlation_id=opinion_id)
            try:
                doc = await self.repository.insert_received(event)
            except TrackingCodeTaken:
                continue
            metrics.OPINIONS_RECEIVED.labels(**metrics.base(), channel=channel.value).inc()
            log.info("received opinion %s (%s) via %s", payload.tracking_code, opinion_id, channel.value)
            return doc
        raise RuntimeError("could not find a free tracking code in 5 tries")

    async def publish_pending(self, doc: dict[str, Any]) -> None:
        await self.runtime.outbox.flush(self.repository.opinions, doc["_id"], doc[OUTBOX])

    async def record(self, event: Envelope[EventPayload]) -> None:
        """Fold a downstream event into the status read model, once."""
        payload: Any = event.payload
        if payload.opinion_id is None:
            return
        applied = await self.repository.apply(
            payload.opinion_id, str(event.event_id), event.occurred_at, change_for(payload)
        )
        if not applied and not await self.repository.exists(payload.opinion_id):
            # Opinions escalated here from a child are followed at the instance that received them.
            log.debug("%s for opinion %s, received elsewhere", event.event_type, payload.opinion_id)
