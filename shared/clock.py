"""Time as a dependency: services ask a clock, so tests can move time without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


class OffsetFileClock:
    """System time moved forward by the number of seconds written in a file.

    For end-to-end tests only: several service processes then share one clock the test moves
    (DOITHOAI_TEST_CLOCK_FILE). A missing or empty file means no offset.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            offset = float(self.path.read_text().strip() or 0)
        except FileNotFoundError:
            offset = 0.0
        return datetime.now(UTC) + timedelta(seconds=offset)


def utc(moment: datetime) -> datetime:
    """Normalise a datetime read back from the database (tz-aware, any offset) to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Moments the system can meaningfully hold (plans, deadlines, searches): anything outside is a
# typing mistake or an attack (year 1 or 9999 with a ±14 h offset overflows when moved to UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def sane_moment(moment: datetime) -> datetime:
    """`moment` (naive = Vietnam time) if it lies between 2000 and 2200, else ValueError."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    if not (EARLIEST.year <= moment.year < LATEST.year):
        raise ValueError(f"{moment.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}")
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{moment.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}") from exc
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"{moment.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}")
    return moment
