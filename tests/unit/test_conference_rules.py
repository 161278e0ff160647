"""A conference's rules without I/O: the schedule a plan needs, the moves its states allow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.scheduling.domain import MoveRefused, RuleBroken, check_schedule, move
from shared.deadlines import DayCount, DeadlinePolicy
from shared.events import ConferenceStatus as S

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
THREE_DAYS = DeadlinePolicy(days=3)


def test_the_announcement_comes_the_notice_before() -> None:
    starts = NOW + timedelta(days=10)
    assert check_schedule(
        starts, NOW, THREE_DAYS, urgent=False, urgent_reason=None, complete_by=None
    ) == starts - timedelta(days=3)
    working = DeadlinePolicy(days=3, count=DayCount.WORKING)
    friday = datetime(2026, 3, 13, 1, 0, tzinfo=UTC)
    assert check_schedule(friday, NOW, working, urgent=False, urgent_reason=None, complete_by=None).day == 10


@pytest.mark.parametrize(
    ("starts", "urgent", "reason", "complete_by", "code"),
    [
        (NOW - timedelta(hours=1), False, None, None, "conference_in_the_past"),
        (NOW + timedelta(days=2), False, None, None, "notice_too_short"),
        (NOW + timedelta(days=2), True, " ", None, "urgent_without_reason"),
        (NOW + timedelta(days=10), False, None, date(2026, 3, 5), "after_deadline"),
    ],
)
def test_plans_that_break_a_rule(starts, urgent, reason, complete_by, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleBroken) as exc:
        check_schedule(starts, NOW, THREE_DAYS, urgent=urgent, urgent_reason=reason, complete_by=complete_by)
    assert exc.value.code == code and exc.value.message_vi and exc.value.message_en


def test_an_urgent_conference_is_announced_at_once() -> None:
    starts = NOW + timedelta(days=1)
    assert check_schedule(starts, NOW, THREE_DAYS, urgent=True, urgent_reason="Ngập", complete_by=None) == NOW


def test_moves() -> None:
    assert move("announce", S.PLANNED) is S.ANNOUNCED
    assert move("open", S.ANNOUNCED) is S.OPEN
    assert move("close", S.OPEN) is S.CLOSED
    assert move("conclude", S.CLOSED) is S.CONCLUDED
    assert move("reschedule", S.POSTPONED) is S.PLANNED
    for action, current in [
        ("open", S.PLANNED),
        ("conclude", S.OPEN),
        ("cancel", S.CONCLUDED),
        ("announce", S.CANCELLED),
    ]:
        with pytest.raises(MoveRefused) as exc:
            move(action, current)
        assert exc.value.current is current
