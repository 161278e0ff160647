"""Period summaries: this instance's figures, its children's as they reported them, sent up the chain."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from services.assignment.domain import Place, outcome
from services.assignment.repository import AssignmentRepository
from shared.audit import Actor, AuditLog
from shared.clock import VIETNAM, Clock
from shared.events import Figures, Summary, SummaryReportedV1
from shared.messaging.publisher import EventPublisher, Route
from shared.periods import Period, current_periods, parse_period
from shared.storage.mongo import document
from shared.storage.outbox import EventSource

log = logging.getLogger(__name__)


def _count(target: dict[str, int], key: str | None, n: int) -> None:
    if key:
        target[key] = target.get(key, 0) + n


def conference_figures(held: list[dict[str, Any]]) -> dict[str, int]:
    """What the conferences held add to a report: how many, who came and spoke, which were late against the
    deadline set from above (complete_by), and whether this unit held one (plan completion at the parent)."""
    late = 0
    for c in held:
        ended = (c.get("closed_at") or c["starts_at"]).astimezone(VIETNAM).date()
        if c.get("complete_by") and ended > date.fromisoformat(str(c["complete_by"])[:10]):
            late += 1
    return {
        "conferences": len(held),
        "attendance": sum(c.get("attendance") or 0 for c in held),
        "speakers": sum(c.get("speakers") or 0 for c in held),
        "conferences_late": late,
        "units": 1,
        "units_held": 1 if held else 0,
    }


class Summaries:
    def __init__(
        self,
        repository: AssignmentRepository,
        publisher: EventPublisher,
        events: EventSource,
        *,
        clock: Clock,
        place: Place,
        interval_s: float,
        audit: AuditLog | None = None,
        children: list[str] | None = None,
    ) -> None:
        self.audit = audit
        self.children = children or []  # the units directly below, from the hierarchy
        self.repository = repository
        self.publisher = publisher
        self.events = events
        self.clock = clock
        self.place = place
        self.interval_s = interval_s

    async def figures(self, period: Period | None = None, *, conference_id: str | None = None) -> Figures:
        """A period's (or one conference's) figures, counted in the database; Python only adds up
        the (few) groups."""
        if conference_id:
            match: dict[str, Any] = {"conference_id": conference_id}
        else:
            assert period is not None
            within = {"$gte": period.start, "$lt": period.end}
            # On its conference's date (or its receipt's); opinions stored before that date was kept, by receipt.
            match = {"$or": [{"counted_at": within}, {"counted_at": None, "submitted_at": within}]}
        groups = await self.repository.outcome_groups(match)
        f: dict[str, Any] = {
            "by_channel": {}, "by_field": {}, "by_head": {}, "by_outcome": {}, "cube": {}, "escalated_to": {},
            "answer_days": {}, "received": 0, "redirected": 0, "on_time": 0, "overdue": 0, "handled_for_children": 0,
            "field_corrections": 0, "merged": 0,
        }  # fmt: skip
        for group in groups:
            key, n = group["_id"], group["n"]
            if key.get("came_from"):
                f["handled_for_children"] += n
                continue
            result = outcome(key)
            _count(f["by_outcome"], result, n)
            if result == "redirected_complaint":
                f["redirected"] += n  # not a dialogue opinion
                continue
            f["received"] += n
            if result == "merged":
                f["merged"] += n
            if key.get("method") == "corrected":
                f["field_corrections"] += n
            _count(f["by_channel"], key.get("channel"), n)
            _count(f["by_field"], key.get("field"), n)
            _count(f["by_head"], key.get("head"), n)
            _count(f["cube"], f"{key.get('channel')}|{key.get('head')}|{result}", n)
            if result.startswith("escalated_to_"):
                _count(f["escalated_to"], key.get("holder_level") or key.get("escalated_to_level"), n)
            if key.get("days") is not None:
                _count(f["answer_days"], str(key["days"]), n)
            if key.get("on_time") is True:
                f["on_time"] += n
            elif key.get("on_time") is False:
                f["overdue"] += n  # answered, but late
        f["overdue"] += await self.repository.count_overdue(match, self.clock.now())
        if conference_id:
            doc = await self.repository.conference(conference_id)
            held = [doc["snapshot"]] if doc else []
        else:
            assert period is not None
            held = await self.repository.held_conferences(period.start, period.end)
        f |= conference_figures(held)
        return Figures(**f)

    async def summary(self, code: str) -> Summary:
        period = parse_period(code)
        # The levels below send months, quarters and years: a range of days is this level's own figures.
        stored = [] if period.is_range else await self.repository.child_summaries_for(period.code)
        children = [Summary(**doc["summary"]) for doc in stored]
        return Summary(
            instance=self.place.instance,
            name=self.place.name,
            level=self.place.level,
            period=period.code,
            generated_at=self.clock.now(),
            own=await self.figures(period),
            children=children,
        )

    async def store_child(self, report: SummaryReportedV1) -> None:
        """Keep a child's summary under the child that sent it (checked by the link guard), replacing an
        older report of the period by the sender's own sequence, never by a timestamp it supplies."""
        s = report.summary
        stored = await self.repository.store_child_summary(report.from_instance, s.period, document(s), report.sequence)
        log.info(
            "summary %s of %s (report %d) %s", s.period, report.from_instance, report.sequence,
            "stored" if stored else "older than the one kept; ignored",
        )  # fmt: skip

    async def report_up(self, code: str, by: Actor | None = None) -> Summary:
        """Send this instance's summary (its children's included) to the parent, confirmed by the broker;
        `by`: the person or key who asked for it now (audited), else the schedule."""
        if self.place.parent is None:
            raise NoParentToReport(self.place.instance)
        if parse_period(code).is_range:
            raise ValueError(f"{code}: a range of days is not sent up; send a month, a quarter or a year")
        summary = await self.summary(code)
        report = SummaryReportedV1(
            from_instance=self.place.instance,
            to_instance=self.place.parent,
            summary=summary,
            sequence=await self.repository.next_report_sequence(summary.period),
        )
        route = Route.to_neighbour(self.place.parent, report.event_type)
        await self.publisher.publish(self.events.envelope(report), route)
        if by is not None and self.audit is not None:
            await self.audit.record(by, "summary.reported", summary.period, {"to": self.place.parent})
        return summary

    async def run(self) -> None:
        """On schedule: the current month's and year's summaries go up."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                for code in current_periods(self.clock.now()):
                    await self.report_up(code)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending the period summary up failed; will try again")


class NoParentToReport(Exception):
    pass
