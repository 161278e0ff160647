"""Durable deadline timers on the real broker and database, with a clock the test moves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.scheduling.app import create_app as scheduling_app
from shared.clock import ManualClock
from shared.events import AgencyRef, Envelope, OpinionAnsweredV1, OpinionAssignedV1, Source
from tests.integration.amqp import body_of, drain, listen, message_count, publish_raw
from tests.integration.harness import eventually, running

SOURCE = Source(level="ward", instance="test", service="assignment")
T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def env(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_TIMER_POLL_S", "0.2")
    return env


def assigned(opinion_id: str, due_at: datetime, agency_id: str = "dc") -> Envelope[OpinionAssignedV1]:
    return Envelope.new(
        OpinionAssignedV1(
            opinion_id=opinion_id,
            tracking_code="YK-TEST-0001",
            field="land",
            head="committee_chair",
            agency=AgencyRef(id=agency_id, name="Địa chính", email=f"{agency_id}@example.vn"),
            channel="direct",
            text="Đất",
            submitted_at=T0,
            assigned_at=T0,
            due_at=due_at,
        ),
        SOURCE,
        correlation_id=opinion_id,
    )


async def publish(broker_url: str, event: Envelope) -> None:  # type: ignore[type-arg]
    await publish_raw(
        broker_url,
        event.event_type,
        event.model_dump_json().encode(),
        message_id=str(event.event_id),
        content_type="application/json",
    )


async def test_timers_survive_a_restart_and_fire_once_each(env, broker_url) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    opinion_id = str(uuid.uuid4())
    due = T0 + timedelta(days=10)
    app = scheduling_app(clock=clock)
    due_soon, overdue = await listen(broker_url, "opinion.due_soon.v1"), await listen(broker_url, "opinion.overdue.v1")
    async with running(app):
        await publish(broker_url, assigned(opinion_id, due))
        timers = app.state.runtime.db["timers"]

        async def four_timers() -> bool:
            return await timers.count_documents({"opinion_id": opinion_id}) == 4

        await eventually(four_timers, what="reminders 7, 3, 1 days before and the overdue timer")
        # Redelivery of the same event adds nothing (timer ids derive from the opinion); a reassignment
        # (same due date, another agency) adds nothing either but reminds the agency now named.
        await publish(broker_url, assigned(opinion_id, due))
        await publish(broker_url, assigned(opinion_id, due, agency_id="vp"))
        marker = str(uuid.uuid4())
        await publish(broker_url, assigned(marker, due))

        async def marker_done() -> bool:
            return await timers.count_documents({"opinion_id": marker}) == 4

        await eventually(marker_done, what="a later event to be processed")
        assert await timers.count_documents({"opinion_id": opinion_id, "agency.id": "vp"}) == 4

    # The service is down while the first reminder falls due; a new process fires it.
    clock.set(T0 + timedelta(days=3, hours=12))
    app = scheduling_app(clock=clock)
    async with running(app):

        async def first_reminder() -> bool:
            return await message_count(broker_url, due_soon) == 2

        await eventually(first_reminder, what="the 7-day reminder after the restart")
        clock.set(due + timedelta(seconds=1))

        async def all_fired() -> bool:
            return await message_count(broker_url, due_soon) == 6 and await message_count(broker_url, overdue) == 2

        await eventually(all_fired, what="the other reminders and the overdue event")
        service = app.state.scheduling
        assert await service.fire_due() == 0  # nothing fires twice

        # A crash between publishing and recording "fired" publishes again, with the same event id.
        await app.state.runtime.db["timers"].update_one(
            {"opinion_id": opinion_id, "kind": "overdue"}, {"$set": {"status": "pending"}}
        )
        assert await service.fire_due() == 1

    events = [body_of(m) for m in await drain(broker_url, due_soon)]
    reminders = [e for e in events if e["payload"]["opinion_id"] == opinion_id]
    assert sorted(r["payload"]["days_left"] for r in reminders) == [1, 3, 7]
    assert all(r["correlation_id"] == opinion_id for r in reminders)
    events = [body_of(m) for m in await drain(broker_url, overdue)]
    overdue = [e for e in events if e["payload"]["opinion_id"] == opinion_id]
    assert len(overdue) == 2 and overdue[0]["event_id"] == overdue[1]["event_id"]


async def test_an_answer_cancels_the_timers_even_if_it_arrives_first(env, broker_url) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(T0)
    app = scheduling_app(clock=clock)
    answered_first, answered_later = str(uuid.uuid4()), str(uuid.uuid4())
    async with running(app):
        repo = app.state.scheduling.repository

        def answer(opinion_id: str) -> Envelope[OpinionAnsweredV1]:
            return Envelope.new(
                OpinionAnsweredV1(
                    opinion_id=opinion_id,
                    tracking_code="YK-TEST-0002",
                    kind="on_the_spot",
                    text="Đã trả lời",
                    answered_by="Chủ tịch UBND",
                    answered_at=T0,
                ),
                SOURCE,
            )

        await publish(broker_url, answer(answered_first))
        await eventually(lambda: repo.is_closed(answered_first), what="the answer to be recorded")
        await publish(broker_url, assigned(answered_first, T0 + timedelta(days=30)))
        await publish(broker_url, assigned(answered_later, T0 + timedelta(days=30)))

        async def later_has_timers() -> bool:
            return (
                await app.state.runtime.db["timers"].count_documents(
                    {"opinion_id": answered_later, "status": "pending"}
                )
                == 4
            )

        await eventually(later_has_timers, what="timers of the second opinion")
        await publish(broker_url, answer(answered_later))

        async def cancelled() -> bool:
            return (
                await app.state.runtime.db["timers"].count_documents(
                    {"opinion_id": answered_later, "status": "cancelled"}
                )
                == 4
            )

        await eventually(cancelled, what="timers cancelled by the answer")
        assert await app.state.runtime.db["timers"].count_documents({"opinion_id": answered_first}) == 0
        clock.set(T0 + timedelta(days=31))
        assert await app.state.scheduling.fire_due() == 0
