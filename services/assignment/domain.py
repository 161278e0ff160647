"""Assignment's pure rules: the answer deadline and which state changes are allowed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from shared.clock import VIETNAM, utc

END_OF_DAY = time(23, 59, 59)


def answer_due_at(received_at: datetime, days: int) -> datetime:
    """'Within N days at the latest': the end of the Nth calendar day after receipt, Vietnam time."""
    local_day: date = received_at.astimezone(VIETNAM).date() + timedelta(days=days)
    return utc(datetime.combine(local_day, END_OF_DAY, tzinfo=VIETNAM))


class Status(StrEnum):
    ASSIGNED = "assigned"
    ANSWERED = "answered"

    @property
    def label(self) -> str:
        return {Status.ASSIGNED: "Đang chờ trả lời", Status.ANSWERED: "Đã trả lời"}[self]


class TransitionRefused(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


ALLOWED = {Status.ASSIGNED: {Status.ANSWERED}, Status.ANSWERED: set()}


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in ALLOWED[current]:
        raise TransitionRefused(current, wanted)
