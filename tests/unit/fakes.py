"""In-memory adapters for the fast tests of the use cases: the same ports as the real MongoDB and broker
adapters, with the same compare-and-set semantics, and every published event kept in a list."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from services.assignment.directory import Agency, NoAgency
from services.assignment.domain import Assignment
from shared.clock import ManualClock
from shared.domain import Aggregate
from shared.events import Envelope, Source
from shared.messaging.publisher import Route
from shared.storage.outbox import EventSource

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00, Monday 2 March 2026, Vietnam time


class Published:
    """What a service published, in order: (envelope, route or None for this instance's exchange)."""

    def __init__(self) -> None:
        self.items: list[tuple[Envelope[Any], Route | None]] = []

    def types(self) -> list[str]:
        return [envelope.event_type for envelope, _ in self.items]

    def to(self, neighbour: str) -> list[Envelope[Any]]:
        return [e for e, route in self.items if route and route.routing_key.startswith(f"{neighbour}.")]

    def internal(self) -> list[Envelope[Any]]:
        return [e for e, route in self.items if route is None]

    def clear(self) -> None:
        self.items.clear()


class FakePublisher:
    def __init__(self, published: Published) -> None:
        self.published = published

    async def publish(self, envelope: Envelope[Any], route: Route | None = None) -> None:
        self.published.items.append((envelope, route))


def source(service: str = "assignment", instance: str = "phuong-a", level: str = "ward") -> Source:
    return Source(level=level, instance=instance, service=service)


class FakeAssignmentRepository:
    """Assignments in a dict; `save` is a compare-and-set on the status the aggregate was loaded in."""

    def __init__(self, events: EventSource, published: Published) -> None:
        self.events = events
        self.published = published
        self.docs: dict[str, dict[str, Any]] = {}
        self.audit: list[dict[str, Any]] = []
        self.conferences: dict[str, Any] = {}  # conference id → its snapshot (shared.events.Conference)

    def _flush(self, aggregate: Aggregate) -> None:
        for recorded in aggregate.events:
            outgoing = self.events.outgoing(recorded)
            envelope, route = outgoing if isinstance(outgoing, tuple) else (outgoing, None)
            self.published.items.append((envelope, route))
        self.audit += [{"action": n.action, "target": n.target, **n.actor.as_record()} for n in aggregate.notes]
        aggregate.events, aggregate.notes = [], []

    async def get(self, opinion_id: str) -> Assignment | None:
        doc = self.docs.get(opinion_id)
        return Assignment.from_document(copy.deepcopy(doc)) if doc else None

    async def by_tracking_code(self, code: str) -> Assignment | None:
        doc = next((d for d in self.docs.values() if d["tracking_code"] == code), None)
        return Assignment.from_document(copy.deepcopy(doc)) if doc else None

    async def add(self, assignment: Assignment) -> tuple[Assignment, bool]:
        if assignment.opinion_id in self.docs:
            assignment.events = []
            return Assignment.from_document(copy.deepcopy(self.docs[assignment.opinion_id])), False
        self.docs[assignment.opinion_id] = copy.deepcopy(assignment.document())
        self._flush(assignment)
        return assignment, True

    async def save(self, assignment: Assignment) -> bool:
        stored = self.docs[assignment.opinion_id]
        if stored.get("status") != assignment.loaded_status:
            return False
        stored.update(copy.deepcopy(assignment.changes()))
        assignment.changed.clear()
        assignment.loaded_status = assignment.status
        self._flush(assignment)
        return True

    async def of_conference(self, conference_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.docs.values() if d.get("conference_id") == conference_id]

    async def conference(self, conference_id: str) -> dict[str, Any] | None:
        conference = self.conferences.get(conference_id)
        return {"snapshot": conference.model_dump()} if conference else None

    async def save_news(self, assignment: Assignment, event_id: str, rank: int) -> bool:
        stored = self.docs[assignment.opinion_id]
        processed = stored.setdefault("processed", [])
        fresh = event_id not in processed and (stored.get("progress") or 0) < rank
        if event_id not in processed:
            processed.append(event_id)
        if not fresh:
            assignment.events = []
            return False
        stored.update(copy.deepcopy(assignment.changes()), progress=rank)
        self._flush(assignment)
        return True


class FakeDirectory:
    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = agencies

    async def all(self) -> list[Agency]:
        return [a for a in self.agencies if a.active]

    async def for_field(self, field: str) -> Agency:
        for agency in await self.all():
            if field in agency.fields:
                return agency
        for agency in await self.all():
            if agency.default:
                return agency
        raise NoAgency(field)


def clock() -> ManualClock:
    return ManualClock(T0)


class FakeOpinionRepository:
    """Intake's opinions in a dict, with the projection's conditions (once per event, never backwards)."""

    def __init__(self, events: EventSource, published: Published) -> None:
        self.events = events
        self.published = published
        self.docs: dict[str, dict[str, Any]] = {}
        self.audit: list[dict[str, Any]] = []

    async def add(self, opinion: Any) -> list[Any]:
        from services.intake.repository import TrackingCodeTaken

        taken = {d["tracking_code"] for d in self.docs.values()}
        if opinion.opinion_id in self.docs or opinion.tracking_code in taken:
            raise TrackingCodeTaken(opinion.tracking_code)
        self.docs[opinion.opinion_id] = copy.deepcopy(opinion.doc)
        pending, opinion.events = opinion.events, []
        return pending

    async def publish(self, opinion_id: str, entries: list[Any]) -> None:
        for recorded in entries:
            self.published.items.append((self.events.of(recorded), None))

    async def by_id(self, opinion_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.docs.get(opinion_id))

    async def by_tracking_code(self, code: str) -> dict[str, Any] | None:
        return copy.deepcopy(next((d for d in self.docs.values() if d["tracking_code"] == code), None))

    async def opinion(self, code: str) -> Any:
        from services.intake.domain import Opinion

        doc = await self.by_tracking_code(code)
        return Opinion(doc) if doc else None

    async def save_feedback(self, opinion: Any) -> bool:
        stored = self.docs[opinion.opinion_id]
        if stored["stage"] != 9:
            return False
        stored.update(copy.deepcopy(opinion.changes()))
        stored["history"] += opinion.history
        self.audit += [{"action": n.action, **n.actor.as_record()} for n in opinion.notes]
        opinion.notes = []
        return True

    async def apply(self, opinion_id: str, event_id: str, at: Any, change: Any) -> bool:
        doc = self.docs.get(opinion_id)
        if doc is None or event_id in doc["processed"]:
            return False
        if change.before is not None and doc["stage"] >= int(change.before):
            return False
        doc.update(change.set, updated_at=at)
        doc["processed"].append(event_id)
        doc["history"].append({"at": at, "stage": int(change.stage) if change.stage else None, "note": change.note})
        if change.stage is not None:
            doc["stage"] = max(doc["stage"], int(change.stage))
        return True

    async def exists(self, opinion_id: str) -> bool:
        return opinion_id in self.docs


class FakeConferenceRepository:
    """Conferences in a dict; `save` is a compare-and-set on the version the aggregate was loaded at."""

    def __init__(self, events: EventSource, published: Published) -> None:
        self.events = events
        self.published = published
        self.docs: dict[str, dict[str, Any]] = {}
        self.audit: list[dict[str, Any]] = []

    def _flush(self, conference: Any) -> None:
        for recorded in conference.events:
            self.published.items.append((self.events.of(recorded), None))
        self.audit += [{"action": n.action, "target": n.target, **n.actor.as_record()} for n in conference.notes]
        conference.events, conference.notes = [], []

    async def add(self, conference: Any) -> bool:
        if conference.id in self.docs:
            return False
        self.docs[conference.id] = copy.deepcopy(conference.doc)
        self._flush(conference)
        return True

    async def get(self, conference_id: str) -> Any:
        from services.scheduling.domain import Conference

        doc = self.docs.get(conference_id)
        return Conference(copy.deepcopy(doc)) if doc else None

    async def save(self, conference: Any) -> bool:
        stored = self.docs[conference.id]
        if stored["version"] != conference.loaded_version:
            return False
        stored.update(copy.deepcopy(conference.changes()))
        stored["history"] += conference.history
        conference.changed.clear()
        conference.history = []
        conference.loaded_version = stored["version"]
        self._flush(conference)
        return True

    async def of_year(self, year: int) -> list[dict[str, Any]]:
        return sorted((d for d in self.docs.values() if d["plan_year"] == year), key=lambda d: d["starts_at"])


class FakeTimerRepository:
    def __init__(self) -> None:
        self.timers: dict[str, dict[str, Any]] = {}
        self.closed: set[str] = set()

    async def add(self, docs: list[dict[str, Any]]) -> int:
        new = [d for d in docs if d["_id"] not in self.timers]
        self.timers.update({d["_id"]: copy.deepcopy(d) for d in new})
        return len(new)

    async def due(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        due = [t for t in self.timers.values() if t["status"] == "pending" and t["fire_at"] <= now]
        return copy.deepcopy(sorted(due, key=lambda t: t["fire_at"])[:limit])

    async def mark_fired(self, timer_id: str, now: datetime) -> None:
        if self.timers[timer_id]["status"] == "pending":
            self.timers[timer_id].update(status="fired", fired_at=now)

    async def cancel_pending(self, query: dict[str, Any], now: datetime) -> int:
        def matches(t: dict[str, Any]) -> bool:
            for key, value in query.items():
                if isinstance(value, dict) and "$nin" in value:
                    if t.get(key) in value["$nin"]:
                        return False
                elif t.get(key) != value:
                    return False
            return True

        hit = [t for t in self.timers.values() if t["status"] == "pending" and matches(t)]
        for t in hit:
            t.update(status="cancelled", cancelled_at=now)
        return len(hit)

    async def close(self, opinion_id: str, now: datetime) -> int:
        self.closed.add(opinion_id)
        return await self.cancel_pending({"opinion_id": opinion_id}, now)

    async def is_closed(self, opinion_id: str) -> bool:
        return opinion_id in self.closed

    async def for_tracking_code(self, code: str) -> list[dict[str, Any]]:
        return sorted((t for t in self.timers.values() if t.get("tracking_code") == code), key=lambda t: t["fire_at"])

    async def retarget(self, opinion_id: str, agency: dict[str, Any]) -> None:
        for t in self.timers.values():
            if t.get("opinion_id") == opinion_id and t["status"] == "pending":
                t["agency"] = agency

    async def head_of(self, opinion_id: str) -> str | None:
        return next(
            (t["head"] for t in self.timers.values() if t.get("opinion_id") == opinion_id and t.get("head")), None
        )


class FakeNotificationStore:
    """Notifications in a dict, leased and saved like the MongoDB adapter: `save` is a compare-and-set on the
    status the notification was loaded in; events go to `published`, audit notes to `audit`."""

    def __init__(self, events: EventSource, published: Published) -> None:
        self.events = events
        self.published = published
        self.docs: dict[str, dict[str, Any]] = {}
        self.audit: list[dict[str, Any]] = []
        self.contacts: dict[str, dict[str, Any]] = {}

    async def save_contact(self, opinion_id: str, doc: dict[str, Any]) -> None:
        self.contacts.setdefault(opinion_id, doc)

    async def contact(self, opinion_id: str) -> dict[str, Any] | None:
        return self.contacts.get(opinion_id)

    async def create(self, notifications: list[Any], lease: Any) -> list[Any]:
        from services.notification.domain import now_utc

        fresh = [n for n in notifications if n.id not in self.docs]
        for n in fresh:
            n.doc["lease_until"] = now_utc() + lease
            self.docs[n.id] = copy.deepcopy(n.doc)
        return fresh

    def _load(self, doc: dict[str, Any]) -> Any:
        from services.notification.domain import Notification

        return Notification(copy.deepcopy(doc))

    async def due(self, limit: int = 100) -> list[Any]:
        from services.notification.domain import QUEUED, now_utc

        now = now_utc()
        ready = [
            d for d in self.docs.values() if d["status"] == QUEUED and d["next_attempt_at"] <= now >= d["lease_until"]
        ]
        return [self._load(d) for d in sorted(ready, key=lambda d: d["next_attempt_at"])[:limit]]

    async def claim(self, notification_id: str, lease: Any) -> bool:
        from services.notification.domain import QUEUED, now_utc

        doc, now = self.docs[notification_id], now_utc()
        if doc["status"] != QUEUED or doc["lease_until"] > now:
            return False
        doc["lease_until"] = now + lease
        return True

    async def save(self, notification: Any) -> bool:
        stored = self.docs[notification.id]
        if stored["status"] != notification.loaded_status:
            notification.events, notification.notes = [], []
            return False
        stored.update(copy.deepcopy(notification.changes()))
        notification.changed.clear()
        notification.loaded_status = notification.status
        self.published.items += [(self.events.of(r), None) for r in notification.events]
        self.audit += [{"action": n.action, "target": n.target, **n.actor.as_record()} for n in notification.notes]
        notification.events, notification.notes = [], []
        return True

    async def unacknowledged(self, sent_before: datetime, limit: int = 100) -> list[Any]:
        waiting = [d for d in self.docs.values() if d.get("awaiting_ack") and d["sent_at"] <= sent_before]
        return [self._load(d) for d in waiting[:limit]]

    async def get(self, notification_id: str) -> Any:
        doc = self.docs.get(notification_id)
        return self._load(doc) if doc else None
