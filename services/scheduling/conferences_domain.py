"""The rules of a dialogue conference's life, without I/O: what a plan needs, which moves are allowed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.clock import VIETNAM
from shared.deadlines import DeadlinePolicy, days_before
from shared.events import ConferenceStatus

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


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.0f}" if days >= 1 else f"{days * 24:.0f} giờ / hours"


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
        raise RuleBroken(
            "notice_too_short",
            f"Thông báo hội nghị cần trước ít nhất {notice.days} {unit}; hội nghị chỉ còn "
            f"{_days(starts_at - now)} ngày. Dời ngày họp hoặc đánh dấu khẩn (urgent) kèm lý do.",
            f"The announcement needs {notice.days} {notice.count} days' notice; the conference is in "
            f"{_days(starts_at - now)} days. Move it, or mark it urgent with a reason.",
            "starts_at",
        )
    return max(announce_at, now)
