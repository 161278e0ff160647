"""What every aggregate shares: the events its rules cause, recorded while they run, with no I/O.

An aggregate method checks its rule, changes the state, and records the events the change causes
(internal ones, or link messages for a neighbour) and, for a change a person made, the audit entry.
Its repository saves the state, the events (outbox) and the audit entry in one document write, then
publishes them. cosmicpython's model, applied to this codebase's outbox-in-the-document.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.events import Envelope, EventPayload


@dataclass(frozen=True)
class Story:
    """How a new event continues an opinion's (or a conference's) story: caused by an event, or made by a
    person (then only the correlation id carries on)."""

    correlation_id: str
    causation_id: str | None = None

    @classmethod
    def caused_by(cls, cause: Envelope[Any]) -> Story:
        return cls(cause.correlation_id, str(cause.event_id))


@dataclass(frozen=True)
class Recorded:
    """An event an aggregate caused: its payload, where it goes (a neighbour, or this instance), its story."""

    payload: EventPayload
    story: Story
    to: str | None = None  # a neighbour instance: the message crosses a link
    event_id: uuid.UUID | None = None  # fixed when the event must keep one id however often it is made


@dataclass(frozen=True)
class AuditNote:
    """A change a person (or a link, a signed mail link…) made, for the audit trail: who is an Actor."""

    actor: Any
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)


class Aggregate:
    """Base of the aggregates: collects what its methods record until the repository saves it."""

    def __init__(self) -> None:
        self.events: list[Recorded] = []
        self.notes: list[AuditNote] = []
        self.changed: set[str] = set()

    def record(
        self, payload: EventPayload, story: Story, *, to: str | None = None, event_id: uuid.UUID | None = None
    ) -> None:
        self.events.append(Recorded(payload, story, to, event_id))

    def note(self, actor: Any, action: str, target: str, details: dict[str, Any] | None = None) -> None:
        self.notes.append(AuditNote(actor, action, target, details or {}))

    def set(self, **values: Any) -> None:
        """Change fields, remembering which, so the repository writes only those."""
        for name, value in values.items():
            setattr(self, name, value)
            self.changed.add(name)
