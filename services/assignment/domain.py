"""Assignment's pure rules: the answer deadline and which state changes are allowed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.deadlines import DayCount, DeadlinePolicy, due_after
from shared.events import LEVEL_RANKS


def answer_due_at(received_at: datetime, days: int, count: DayCount = DayCount.CALENDAR) -> datetime:
    """'Within N days at the latest': the end of the Nth day after receipt, Vietnam time."""
    return due_after(received_at, DeadlinePolicy(days=days, count=count))


def days_between(start: datetime, end: datetime) -> int:
    """Whole days from receipt to answer (0 for an answer given the same day, e.g. at the conference)."""
    return max(0, int((end - start).total_seconds() // 86400))


class Status(StrEnum):
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    ANSWERED = "answered"
    REDIRECTED = "redirected"

    @property
    def label(self) -> str:
        return {
            Status.ASSIGNED: "Đang chờ trả lời",
            Status.ESCALATED: "Đã chuyển lên cấp trên",
            Status.ANSWERED: "Đã trả lời",
            Status.REDIRECTED: "Chuyển quy trình khiếu nại, tố cáo",
        }[self]


class TransitionRefused(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


ALLOWED = {
    Status.ASSIGNED: {Status.ANSWERED, Status.ESCALATED, Status.REDIRECTED},
    Status.REDIRECTED: set(),
    Status.ESCALATED: {Status.ANSWERED},  # answered by the level above
    Status.ANSWERED: set(),
}


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in ALLOWED[current]:
        raise TransitionRefused(current, wanted)


def progress_rank(state: str, holder_level: str) -> int:
    """Order of news from above, so a late message never undoes a newer one: sent further up <
    accepted there, a higher level after a lower one, and the answer last."""
    if state == "answered":
        return 1000
    return LEVEL_RANKS[holder_level] * 10 + (2 if state == "accepted" else 1)


def outcome(doc: dict[str, object]) -> str:
    """How an opinion received here ended (or stands), in the categories summaries count."""
    if doc.get("status") == Status.REDIRECTED:
        return "redirected_complaint"
    level = doc.get("holder_level") or doc.get("escalated_to_level")
    if doc.get("status") == Status.ESCALATED or (level and doc.get("status") == Status.ANSWERED):
        rank = LEVEL_RANKS.get(str(level), 2)
        return "escalated_to_district" if rank == 2 else "escalated_to_city"
    if doc.get("status") == Status.ANSWERED:
        return "answered_on_the_spot" if doc.get("kind") == "on_the_spot" else "answered_in_writing"
    return "pending"
