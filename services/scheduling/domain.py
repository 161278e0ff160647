"""Scheduling's domain: a conference's life as one aggregate (what a plan needs, which moves are allowed,
the events each move causes) and the answer clock's timers (which reminders an opinion needs), without
I/O."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.clock import VIETNAM
from shared.deadlines import DeadlinePolicy, days_before
from shared.domain import Aggregate, Story
from shared.events import Conference as ConferenceSnapshot
from shared.events import ConferenceStatus, ConferenceUpdatedV1, Head, Invitee

S = ConferenceStatus

# Which status each action may start from, and where it leads.
MOVES: dict[str, tuple[set[ConferenceStatus], ConferenceStatus]] = {
    "announce": ({S.PLANNED}, S.ANNOUNCED),
    "open": ({S.ANNOUNCED}, S.OPEN),
    "close": ({S.OPEN}, S.CLOSED),
    "conclude": ({S.CLOSED}, S.CONCLUDED),
    "cancel": ({S.PLANNED, S.ANNOUNCED, S.POSTPONED}, S.CANCELLED),
    "postpone": ({S.PLANNED, S.ANNOUNCED}, S.POSTPONED),
    "reschedule": ({S.PLANNED, S.ANNOUNCED, S.POSTPONED}, S.PLANNED),
}

CHANGE_NAMES = {
    "announce": "announced",
    "open": "opened",
    "close": "closed",
    "conclude": "concluded",
    "cancel": "cancelled",
    "postpone": "postponed",
    "reschedule": "rescheduled",
}


class RuleBroken(Exception):
    """A plan that breaks a rule; the message says which, in Vietnamese and English."""

    def __init__(self, code: str, message_vi: str, message_en: str, field: str | None = None) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en
        self.field = field


class MoveRefused(Exception):
    def __init__(self, action: str, current: ConferenceStatus) -> None:
        super().__init__(f"cannot {action} a conference that is {current}")
        self.action = action
        self.current = current


def move(action: str, current: ConferenceStatus) -> ConferenceStatus:
    allowed, target = MOVES[action]
    if current not in allowed:
        raise MoveRefused(action, current)
    return target


def check_schedule(
    starts_at: datetime,
    now: datetime,
    notice: DeadlinePolicy,
    *,
    urgent: bool,
    urgent_reason: str | None,
    complete_by: date | None,
) -> datetime:
    """Refuse a conference in the past, after the deadline from above, or without the announcement's
    notice (unless urgent, with a reason); return when it must be announced."""
    if starts_at <= now:
        local = starts_at.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
        raise RuleBroken(
            "conference_in_the_past",
            f"Không thể lập hội nghị trong quá khứ ({local}).",
            f"A conference cannot be planned in the past ({local}).",
            "starts_at",
        )
    if complete_by is not None and starts_at.astimezone(VIETNAM).date() > complete_by:
        raise RuleBroken(
            "after_deadline",
            f"Cấp trên yêu cầu hoàn thành trước {complete_by:%d/%m/%Y}; hội nghị lại vào "
            f"{starts_at.astimezone(VIETNAM):%d/%m/%Y}.",
            f"The level above set {complete_by:%d/%m/%Y} as the deadline; the conference is on "
            f"{starts_at.astimezone(VIETNAM):%d/%m/%Y}.",
            "starts_at",
        )
    if urgent and not (urgent_reason or "").strip():
        raise RuleBroken(
            "urgent_without_reason",
            "Hội nghị khẩn cần nêu lý do khẩn (urgent_reason).",
            "An urgent conference needs a reason (urgent_reason).",
            "urgent_reason",
        )
    announce_at = days_before(starts_at, notice.days, notice.count)
    if announce_at < now and not urgent:
        unit = "ngày làm việc" if notice.count == "working" else "ngày"
        earliest = starts_at
        while days_before(earliest, notice.days, notice.count) < now:
            earliest += timedelta(days=1)
        latest = announce_at.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")
        soonest = earliest.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")
        raise RuleBroken(
            "notice_too_short",
            f"Hội nghị phải được thông báo trước ít nhất {notice.days} {unit}, tức chậm nhất {latest}; thời điểm "
            f"đó đã qua. Có thể họp sớm nhất vào {soonest}, hoặc đánh dấu khẩn (urgent) kèm lý do.",
            f"The conference must be announced {notice.days} {notice.count} days ahead, by {latest} at the latest, "
            f"which has passed. The soonest it can be held is {soonest}; or mark it urgent with a reason.",
            "starts_at",
        )
    return max(announce_at, now)


_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Closing:
    """What the secretary records when the conference closes."""

    attendance: int | None = None
    speakers: int | None = None
    remarks: str | None = None


@dataclass(frozen=True)
class ConferencePlan:
    """What a secretary plans: the conference as the plan of the year lists it."""

    title: str
    starts_at: datetime
    venue: str
    chairs: list[Head]
    secretary: str | None = None
    expected_attendance: int | None = None
    participant_groups: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    complete_by: date | None = None
    urgent: bool = False
    urgent_reason: str | None = None
    invitees: list[Invitee] = field(default_factory=list)


class Conference(Aggregate):
    """A conference of the year's plan, as one document: every move is a compare-and-set on its version and
    records a `conference.updated.v1` with the whole conference."""

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__()
        self.doc = doc
        self.loaded_version: int = doc.get("version", 0)
        self.history: list[dict[str, Any]] = []

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    @property
    def status(self) -> ConferenceStatus:
        return ConferenceStatus(self.doc["status"])

    @classmethod
    def plan(cls, plan: ConferencePlan, *, by: str, now: datetime, notice: DeadlinePolicy) -> Conference:
        """A new conference, if the plan keeps the rules (RuleBroken otherwise); announced at `announce_at`."""
        p = plan
        announce_at = check_schedule(
            p.starts_at, now, notice, urgent=p.urgent, urgent_reason=p.urgent_reason, complete_by=p.complete_by
        )
        conference = cls(
            {
                "_id": f"HN-{p.starts_at.year}-{''.join(secrets.choice(_ALPHABET) for _ in range(5))}",
                "title": p.title,
                "starts_at": p.starts_at,
                "venue": p.venue,
                "chairs": [h.value for h in p.chairs],
                "secretary": p.secretary,
                "expected_attendance": p.expected_attendance,
                "participant_groups": p.participant_groups,
                "topics": p.topics,
                "plan_year": p.starts_at.year,
                "complete_by": p.complete_by.isoformat() if p.complete_by else None,
                "status": ConferenceStatus.PLANNED.value,
                "urgent": p.urgent,
                "urgent_reason": p.urgent_reason,
                "announce_at": announce_at,
                "invitees": [i.model_dump(mode="json") for i in p.invitees],
                "version": 1,
                "history": [{"at": now, "change": "planned", "by": by}],
                "created_at": now,
            }
        )
        conference.record(
            ConferenceUpdatedV1(change="planned", version=1, conference=conference.snapshot()), conference.story
        )
        return conference

    @property
    def story(self) -> Story:
        return Story(f"conference:{self.id}")

    @property
    def complete_by(self) -> date | None:
        return date.fromisoformat(self.doc["complete_by"]) if self.doc.get("complete_by") else None

    def snapshot(self) -> ConferenceSnapshot:
        fields = {k: self.doc.get(k) for k in ConferenceSnapshot.model_fields if k != "conference_id"}
        return ConferenceSnapshot(conference_id=self.id, **{k: v for k, v in fields.items() if v is not None})

    def move(
        self,
        action: str,
        *,
        by: str,
        reason: str | None,
        starts_at: datetime | None,
        now: datetime,
        notice: DeadlinePolicy,
        closing: Closing | None = None,
    ) -> None:
        """Announce, open, close (with what the secretary records of the session), conclude, cancel, postpone or
        reschedule: MoveRefused if the status does not allow it, RuleBroken if a new date breaks the rules."""
        target = move(action, self.status)
        changes: dict[str, Any] = {"status": target.value}
        previous_starts_at = None
        if action == "open":
            changes["opened_at"] = now
        if action == "close":
            changes["closed_at"] = now
            if closing is not None:
                changes |= {k: v for k, v in vars(closing).items() if v is not None}
        if reason is not None:
            changes["status_reason"] = reason
        if action == "reschedule":
            assert starts_at is not None
            changes["announce_at"] = check_schedule(
                starts_at,
                now,
                notice,
                urgent=self.doc["urgent"],
                urgent_reason=self.doc.get("urgent_reason"),
                complete_by=self.complete_by,
            )
            previous_starts_at = self.doc["starts_at"]
            changes["starts_at"] = starts_at
            changes["status_reason"] = reason
        version = self.doc["version"] + 1
        changes["version"] = version
        self.doc.update(changes)
        self.changed.update(changes)
        self.history.append({"at": now, "change": CHANGE_NAMES[action], "by": by, "reason": reason})
        update = ConferenceUpdatedV1(
            change=CHANGE_NAMES[action],
            version=version,
            conference=self.snapshot(),
            previous_starts_at=previous_starts_at,
        )
        self.record(update, self.story)

    def changes(self) -> dict[str, Any]:
        return {name: self.doc[name] for name in sorted(self.changed)}

    def timers(self, dossier_before: timedelta, now: datetime, update_before: timedelta) -> list[dict[str, Any]]:
        """The announcement, the chairs' dossier and its update with what arrived since (ids carry the date, so a
        new date gets new ones)."""
        stamp = f"conference:{self.id}:{self.doc['starts_at']:%Y%m%dT%H%M}"
        dossier = max(self.doc["starts_at"] - dossier_before, self.doc["announce_at"])
        plans = [(TimerKind.CONFERENCE_ANNOUNCE, self.doc["announce_at"]), (TimerKind.CONFERENCE_DOSSIER, dossier)]
        update = self.doc["starts_at"] - update_before
        if update > dossier:
            plans.append((TimerKind.CONFERENCE_DOSSIER_UPDATE, update))
        return [
            {
                "_id": f"{stamp}:{kind}",
                "event_id": str(uuid.uuid5(TIMER_NAMESPACE, f"{stamp}:{kind}")),
                "conference_id": self.id,
                "kind": kind.value,
                "fire_at": fire_at,
                "starts_at": self.doc["starts_at"],
                "correlation_id": f"conference:{self.id}",
                "status": "pending",
                "created_at": now,
            }
            for kind, fire_at in plans
        ]


# Namespace for timer event ids: a timer always fires with the same event id, so a
# second firing after a crash is recognised downstream as the same event.
TIMER_NAMESPACE = uuid.UUID("6f1c8a52-3d0e-4b8e-9d7a-5b1e0c2f4a10")


class TimerKind(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    CONFERENCE_ANNOUNCE = "conference_announce"
    CONFERENCE_DOSSIER = "conference_dossier"
    CONFERENCE_DOSSIER_UPDATE = "conference_dossier_update"


@dataclass(frozen=True)
class TimerPlan:
    id: str
    kind: TimerKind
    fire_at: datetime
    days_left: int

    @property
    def event_id(self) -> uuid.UUID:
        return uuid.uuid5(TIMER_NAMESPACE, self.id)


def plan_timers(opinion_id: str, due_at: datetime, now: datetime, reminder_days: list[int]) -> list[TimerPlan]:
    """A reminder N days before the deadline for each N still ahead, and the overdue moment.

    Timer ids carry the deadline, so a deadline moved (a written answer promised sooner) gets
    timers of its own and the old ones can be cancelled without colliding."""
    stamp = f"{opinion_id}:{due_at.astimezone(UTC):%Y%m%dT%H%M}"
    plans = [
        TimerPlan(f"{stamp}:{TimerKind.DUE_SOON}:{days}", TimerKind.DUE_SOON, due_at - timedelta(days=days), days)
        for days in sorted(set(reminder_days), reverse=True)
        if due_at - timedelta(days=days) > now
    ]
    plans.append(TimerPlan(f"{stamp}:{TimerKind.OVERDUE}", TimerKind.OVERDUE, due_at, 0))
    return plans
