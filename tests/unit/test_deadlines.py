"""Deadlines in calendar days or in working days, on the Vietnamese calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.clock import VIETNAM
from shared.deadlines import DayCount, DeadlinePolicy, add_days, days_before, due_after


def test_working_day_notice_policy_counts_vietnamese_holidays() -> None:
    # Hung Kings' day (26/4, observed 27/4), 30/4 and 1/5 are holidays in 2026.
    # From Friday 24/4: 28/4, 29/4, then 4/5 (30/4 and 1/5 are holidays, 2–3/5 a weekend).
    assert add_days(date(2026, 4, 24), 3, DayCount.WORKING) == date(2026, 5, 4)
    assert add_days(date(2026, 4, 24), 3, DayCount.CALENDAR) == date(2026, 4, 27)
    start = datetime(2026, 4, 29, 1, 0, tzinfo=UTC)
    assert days_before(start, 3, DayCount.WORKING).astimezone(VIETNAM).date() == date(2026, 4, 23)
    due = due_after(datetime(2026, 2, 13, 3, 0, tzinfo=UTC), DeadlinePolicy(days=5, count=DayCount.WORKING))
    assert due.astimezone(VIETNAM).date() == date(2026, 2, 27)  # Tết (16–20/2) is skipped
