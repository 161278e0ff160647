"""Checks on messages that arrive from a neighbour, and the shovels that carry them.

A link message is accepted only if it is addressed to this instance, comes from the neighbour
it claims (the shovel that delivered it is named after its source instance), and that
neighbour is the parent or a child as the message kind requires. Anything else is refused:
the consumer rejects it to its dead-letter queue, with the reason logged and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events import LinkEvent
from shared.observability import metrics


def shovel_name(source: str, target: str) -> str:
    return f"doithoai-link-{source}-to-{target}"


class LinkRefused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class LinkGuard:
    def __init__(self, me: str, parent: str | None, children: list[str]) -> None:
        self.me = me
        self.parent = parent
        self.children = set(children)

    def _refuse(self, reason: str, detail: str) -> LinkRefused:
        metrics.LINKS_REFUSED.labels(**metrics.base(), reason=reason).inc()
        return LinkRefused(reason, detail)

    def _common(self, payload: LinkEvent, headers: Mapping[str, Any] | None) -> None:
        if payload.to_instance != self.me:
            raise self._refuse("not_addressed_here", f"addressed to {payload.to_instance!r}, this is {self.me!r}")
        shovelled = (headers or {}).get("x-shovelled") or []
        name = shovelled[0].get("shovel-name") if shovelled else None
        if name != shovel_name(payload.from_instance, self.me):
            raise self._refuse(
                "sender_mismatch",
                f"claims to come from {payload.from_instance!r} but arrived through {name or 'no shovel'}",
            )

    def from_child(self, payload: LinkEvent, headers: Mapping[str, Any] | None) -> None:
        if payload.from_instance not in self.children:
            raise self._refuse(
                "unknown_child",
                f"{payload.from_instance!r} is not a child of {self.me!r} (children: {sorted(self.children)})",
            )
        self._common(payload, headers)

    def from_parent(self, payload: LinkEvent, headers: Mapping[str, Any] | None) -> None:
        if payload.from_instance != self.parent:
            raise self._refuse(
                "not_parent", f"{payload.from_instance!r} is not the parent of {self.me!r} ({self.parent!r})"
            )
        self._common(payload, headers)
