"""Scheduling's pure rules: which deadline timers an assigned opinion needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# Namespace for timer event ids: a timer always fires with the same event id, so a
# second firing after a crash is recognised downstream as the same event.
TIMER_NAMESPACE = uuid.UUID("6f1c8a52-3d0e-4b8e-9d7a-5b1e0c2f4a10")


class TimerKind(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    CONFERENCE_ANNOUNCE = "conference_announce"
    CONFERENCE_DOSSIER = "conference_dossier"


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
