"""Conference use cases: plan, announce on time, open, close, conclude, cancel, postpone, reschedule.

A conference is one document; every move is a compare-and-set on its version that carries a
`conference.updated.v1` snapshot in the outbox. Its announcement and the chairs' dossier are
durable timers (the announcement moment comes from the notice policy, e.g. 3 days before).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from services.scheduling.conferences_domain import CHANGE_NAMES, MoveRefused, check_schedule, move
from services.scheduling.domain import TIMER_NAMESPACE, TimerKind
from services.scheduling.repository import PENDING, ConferenceRepository, TimerRepository
from shared.deadlines import DeadlinePolicy
from shared.events import Conference, ConferenceStatus, ConferenceUpdatedV1, Head, Invitee
from shared.runtime import Runtime
from shared.storage.outbox import outbox_entries

log = logging.getLogger(__name__)

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ConcurrentChange(Exception):
    pass


class ConferenceService:
    def __init__(
        self,
        runtime: Runtime,
        conferences: ConferenceRepository,
        timers: TimerRepository,
        *,
        notice: DeadlinePolicy,
        dossier_before: timedelta,
    ) -> None:
        self.runtime = runtime
        self.repository = conferences
        self.timers = timers
        self.notice = notice
        self.dossier_before = dossier_before

    def _snapshot(self, doc: dict[str, Any]) -> Conference:
        fields = {k: doc.get(k) for k in Conference.model_fields if k != "conference_id"}
        return Conference(conference_id=doc["_id"], **{k: v for k, v in fields.items() if v is not None})

    def _event(self, doc: dict[str, Any], change: str, version: int) -> list[dict[str, Any]]:
        event = self.runtime.envelope(
            ConferenceUpdatedV1(change=change, version=version, conference=self._snapshot(doc)),
            correlation_id=f"conference:{doc['_id']}",
        )
        return outbox_entries(event)

    async def plan(
        self,
        *,
        title: str,
        starts_at: datetime,
        venue: str,
        chairs: list[Head],
        secretary: str | None,
        expected_attendance: int | None,
        participant_groups: list[str],
        topics: list[str],
        complete_by: date | None,
        urgent: bool,
        urgent_reason: str | None,
        invitees: list[Invitee],
        by: str,
    ) -> dict[str, Any]:
        now = self.runtime.clock.now()
        announce_at = check_schedule(
            starts_at, now, self.notice, urgent=urgent, urgent_reason=urgent_reason, complete_by=complete_by
        )
        year = starts_at.year
        doc: dict[str, Any] = {
            "_id": f"HN-{year}-{''.join(secrets.choice(_ALPHABET) for _ in range(5))}",
            "title": title,
            "starts_at": starts_at,
            "venue": venue,
            "chairs": [h.value for h in chairs],
            "secretary": secretary,
            "expected_attendance": expected_attendance,
            "participant_groups": participant_groups,
            "topics": topics,
            "plan_year": year,
            "complete_by": complete_by.isoformat() if complete_by else None,
            "status": ConferenceStatus.PLANNED.value,
            "urgent": urgent,
            "urgent_reason": urgent_reason,
            "announce_at": announce_at,
            "invitees": [i.model_dump(mode="json") for i in invitees],
            "version": 1,
            "history": [{"at": now, "change": "planned", "by": by}],
            "created_at": now,
        }
        doc["outbox"] = self._event(doc, "planned", 1)
        if not await self.repository.insert(doc):
            raise ConcurrentChange(doc["_id"])
        await self._set_timers(doc, now)
        await self.runtime.outbox.flush(self.repository.conferences, doc["_id"], doc["outbox"])
        log.info("conference %s planned for %s, announced at %s", doc["_id"], starts_at, announce_at)
        if announce_at <= now:  # urgent: the announcement goes out at once
            try:
                doc = await self.act(doc["_id"], "announce", by="urgent")
            except (MoveRefused, ConcurrentChange):  # its announcement timer, due now too, was quicker
                doc = await self.repository.get(doc["_id"]) or doc
        return doc

    async def _set_timers(self, doc: dict[str, Any], now: datetime) -> None:
        """The announcement and the dossier of this schedule (ids carry the date, so a new date gets new ones)."""
        stamp = f"conference:{doc['_id']}:{doc['starts_at']:%Y%m%dT%H%M}"
        plans = [
            (TimerKind.CONFERENCE_ANNOUNCE, doc["announce_at"]),
            (TimerKind.CONFERENCE_DOSSIER, max(doc["starts_at"] - self.dossier_before, doc["announce_at"])),
        ]
        await self.timers.add(
            [
                {
                    "_id": f"{stamp}:{kind}",
                    "event_id": str(uuid.uuid5(TIMER_NAMESPACE, f"{stamp}:{kind}")),
                    "conference_id": doc["_id"],
                    "kind": kind.value,
                    "fire_at": fire_at,
                    "starts_at": doc["starts_at"],
                    "correlation_id": f"conference:{doc['_id']}",
                    "status": PENDING,
                    "created_at": now,
                }
                for kind, fire_at in plans
            ]
        )

    async def get(self, conference_id: str) -> dict[str, Any] | None:
        return await self.repository.get(conference_id)

    async def act(
        self,
        conference_id: str,
        action: str,
        *,
        by: str,
        reason: str | None = None,
        starts_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Move a conference: raises KeyError if unknown, MoveRefused with the current status if not allowed."""
        doc = await self.repository.get(conference_id)
        if doc is None:
            raise KeyError(conference_id)
        target = move(action, ConferenceStatus(doc["status"]))
        now = self.runtime.clock.now()
        changes: dict[str, Any] = {"status": target.value}
        if reason is not None:
            changes["status_reason"] = reason
        if action == "reschedule":
            assert starts_at is not None
            changes["announce_at"] = check_schedule(
                starts_at,
                now,
                self.notice,
                urgent=doc["urgent"],
                urgent_reason=doc.get("urgent_reason"),
                complete_by=date.fromisoformat(doc["complete_by"]) if doc.get("complete_by") else None,
            )
            changes["starts_at"] = starts_at
            changes["status_reason"] = reason
        updated = {**doc, **changes}
        version = doc["version"] + 1
        entries = self._event(updated, CHANGE_NAMES[action], version)
        history = {"at": now, "change": CHANGE_NAMES[action], "by": by, "reason": reason}
        if not await self.repository.change(conference_id, doc["version"], changes, history, entries):
            raise ConcurrentChange(conference_id)
        if action in ("cancel", "postpone", "reschedule"):
            await self.timers.cancel_pending({"conference_id": conference_id}, now)
        if action == "reschedule":
            await self._set_timers(updated, now)
        await self.runtime.outbox.flush(self.repository.conferences, conference_id, entries)
        log.info("conference %s: %s → %s (%s)", conference_id, doc["status"], target.value, by)
        if action == "reschedule" and updated["announce_at"] <= now:
            return await self.act(conference_id, "announce", by="urgent")
        return {**updated, "version": version}

    async def announce_on_time(self, conference_id: str) -> None:
        """The announcement timer fired: announce, unless it already was (by hand) or was called off."""
        try:
            await self.act(conference_id, "announce", by="timer")
        except MoveRefused as exc:
            log.info("announcement timer of %s: nothing to do, it is %s", conference_id, exc.current)
        except KeyError:
            log.warning("announcement timer of unknown conference %s", conference_id)
