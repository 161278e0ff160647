"""Scheduling's rules through its use cases, on in-memory adapters: a conference's moves (urgent plans,
two people at once, a new date), and the answer clock's timers (once each, the same event id again)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.scheduling.domain import ConferencePlan
from services.scheduling.service import ConcurrentChange, ConferenceService, SchedulingService
from shared.deadlines import DayCount, DeadlinePolicy
from shared.events import AgencyRef, Envelope, Head, Invitee, OpinionAssignedV1
from shared.http.auth import Caller
from shared.storage.outbox import EventSource
from tests.unit.fakes import (
    FakeConferenceRepository,
    FakePublisher,
    FakeTimerRepository,
    Published,
    clock,
    source,
)

SECRETARY = Caller(roles=frozenset({"secretary"}), key_id="person:thu-ky", name="Nguyễn Thị Thư")


def world() -> tuple[SchedulingService, FakeConferenceRepository, FakeTimerRepository, Published]:
    c, published = clock(), Published()
    events = EventSource(source("scheduling"), c)
    conferences_repo, timers = FakeConferenceRepository(events, published), FakeTimerRepository()
    conferences = ConferenceService(
        conferences_repo,  # type: ignore[arg-type]
        timers,  # type: ignore[arg-type]
        clock=c,
        notice=DeadlinePolicy(days=3, count=DayCount.CALENDAR),
        dossier_before=timedelta(hours=24),
    )
    service = SchedulingService(
        timers, conferences, FakePublisher(published), events, clock=c, reminder_days=[7, 3, 1],  # type: ignore[arg-type]
        poll_interval_s=1,
    )  # fmt: skip
    return service, conferences_repo, timers, published


def plan(service: SchedulingService, days: float, **changes: object):  # type: ignore[no-untyped-def]
    body = {
        "title": "Hội nghị đối thoại quý I năm 2026",
        "starts_at": service.clock.now() + timedelta(days=days),
        "venue": "Nhà văn hóa tổ dân phố số 5",
        "chairs": [Head.COMMITTEE_CHAIR],
        "secretary": "Nguyễn Thị Thư",
        "expected_attendance": 80,
        "participant_groups": [],
        "topics": [],
        "complete_by": None,
        "urgent": False,
        "urgent_reason": None,
        "invitees": [Invitee(name="Ông Tổ", email="to@example.vn")],
    }
    return service.conferences.plan(ConferencePlan(**{**body, **changes}), by=SECRETARY)  # type: ignore[arg-type]


async def test_an_urgent_plan_is_announced_at_once_and_only_the_persons_step_is_audited() -> None:
    service, repo, timers, published = world()
    conference = await plan(service, 1, urgent=True, urgent_reason="Ngập úng sau mưa lớn")
    assert conference.status == "announced" and conference.doc["version"] == 2
    assert [(e.payload.change, e.payload.version) for e, _ in published.items] == [("planned", 1), ("announced", 2)]
    assert all(e.correlation_id == f"conference:{conference.id}" for e, _ in published.items)
    assert [a["action"] for a in repo.audit] == ["conference.planned"]
    kinds = sorted(t["kind"] for t in timers.timers.values())  # the announcement, the dossier, what arrives since
    assert kinds == ["conference_announce", "conference_dossier", "conference_dossier_update"], kinds
    [first] = [t for t in timers.timers.values() if t["kind"] == "conference_dossier"]
    [update] = [t for t in timers.timers.values() if t["kind"] == "conference_dossier_update"]
    assert first["fire_at"] == service.clock.now() and update["fire_at"] == first["starts_at"] - timedelta(hours=2)


async def test_two_people_moving_one_conference_at_once_cannot_both_win() -> None:
    service, repo, _, _ = world()
    conference = await plan(service, 10)
    await service.conferences.act(conference.id, "announce", by=SECRETARY)
    with pytest.raises(ConcurrentChange):  # moved by someone else between loading and saving
        original = repo.get

        async def stale(conference_id: str):  # type: ignore[no-untyped-def]
            copy = await original(conference_id)
            copy.loaded_version -= 1
            return copy

        repo.get = stale  # type: ignore[method-assign]
        await service.conferences.act(conference.id, "open", by=SECRETARY)
    repo.get = original  # type: ignore[method-assign]
    first, second = await repo.get(conference.id), await repo.get(conference.id)
    first.move("open", by="a", reason=None, starts_at=None, now=service.clock.now(), notice=service.conferences.notice)
    assert await repo.save(first)
    second.move(
        "postpone", by="b", reason="x", starts_at=None, now=service.clock.now(), notice=service.conferences.notice
    )
    assert not await repo.save(second)
    assert (await repo.get(conference.id)).status == "open"  # type: ignore[union-attr]


async def test_a_new_date_gets_new_timers_and_the_old_ones_are_called_off() -> None:
    service, repo, timers, published = world()
    conference = await plan(service, 10)
    old = set(timers.timers)
    new_date = service.clock.now() + timedelta(days=20)
    moved = await service.conferences.act(
        conference.id, "reschedule", by=SECRETARY, reason="Trùng lịch", starts_at=new_date
    )
    assert moved.status == "planned" and moved.doc["starts_at"] == new_date
    assert {timers.timers[t]["status"] for t in old} == {"cancelled"}
    assert len([t for t in timers.timers.values() if t["status"] == "pending"]) == 3
    assert [a["action"] for a in repo.audit] == ["conference.planned", "conference.reschedule"]
    [rescheduled] = [e for e, _ in published.items if e.payload.change == "rescheduled"]
    assert rescheduled.payload.previous_starts_at == conference.doc["starts_at"] != new_date


async def test_each_timer_fires_once_and_again_with_the_same_event_id_after_a_crash() -> None:
    service, _, timers, published = world()
    now, opinion_id = service.clock.now(), str(uuid.uuid4())
    assigned = Envelope.new(
        OpinionAssignedV1(
            opinion_id=opinion_id, tracking_code="YK-TIME-0001", field="land", head=Head.COMMITTEE_CHAIR,
            agency=AgencyRef(id="dc", name="Địa chính"), channel="direct", text="x", submitted_at=now, assigned_at=now,
            due_at=now + timedelta(days=10),
        ),
        source("assignment"),
        correlation_id=opinion_id,
    )  # fmt: skip
    await service.start_clock(assigned)
    await service.start_clock(assigned)  # redelivered: nothing more
    assert len(timers.timers) == 4
    service.clock.advance(timedelta(days=3, minutes=1))  # 7 days before the deadline
    assert await service.fire_due() == 1
    assert await service.fire_due() == 0
    [(reminder, _)] = published.items
    assert reminder.event_type == "opinion.due_soon.v1" and reminder.payload.days_left == 7
    assert reminder.correlation_id == opinion_id
    fired = next(t for t in timers.timers.values() if t["kind"] == "due_soon" and t["days_left"] == 7)
    fired["status"] = "pending"  # the process died after publishing, before recording it
    await service.fire_due()
    assert published.items[-1][0].event_id == reminder.event_id  # the consumer will know it
