"""Reporting periods as local governments use them: month, quarter, 6 and 9 months, year; and any range of days
(`2026-03-01..2026-05-15`, both days included) for a report of this level's own figures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.clock import VIETNAM, utc

# ASCII digits only (\d would take "٢٠٢٦"), years 2000–2199 (year 1 overflows in UTC).
_PATTERN = re.compile(
    r"^(?P<year>2[01][0-9]{2})(?:-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])|(?P<months>6|9)M))?$", re.ASCII
)


@dataclass(frozen=True)
class Period:
    code: str
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC

    @property
    def is_range(self) -> bool:
        """A range of days: reported by this level alone (the levels below send months, quarters and years)."""
        return ".." in self.code

    @property
    def label(self) -> str:
        if self.is_range:
            first, last = (date.fromisoformat(d).strftime("%d/%m/%Y") for d in self.code.split(".."))
            return f"từ ngày {first} đến ngày {last}"
        year = self.code[:4]
        rest = self.code[5:]
        if not rest:
            return f"năm {year}"
        if rest.startswith("Q"):
            return f"quý {rest[1]} năm {year}"
        if rest.endswith("M"):
            return f"{rest[:-1]} tháng đầu năm {year}"
        return f"tháng {int(rest)} năm {year}"


def _local_midnight(day: date) -> datetime:
    return utc(datetime(day.year, day.month, day.day, tzinfo=VIETNAM))


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


_DAY = r"2[01][0-9]{2}-[01][0-9]-[0-3][0-9]"
_RANGE = re.compile(rf"^(?P<first>{_DAY})\.\.(?P<last>{_DAY})$", re.ASCII)
MAX_RANGE_DAYS = 3660


def parse_period(code: str) -> Period:
    """`2026`, `2026-03`, `2026-Q2`, `2026-6M`, `2026-9M` (months counted from January, Vietnam time), or a range
    of days `2026-03-01..2026-05-15` (both included, at most ten years)."""
    if ranged := _RANGE.match(code.strip()):
        try:
            first, last = date.fromisoformat(ranged["first"]), date.fromisoformat(ranged["last"])
        except ValueError as exc:
            raise ValueError(f"period {code!r}: {exc}") from exc
        if last < first or (last - first).days > MAX_RANGE_DAYS:
            raise ValueError(f"period {code!r}: the last day must follow the first, within ten years")
        return Period(f"{first}..{last}", _local_midnight(first), _local_midnight(last + timedelta(days=1)))
    match = _PATTERN.match(code.strip().upper())
    if not match:
        raise ValueError(
            f"period {code!r} is not one of YYYY, YYYY-MM, YYYY-Qn, YYYY-6M, YYYY-9M "
            "with a year 2000–2199 (e.g. 2026-Q1), or a range of days YYYY-MM-DD..YYYY-MM-DD"
        )
    year = int(match["year"])
    if match["month"]:
        first, count = int(match["month"]), 1
    elif match["quarter"]:
        first, count = 3 * int(match["quarter"]) - 2, 3
    elif match["months"]:
        first, count = 1, int(match["months"])
    else:
        first, count = 1, 12
    start = _month_start(year, first)
    end = _month_start(year, first + count)
    return Period(code.strip().upper(), _local_midnight(start), _local_midnight(end))


def current_periods(now: datetime) -> list[str]:
    """The month and the year `now` falls in (what summaries are sent for on schedule)."""
    local = now.astimezone(VIETNAM)
    return [f"{local.year}-{local.month:02d}", f"{local.year}"]
