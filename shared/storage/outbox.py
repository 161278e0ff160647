"""Transactional outbox kept inside the document whose change caused the events.

A service saves its state change, the events it causes and the audit entry of a person's change in
one single-document write (atomic on any MongoDB deployment, no transactions needed), then
publishes the events, copies the audit entry into the audit trail, and `$pull`s what is done. If the
process dies in between, or the broker is away, the relay finds the leftovers and does them again
with the same ids; consumers drop duplicate events, the audit trail duplicate entries.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared.clock import Clock
from shared.domain import AuditNote, Recorded
from shared.events import Envelope, EventPayload, Source
from shared.messaging.publisher import EventPublisher, Route
from shared.observability import metrics

if TYPE_CHECKING:
    from shared.audit import AuditLog

log = logging.getLogger(__name__)

OUTBOX = "outbox"
# Every range on `outbox.created_at` is closed on both sides: documents with an empty outbox sit at
# the bottom of the index, and a server that does not bracket by type (SecantusDB) would read them
# all on an open range; MongoDB reads only the pending entries either way.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PASS_LIMIT = 500  # documents a relay pass mends per collection


Outgoing = Envelope[EventPayload] | tuple[Envelope[EventPayload], Route]


def outbox_entries(*events: Outgoing) -> list[dict[str, Any]]:
    """What to `$push` (or insert) under `outbox` together with the state change.

    An envelope alone goes to this instance's consumers; `(envelope, route)` goes where the
    route says (to a neighbour, through its link).
    """
    now = datetime.now(UTC)
    entries = []
    for item in events:
        envelope, route = item if isinstance(item, tuple) else (item, Route.internal(item.event_type))
        entries.append(
            {
                "event_id": str(envelope.event_id),
                "event_type": envelope.event_type,
                "correlation_id": envelope.correlation_id,
                "body": envelope.model_dump_json(),
                "exchange": route.exchange,
                "routing_key": route.routing_key,
                "created_at": now,
            }
        )
    return entries


class EventSource:
    """Makes this service's envelopes (its source, the time of its clock) and outbox entries from what an
    aggregate recorded."""

    def __init__(self, source: Source, clock: Clock) -> None:
        self.source = source
        self.clock = clock

    def envelope(self, payload: EventPayload, **kw: Any) -> Envelope[Any]:
        return Envelope.new(payload, self.source, occurred_at=self.clock.now(), **kw)

    def of(self, recorded: Recorded) -> Envelope[Any]:
        envelope = self.envelope(
            recorded.payload, correlation_id=recorded.story.correlation_id, event_id=recorded.event_id
        )
        if recorded.story.causation_id:
            envelope = envelope.model_copy(update={"causation_id": recorded.story.causation_id})
        return envelope

    def outgoing(self, recorded: Recorded) -> Outgoing:
        envelope = self.of(recorded)
        if recorded.to is None:
            return envelope
        return envelope, Route.to_neighbour(recorded.to, recorded.payload.event_type)

    def entries(self, events: list[Recorded], notes: list[AuditNote] = ()) -> list[dict[str, Any]]:  # type: ignore[assignment]
        """Outbox entries of the recorded events, and of the audit notes (saved with the state)."""
        now = datetime.now(UTC)
        audited = [
            {
                "kind": "audit",
                "event_id": uuid.uuid4().hex,  # the entry's id: copied into the audit trail once
                "entry": {
                    "at": self.clock.now(),
                    **note.actor.as_record(),
                    "action": note.action,
                    "target": note.target,
                    "details": note.details,
                },
                "created_at": now,
            }
            for note in notes
        ]
        return outbox_entries(*(self.outgoing(r) for r in events)) + audited


class Outbox:
    def __init__(
        self,
        publisher: EventPublisher,
        *,
        grace_s: float,
        interval_s: float,
        sweep_s: float = 0.0,
        audit: AuditLog | None = None,
    ) -> None:
        self._publisher = publisher
        self._audit = audit
        self._grace = timedelta(seconds=grace_s)
        self._interval = interval_s
        self._sweep_s = sweep_s
        # Until when this process may have left events unpublished (at its start: its predecessor may have died
        # between a save and its publishing; then any publishing that failed), and up to when a completed pass
        # of the relay has looked (its cutoff). The relay reads the database while the second is behind.
        self._unsure_until = datetime.now(UTC)
        self._looked_until = EPOCH
        self._collections: list[AsyncCollection] = []

    async def track(self, collection: AsyncCollection) -> None:
        """Let the relay watch this collection's documents for unpublished events."""
        await collection.create_index([(f"{OUTBOX}.created_at", ASCENDING)])
        self._collections.append(collection)

    async def flush(self, collection: AsyncCollection, doc_id: Any, entries: list[dict[str, Any]]) -> int:
        """Publish entries saved in document `doc_id`, then forget the confirmed ones."""
        published: list[str] = []
        try:
            for entry in entries:
                if entry.get("kind") == "audit":
                    assert self._audit is not None, "an audit entry in an outbox without an audit trail"
                    await self._audit.copy(entry["event_id"], entry["entry"])
                    published.append(entry["event_id"])
                    continue
                await self._publisher.publish_raw(
                    event_id=entry["event_id"],
                    event_type=entry["event_type"],
                    correlation_id=entry["correlation_id"],
                    body=entry["body"],
                    route=Route(entry["exchange"], entry["routing_key"]),
                )
                published.append(entry["event_id"])
                metrics.EVENTS_PUBLISHED.labels(**metrics.base(), event_type=entry["event_type"]).inc()
        except Exception as exc:  # the relay tries again; nothing is lost
            self._unsure_until = datetime.now(UTC)
            log.warning("publishing %s left for the outbox relay: %r", entries[len(published)]["event_id"], exc)
        if published:
            await collection.update_one({"_id": doc_id}, {"$pull": {OUTBOX: {"event_id": {"$in": published}}}})
        return len(published)

    async def relay_once(self) -> tuple[int, int]:
        """Publish what inline publishing left behind: (events sent, documents whose events are still not
        all published). Finding nothing costs one query per collection; nothing is counted apart."""
        cutoff = datetime.now(UTC) - self._grace
        sent = stuck = 0
        for collection in self._collections:
            pending = {f"{OUTBOX}.created_at": {"$gte": EPOCH, "$lte": cutoff}}
            seen = 0
            async for doc in collection.find(pending, {OUTBOX: 1}, limit=PASS_LIMIT):
                entries = [e for e in doc[OUTBOX] if e["created_at"] <= cutoff]
                published = await self.flush(collection, doc["_id"], entries)
                sent += published
                stuck += published < len(entries)
                seen += 1
            if seen == PASS_LIMIT:  # more may wait: the next look reads again
                self._unsure_until = datetime.now(UTC)
        self._looked_until = cutoff
        return sent, stuck

    async def backlog(self) -> int:
        """Documents holding events not yet confirmed by the broker."""
        total = 0
        for collection in self._collections:
            total += await collection.count_documents({f"{OUTBOX}.created_at": {"$gte": EPOCH}})
        return total

    async def run(self) -> None:
        """Every interval: a pass over the database while this process may have left something unpublished
        (or at every look when `sweep_s` is 0); otherwise a sweep every `sweep_s`, for what another process of
        the instance that died left behind."""
        swept = -float("inf")
        while True:
            try:
                if self._looked_until < self._unsure_until or time.monotonic() - swept >= self._sweep_s:
                    swept = time.monotonic()
                    sent, stuck = await self.relay_once()  # a document stuck keeps the relay unsure (flush)
                    if sent:
                        log.info("outbox relay published %d event(s)", sent)
                    metrics.OUTBOX_BACKLOG.labels(**metrics.base()).set(stuck)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._unsure_until = datetime.now(UTC)
                log.exception("outbox relay pass failed; will try again")
            await asyncio.sleep(self._interval)
