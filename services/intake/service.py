"""Intake's use cases: take an opinion in, keep its status current as the other services report."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from services.intake.domain import Stage, change_for, new_tracking_code
from services.intake.repository import OpinionRepository, TrackingCodeTaken
from shared.events import (
    ACCEPTS_OPINIONS,
    Channel,
    CitizenContact,
    ConferenceStatus,
    ConferenceUpdatedV1,
    Envelope,
    EventPayload,
    Head,
    Location,
    OpinionReceivedV1,
)
from shared.http.auth import Caller
from shared.observability import metrics
from shared.runtime import Runtime
from shared.storage.outbox import OUTBOX

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c2b1e-3d7a-5e0b-9a43-1f0e8d2c4b57")

log = logging.getLogger(__name__)


class ConferenceRefused(Exception):
    def __init__(self, status: int, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_vi, self.message_en = status, code, message_vi, message_en


class IntakeService:
    def __init__(self, runtime: Runtime, repository: OpinionRepository) -> None:
        self.runtime = runtime
        self.repository = repository

    async def check_conference(self, conference_id: str, channel: Channel) -> None:
        """Refuse opinions for a conference that is unknown, over, called off, or (for direct ones) not yet held."""
        conference = await self.repository.conference(conference_id)
        if conference is None:
            raise ConferenceRefused(
                422,
                "unknown_conference",
                f"Không có hội nghị mã {conference_id}; kiểm tra mã trong kế hoạch hội nghị.",
                f"No conference {conference_id}; check the code in the conference plan.",
            )
        status = ConferenceStatus(conference["status"])
        if status not in ACCEPTS_OPINIONS:
            raise ConferenceRefused(
                409,
                "conference_not_accepting",
                f"Hội nghị {conference_id} đang ở trạng thái '{status.label}'; không nhận thêm ý kiến.",
                f"Conference {conference_id} is '{status.value}'; it takes no more opinions.",
            )
        if channel is Channel.DIRECT and status not in (ConferenceStatus.OPEN, ConferenceStatus.CLOSED):
            raise ConferenceRefused(
                409,
                "conference_not_open",
                f"Ý kiến phát biểu trực tiếp chỉ ghi khi hội nghị đã khai mạc; hội nghị đang '{status.label}'.",
                f"Opinions raised at the conference are recorded once it is open; it is '{status.value}'.",
            )

    async def keep_conference(self, event: Envelope[ConferenceUpdatedV1]) -> None:
        c = event.payload.conference
        await self.repository.keep_conference(
            c.conference_id,
            event.payload.version,
            {"status": c.status.value, "title": c.title, "starts_at": c.starts_at},
        )

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
        entered_by: Caller | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Store the opinion with its `opinion.received.v1` event; the caller flushes the outbox.

        With an idempotency key the opinion id derives from it (and the caller's key), so a client
        that sends again after a lost response gets the first opinion back, marked `replayed`.
        """
        if idempotency_key:
            who = entered_by.key_id if entered_by else ""
            opinion_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{who}\n{idempotency_key}"))
            if (existing := await self.repository.by_id(opinion_id)) is not None:
                return {**existing, "replayed": True}
        else:
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
                doc = await self.repository.insert_received(event, entered_by.as_record() if entered_by else None)
            except TrackingCodeTaken:
                if idempotency_key and (existing := await self.repository.by_id(opinion_id)) is not None:
                    return {**existing, "replayed": True}  # the same key, sent twice at the same moment
                continue
            metrics.OPINIONS_RECEIVED.labels(**metrics.base(), channel=channel.value).inc()
            log.info("received opinion %s (%s) via %s", payload.tracking_code, opinion_id, channel.value)
            return doc
        raise RuntimeError("could not find a free tracking code in 5 tries")

    async def publish_pending(self, doc: dict[str, Any]) -> None:
        await self.runtime.outbox.flush(self.repository.opinions, doc["_id"], doc[OUTBOX])

    async def refresh_gauges(self) -> None:
        labels = metrics.base()
        counts = await self.repository.open_by_stage()
        for stage in Stage:
            if stage < Stage.REDIRECTED:
                metrics.OPEN_OPINIONS.labels(**labels, status=stage.name.lower()).set(counts.get(int(stage), 0))
        metrics.OVERDUE_NOW.labels(**labels).set(await self.repository.overdue_now())

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
