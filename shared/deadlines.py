"""Deadlines counted in calendar days or in working days (Vietnamese public holidays and weekends off).

Which one applies is a policy per deadline type, set in configuration, not code: a written answer
"within 30 days" is counted in calendar days by default; an instance may count it in working
days. A deadline ends at the end of its last day, Vietnam time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays
from pydantic import BaseModel, ConfigDict, Field

from shared.clock import VIETNAM, utc

END_OF_DAY = time(23, 59, 59)


class DayCount(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


class DeadlinePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=0, le=366)
    count: DayCount = DayCount.CALENDAR


@lru_cache(maxsize=16)
def _vietnam_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=[year])


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _vietnam_holidays(day.year)


def add_days(start: date, days: int, count: DayCount) -> date:
    """The day `days` days after `start`, skipping weekends and public holidays for working days."""
    if count is DayCount.CALENDAR:
        return start + timedelta(days=days)
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def due_after(moment: datetime, policy: DeadlinePolicy) -> datetime:
    """End of the last day of the period that starts at `moment` (Vietnam time), as UTC."""
    last = add_days(moment.astimezone(VIETNAM).date(), policy.days, policy.count)
    return utc(datetime.combine(last, END_OF_DAY, tzinfo=VIETNAM))


def days_before(moment: datetime, days: int, count: DayCount) -> datetime:
    """The same time of day `days` days earlier (working days skip weekends and holidays)."""
    local = moment.astimezone(VIETNAM)
    day = local.date()
    if count is DayCount.CALENDAR:
        day -= timedelta(days=days)
    else:
        remaining = days
        while remaining > 0:
            day -= timedelta(days=1)
            if is_working_day(day):
                remaining -= 1
    return utc(datetime.combine(day, local.timetz()))
