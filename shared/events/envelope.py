"""The envelope every event travels in: id, time, source and the ids that chain causes together."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


class EventPayload(BaseModel):
    """Base of every event body. Consumers ignore fields they do not know: additive changes stay v1."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]


P = TypeVar("P", bound=EventPayload)


class Source(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    level: str = Field(description="Administrative level of the emitting instance (ward, district, city…).")
    instance: str = Field(description="Id of the emitting instance.")
    service: str = Field(description="Emitting service: intake, assignment, scheduling or notification.")


class Envelope(BaseModel, Generic[P]):
    """A versioned event. `event_type` names the payload's contract, e.g. `opinion.received.v1`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(description="Unique id; consumers use it to ignore a second delivery.")
    event_type: str = Field(description="Contract name and version of the payload.")
    occurred_at: AwareDatetime = Field(description="When it happened, UTC.")
    source: Source
    correlation_id: str = Field(description="Id shared by every event of one opinion's story.")
    causation_id: str | None = Field(default=None, description="Event id of the event that caused this one.")
    payload: P

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope[P]:
        expected = getattr(type(self.payload), "event_type", None)
        if expected is not None and self.event_type != expected:
            raise ValueError(f"event_type {self.event_type!r} does not match the payload contract {expected!r}")
        return self

    @classmethod
    def new(
        cls,
        payload: P,
        source: Source,
        *,
        cause: Envelope[EventPayload] | None = None,
        correlation_id: str | None = None,
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope[P]:
        """Wrap a payload; a caused event inherits the cause's correlation id."""
        event_id = event_id or uuid.uuid4()
        if correlation_id is None:
            correlation_id = cause.correlation_id if cause else str(event_id)
        return _parametrized(type(payload))(
            event_id=event_id,
            event_type=payload.event_type,
            occurred_at=occurred_at or datetime.now(UTC),
            source=source,
            correlation_id=correlation_id,
            causation_id=str(cause.event_id) if cause else None,
            payload=payload,
        )


@cache
def _parametrized(payload_type: type[EventPayload]) -> type[Envelope[Any]]:
    """`Envelope[payload_type]`, made once per process. Pydantic keeps its parametrized classes only while
    something else refers to them: an envelope of a type this process does not consume was built anew (a new
    class, a millisecond) for every event it made."""
    return Envelope[payload_type]  # type: ignore[valid-type]
