"""Intake's use cases: take an opinion in, keep its status current as the other services report, take the
citizen's word on the answer, find opinions for staff. They take narrow ports: the repository, a clock,
this instance's id."""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.intake.domain import NotAnswered, Opinion, Stage, change_for, new_tracking_code
from services.intake.repository import OpinionRepository, TrackingCodeTaken
from shared.audit import Actor
from shared.clock import Clock
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
    OpinionAnsweredV1,
    OpinionEscalatedV1,
    OpinionReceivedV1,
)
from shared.http.auth import Caller
from shared.media import MediaStore, Upward
from shared.observability import metrics
from shared.similarity import Idf, Signature, blocking_keys, idf_from, likely_duplicates, signature
from shared.units import Unit

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c2b1e-3d7a-5e0b-9a43-1f0e8d2c4b57")


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Similar:
    """An open opinion that looks like the same matter, with why, for staff to decide (merge or not)."""

    doc: dict[str, Any]
    score: float
    reasons: list[str]


def _metres(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or None in (a.get("lat"), a.get("lon"), b.get("lat"), b.get("lon")):
        return None
    lat = math.radians((a["lat"] + b["lat"]) / 2)
    dx = math.radians(b["lon"] - a["lon"]) * math.cos(lat)
    dy = math.radians(b["lat"] - a["lat"])
    return 6_371_000 * math.hypot(dx, dy)


@dataclass
class Submitted:
    """A stored submission, its events still to publish, and whether it was the same one sent again."""

    opinion: Opinion
    entries: list[dict[str, Any]]
    replayed: bool = False


log = logging.getLogger(__name__)


class ConferenceRefused(Exception):
    def __init__(self, status: int, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_vi, self.message_en = status, code, message_vi, message_en


class IntakeService:
    SIMILAR_CANDIDATES = 300  # fetched by shared keys, then scored
    IDF_OPINIONS = 5000  # word weights counted over the latest opinions…
    IDF_EVERY = timedelta(minutes=10)  # …again when older than this

    def __init__(
        self,
        repository: OpinionRepository,
        media: MediaStore | None = None,
        *,
        clock: Clock,
        instance: str,
        unit: Unit | None = None,
    ) -> None:
        self.repository = repository
        self.media = media
        self.clock = clock
        self.instance = instance
        self.unit = unit
        self._idf: tuple[Idf, datetime] | None = None

    async def _weights(self) -> Idf:
        now = self.clock.now()
        if self._idf is None or now - self._idf[1] > self.IDF_EVERY:
            stored = await self.repository.recent_signatures(self.IDF_OPINIONS)
            self._idf = (idf_from(Signature.from_dict(s) for s in stored), now)
        return self._idf[0]

    async def similar(
        self,
        text: str,
        *,
        exclude: str | None = None,
        conference_id: str | None = None,
        location: dict[str, Any] | None = None,
        limit: int = 5,
    ) -> list[Similar]:
        """Open opinions of this instance that look like the same matter as `text`, best first: Vietnamese text
        read by shared/similarity.py (places, shorthand, missing marks), with the same conference and nearby
        coordinates named among the reasons. Merged opinions are not offered (their matter is the one they joined)."""
        query = signature(text)
        docs = await self.repository.similar_candidates(blocking_keys(query), limit=self.SIMILAR_CANDIDATES)
        by_code = {d["tracking_code"]: d for d in docs if d["tracking_code"] != exclude and d.get("similar")}
        candidates = [(code, Signature.from_dict(d["similar"]["sig"])) for code, d in by_code.items()]
        found = []
        for code, match in likely_duplicates(query, candidates, await self._weights(), limit=limit):
            doc, reasons = by_code[code], list(match.reasons)
            if conference_id and doc.get("conference_id") == conference_id:
                reasons.append("cùng hội nghị")
            distance = _metres(location, doc.get("location"))
            if distance is not None and distance <= 300:
                reasons.append(f"cách khoảng {round(distance, -1):.0f} m")
            found.append(Similar(doc, match.score, reasons))
        return found

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
    ) -> Submitted:
        """Store the opinion with its `opinion.received.v1` event; the caller publishes it (`publish`).

        With an idempotency key the opinion id derives from it (and the caller's key), so a client
        that sends again after a lost response gets the first opinion back, marked `replayed`.
        """
        if idempotency_key:
            who = entered_by.key_id if entered_by else ""
            opinion_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{who}\n{idempotency_key}"))
            if (existing := await self.repository.by_id(opinion_id)) is not None:
                return Submitted(Opinion(existing), [], replayed=True)
        else:
            opinion_id = str(uuid.uuid4())
        for _ in range(5):
            payload = OpinionReceivedV1(
                opinion_id=opinion_id,
                tracking_code=new_tracking_code(),
                origin_instance=self.instance,
                channel=channel,
                text=text,
                field=field,
                head=head,
                citizen=citizen,
                location=location,
                conference_id=conference_id,
                submitted_at=self.clock.now(),
            )
            opinion = Opinion.receive(
                payload, correlation_id=opinion_id, entered_by=entered_by.as_record() if entered_by else None
            )
            try:
                entries = await self.repository.add(opinion)
            except TrackingCodeTaken:
                if idempotency_key and (existing := await self.repository.by_id(opinion_id)) is not None:
                    return Submitted(Opinion(existing), [], replayed=True)  # the same key, twice at once
                continue
            metrics.OPINIONS_RECEIVED.labels(**metrics.base(), channel=channel.value).inc()
            log.info("received opinion %s (%s) via %s", payload.tracking_code, opinion_id, channel.value)
            return Submitted(opinion, entries)
        raise RuntimeError("could not find a free tracking code in 5 tries")

    async def publish(self, submitted: Submitted) -> None:
        """Publish a submission's event (after the answer to the client: it is safe in the outbox already)."""
        if submitted.entries:
            await self.repository.publish(submitted.opinion.opinion_id, submitted.entries)

    async def give_feedback(self, code: str, *, satisfied: bool, reason: str | None, by: Actor) -> Opinion:
        """The citizen's word on the answer; NotFound, or NotAnswered before there is an answer."""
        opinion = await self.repository.opinion(code)
        if opinion is None:
            raise NotFound(code)
        opinion.give_feedback(satisfied=satisfied, reason=reason, now=self.clock.now(), by=by)
        if not await self.repository.save_feedback(opinion):
            raise NotAnswered(code)  # it changed meanwhile (it cannot leave "closed"): the rule holds
        return opinion

    async def view(self, code: str) -> dict[str, Any] | None:
        return await self.repository.by_tracking_code(code)

    async def views(self, codes: list[str]) -> list[dict[str, Any]]:
        return await self.repository.by_tracking_codes(codes)

    async def find(self, query: dict[str, Any], *, skip: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        return await self.repository.find(query, skip=skip, limit=limit)

    async def listed(
        self, *, field: str | None, start: datetime | None, end: datetime | None, open_: bool | None, limit: int
    ) -> list[dict[str, Any]]:
        """Open311's listing: 90 days back when no dates are given."""
        if start is None and end is None:
            start = self.clock.now() - timedelta(days=90)
        return await self.repository.search(field=field, start=start, end=end, open_=open_, limit=limit)

    async def refresh_gauges(self) -> None:
        labels = metrics.base()
        counts = await self.repository.open_by_stage()
        for stage in Stage:
            if stage < Stage.REDIRECTED:
                metrics.OPEN_OPINIONS.labels(**labels, status=stage.name.lower()).set(counts.get(int(stage), 0))
        metrics.OVERDUE_NOW.labels(**labels).set(await self.repository.overdue_now())

    async def send_photos_up(self, event: Envelope[OpinionEscalatedV1]) -> None:
        """An opinion received here went up: its photos follow it, each once, and so does any added later (the
        citizen's identity, its file names and the position read from the photos stay here)."""
        p = event.payload
        if self.media is None or p.origin_instance != self.instance:
            return  # one a level below sent up: its photos are with assignment's copy
        await self.media.went_up(
            Upward(
                opinion_id=p.opinion_id, tracking_code=p.tracking_code, origin_instance=p.origin_instance,
                from_instance=self.instance, to_instance=p.to_instance, correlation_id=event.correlation_id,
            )
        )  # fmt: skip

    async def record_answer(self, event: Envelope[OpinionAnsweredV1]) -> None:
        """The answer, with the PDF it names only if that is a document attached to this opinion (the agency
        attaches it before answering); a reference that does not resolve is left out, not shown broken."""
        p = event.payload
        if p.document_media_id and self.media is not None:
            record = await self.media.record(p.opinion_id, p.document_media_id)
            if record is None or record["kind"] != "document":
                log.warning("answer to %s names %s, not a PDF of it; left out", p.tracking_code, p.document_media_id)
                event = event.model_copy(update={"payload": p.model_copy(update={"document_media_id": None})})
        await self.record(event)

    async def record(self, event: Envelope[EventPayload]) -> None:
        """Fold a downstream event into the status read model, once."""
        payload: Any = event.payload
        if payload.opinion_id is None:
            return
        applied = await self.repository.apply(
            payload.opinion_id, str(event.event_id), event.occurred_at, change_for(payload, self.unit)
        )
        if not applied and not await self.repository.exists(payload.opinion_id):
            # Opinions escalated here from a child are followed at the instance that received them.
            log.debug("%s for opinion %s, received elsewhere", event.event_type, payload.opinion_id)
