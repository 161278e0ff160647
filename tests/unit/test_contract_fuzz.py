"""Property-based fuzzing of the event contracts: whatever bytes arrive, parsing either gives a
valid envelope or raises pydantic's ValidationError (which the consumer turns into a dead letter);
never another exception from inside a validator. And an envelope's class is made once per process."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
import weakref
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import Envelope, EventPayload, Source


def contracts(base: type[EventPayload] = EventPayload) -> list[type[EventPayload]]:
    found = []
    for sub in base.__subclasses__():
        if "event_type" in vars(sub):
            found.append(sub)
        found += contracts(sub)
    return found


CONTRACTS = sorted({c for c in contracts()}, key=lambda c: c.event_type)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
MOMENTS = st.sampled_from(["2026-11-21T08:00:00+07:00", "2026-11-21T08:00", "yesterday", "2026-02-30T00:00:00Z"])


def envelopes(contract: type[EventPayload]) -> st.SearchStrategy[dict]:  # type: ignore[type-arg]
    """Envelope-shaped objects whose payload has the contract's field names with arbitrary values."""
    payload = st.fixed_dictionaries({}, optional={name: JSON | MOMENTS for name in contract.model_fields})
    return st.fixed_dictionaries(
        {
            "event_id": st.just(str(uuid.uuid4())) | st.text(max_size=5),
            "event_type": st.sampled_from([contract.event_type, contract.event_type[:-1] + "9", ""]),
            "occurred_at": MOMENTS,
            "source": st.fixed_dictionaries({"level": st.text(), "instance": st.text(), "service": st.text()}) | JSON,
            "correlation_id": st.text(max_size=5),
            "payload": payload,
        }
    )


def test_every_event_type_is_fuzzed() -> None:
    assert len(CONTRACTS) >= 20 and len({c.event_type for c in CONTRACTS}) == len(CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.event_type)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=st.data())
def test_parsing_fails_only_with_a_validation_error(contract: type[EventPayload], data: st.DataObject) -> None:
    raw = data.draw(st.binary(max_size=64) | JSON.map(json.dumps).map(str.encode) | envelopes(contract).map(
        lambda e: json.dumps(e).encode()
    ))  # fmt: skip
    try:
        parsed = Envelope[contract].model_validate_json(raw)  # type: ignore[valid-type]
    except ValidationError:
        return
    assert parsed.event_type == contract.event_type  # what gets through is a well-formed event of this type


class _Probe(EventPayload):
    """A payload type nothing else in the process refers to."""

    event_type: ClassVar[str] = "probe.made.v1"
    n: int


def test_an_envelope_class_is_made_once_per_payload_type() -> None:
    """Pydantic keeps a parametrized class (`Envelope[X]`) only while something refers to it: a service made a
    new class, a millisecond of work, for every event of a type it does not consume itself."""
    source = Source(level="ward", instance="xa-probe", service="assignment")

    async def make() -> weakref.ref[type]:  # in a task, as a consumer makes its events
        return weakref.ref(type(Envelope.new(_Probe(n=1), source)))

    first = asyncio.run(make())
    gc.collect()
    assert first() is not None, "the class of the first envelope was collected"
    assert type(Envelope.new(_Probe(n=2), source)) is first()
