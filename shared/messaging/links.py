"""Checks on messages that arrive from a neighbour, and the names of the links that carry them.

Each direction of a parent–child link is one shovel with a broker user of its own
(`doithoai-link-<source>-to-<target>`); the shovel stamps that user's name on every message as the
AMQP `user_id` property, which RabbitMQ checks against the connection that published it. Instance
users may not publish into `doithoai.inbound` at all (their write permission excludes it and the
default exchange). So `user_id` tells, with the broker's word for it, which link a message came
through; headers (`x-shovelled`) can be written by anyone and are not believed.

A link message is accepted only if it is addressed to this instance, came through the link from the
neighbour it claims to be from, and that neighbour is the parent or a child as the message kind
requires. Anything else is refused: rejected to its dead-letter queue, logged, counted and audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.events import LEVEL_RANKS, LinkEvent, Summary, SummaryReportedV1
from shared.observability import metrics

if TYPE_CHECKING:
    from shared.audit import AuditLog

# Set by the dead-letter replay tool (an operator on the admin account, the only one besides the
# link users that may publish into inbound queues) to the user_id the message first arrived with.
REPLAYED_USER_ID = "x-doithoai-original-user-id"


# How far ahead of our clock a neighbour's timestamp may be before it counts as forged.
CLOCK_SKEW = timedelta(minutes=5)


def shovel_name(source: str, target: str) -> str:
    return f"doithoai-link-{source}-to-{target}"


def link_user(source: str, target: str) -> str:
    """The broker user of the link from `source` to `target`: the shovel's own name."""
    return shovel_name(source, target)


class LinkRefused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class LinkSender:
    """Who sent a link message, for the audit trail: the neighbour it claims to be, the link it used."""

    claimed: str
    via: str | None

    def as_record(self) -> dict[str, object]:
        return {
            "actor": f"{self.claimed} (tự xưng)",
            "actor_id": self.via or "no-link",
            "roles": ["link"],
            "agency_id": None,
            "from_address": None,
        }


def arrived_through(user_id: str | None, headers: Mapping[str, Any] | None) -> str | None:
    """The link user a message arrived through, as the broker vouched for it (or as replayed)."""
    if user_id:
        return user_id
    replayed = (headers or {}).get(REPLAYED_USER_ID)
    return replayed if isinstance(replayed, str) else None


class LinkGuard:
    def __init__(self, me: str, parent: str | None, children: list[str], audit: AuditLog | None = None) -> None:
        self.me = me
        self.parent = parent
        self.children = set(children)
        self.audit = audit

    async def _refuse(self, payload: LinkEvent, via: str | None, reason: str, detail: str) -> LinkRefused:
        metrics.LINKS_REFUSED.labels(**metrics.base(), reason=reason).inc()
        if self.audit is not None:
            target = getattr(payload, "tracking_code", None) or getattr(payload, "opinion_id", None) or self.me
            await self.audit.record(
                LinkSender(payload.from_instance, via),
                "link.refused",
                str(target),
                {"reason": reason, "detail": detail, "event_type": payload.event_type},
            )
        return LinkRefused(reason, detail)

    async def _common(self, payload: LinkEvent, via: str | None) -> None:
        if payload.to_instance != self.me:
            raise await self._refuse(
                payload, via, "not_addressed_here", f"addressed to {payload.to_instance!r}, this is {self.me!r}"
            )
        if via != link_user(payload.from_instance, self.me):
            raise await self._refuse(
                payload,
                via,
                "sender_mismatch",
                f"claims to come from {payload.from_instance!r} but arrived through {via or 'no link'}",
            )

    async def from_child(self, payload: LinkEvent, user_id: str | None, headers: Mapping[str, Any] | None) -> None:
        via = arrived_through(user_id, headers)
        if payload.from_instance not in self.children:
            raise await self._refuse(
                payload,
                via,
                "unknown_child",
                f"{payload.from_instance!r} is not a child of {self.me!r} (children: {sorted(self.children)})",
            )
        await self._common(payload, via)

    async def from_parent(self, payload: LinkEvent, user_id: str | None, headers: Mapping[str, Any] | None) -> None:
        via = arrived_through(user_id, headers)
        if payload.from_instance != self.parent:
            raise await self._refuse(
                payload,
                via,
                "not_parent",
                f"{payload.from_instance!r} is not the parent of {self.me!r} ({self.parent!r})",
            )
        await self._common(payload, via)

    async def summary_from_child(
        self, report: SummaryReportedV1, user_id: str | None, headers: Mapping[str, Any] | None, now: datetime
    ) -> None:
        """A child's period summary: from that child, about that child, not from the future, and its
        nested summaries (the child's own children) strictly below it and not any other child of ours."""
        await self.from_child(report, user_id, headers)
        via, summary = arrived_through(user_id, headers), report.summary
        if summary.instance != report.from_instance:
            raise await self._refuse(
                report, via, "summary_of_another", f"{report.from_instance!r} sent a summary of {summary.instance!r}"
            )
        if summary.generated_at > now + CLOCK_SKEW:
            raise await self._refuse(
                report, via, "summary_from_the_future", f"generated at {summary.generated_at.isoformat()}"
            )
        seen: set[str] = set()

        def misplaced(node: Summary) -> str | None:
            for child in node.children:
                if LEVEL_RANKS.get(child.level, 0) >= LEVEL_RANKS.get(node.level, 0):
                    return f"{child.instance} ({child.level}) cannot be below {node.instance} ({node.level})"
                if child.instance in seen or child.instance == self.me or child.instance in self.children:
                    return f"{child.instance} appears twice in the tree"
                seen.add(child.instance)
                if problem := misplaced(child):
                    return problem
            return None

        if problem := misplaced(summary):
            raise await self._refuse(report, via, "summary_tree", problem)
