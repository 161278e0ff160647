"""Intake's rules through its use cases, on in-memory adapters: a submission is one opinion however often it
is sent, what the citizen sees never goes backwards, and the citizen's word comes only on an answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.intake.domain import NotAnswered, change_for
from services.intake.service import IntakeService
from shared.events import (
    AgencyRef,
    AnswerKind,
    Channel,
    Envelope,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionEscalatedV1,
)
from shared.http.auth import Caller
from shared.storage.outbox import EventSource
from tests.unit.fakes import FakeOpinionRepository, Published, clock, source

FRONT = Caller(roles=frozenset({"front"}), key_id="key-aaaaaaaaaaaa", name="Nguyễn Thị Thư")
TWIN = Caller(roles=frozenset({"front"}), key_id="key-bbbbbbbbbbbb", name="Nguyễn Thị Thư")


def world() -> tuple[IntakeService, FakeOpinionRepository, Published]:
    published = Published()
    c = clock()
    repository = FakeOpinionRepository(EventSource(source("intake"), c), published)
    return IntakeService(repository, clock=c, instance="phuong-a"), repository, published  # type: ignore[arg-type]


async def test_a_submission_is_stored_then_announced_with_its_own_story() -> None:
    service, repository, published = world()
    submitted = await service.submit(text="Đèn đường ngõ 12 hỏng", channel=Channel.DIRECT, entered_by=FRONT)
    assert published.items == []  # saved with its event; published when the caller says so
    await service.publish(submitted)
    [(event, _)] = published.items
    assert event.event_type == "opinion.received.v1" and event.correlation_id == submitted.opinion.opinion_id
    stored = await repository.by_id(submitted.opinion.opinion_id)
    assert stored is not None and stored["processed"] == [str(event.event_id)]
    assert stored["entered_by"]["actor"] == "Nguyễn Thị Thư"


async def test_the_same_idempotency_key_is_the_same_opinion_for_the_same_key_only() -> None:
    service, repository, _ = world()
    first = await service.submit(text="Rác", channel=Channel.ONLINE, entered_by=FRONT, idempotency_key="phieu-1")
    again = await service.submit(text="Rác", channel=Channel.ONLINE, entered_by=FRONT, idempotency_key="phieu-1")
    other = await service.submit(text="Rác", channel=Channel.ONLINE, entered_by=TWIN, idempotency_key="phieu-1")
    assert again.replayed and again.opinion.opinion_id == first.opinion.opinion_id and again.entries == []
    assert not other.replayed and other.opinion.opinion_id != first.opinion.opinion_id
    assert len(repository.docs) == 2


def event(payload: Any) -> Envelope[Any]:
    return Envelope.new(payload, source("assignment"), correlation_id="s")


async def test_what_the_citizen_sees_never_goes_backwards_and_each_event_counts_once() -> None:
    service, repository, _ = world()
    submitted = await service.submit(text="Xin cấp sổ đỏ", channel=Channel.DIRECT)
    oid, code, now = submitted.opinion.opinion_id, submitted.opinion.tracking_code, clock().now()
    escalated = event(OpinionEscalatedV1(
        opinion_id=oid, tracking_code=code, origin_instance="phuong-a", to_instance="quan-b", to_name="Quận B",
        reason="Thẩm quyền cấp quận", by="jurisdiction", escalated_at=now,
    ))  # fmt: skip
    assigned_late = event(OpinionAssignedV1(
        opinion_id=oid, tracking_code=code, field="land", head="committee_chair",
        agency=AgencyRef(id="dc", name="Địa chính"), channel="direct", text="x", submitted_at=now, assigned_at=now,
        due_at=now + timedelta(days=30),
    ))  # fmt: skip
    for e in (escalated, escalated, assigned_late):
        await service.record(e)
    doc = await repository.by_id(oid)
    assert doc is not None and doc["stage"] == 4 and doc["holder"] == "Quận B" and doc["agency"] is None
    assert [h["note"] for h in doc["history"]].count("Chuyển lên Quận B: Thẩm quyền cấp quận") == 1
    assert change_for(assigned_late.payload).before is not None


async def test_the_citizens_word_comes_only_on_an_answer_and_is_audited() -> None:
    service, repository, _ = world()
    submitted = await service.submit(text="Trạm y tế thiếu thuốc", channel=Channel.ONLINE)
    code = submitted.opinion.tracking_code
    citizen = Caller(roles=frozenset({"citizen"}), key_id=f"citizen:{code}", name="Người dân")
    with pytest.raises(NotAnswered):
        await service.give_feedback(code, satisfied=False, reason="Chưa có trả lời", by=citizen)
    answered = event(OpinionAnsweredV1(
        opinion_id=submitted.opinion.opinion_id, tracking_code=code, kind=AnswerKind.WRITTEN,
        text="Đã bổ sung thuốc.", answered_by="Trạm y tế", answered_at=clock().now(),
    ))  # fmt: skip
    await service.record(answered)
    opinion = await service.give_feedback(code, satisfied=False, reason="Vẫn thiếu thuốc hạ sốt", by=citizen)
    assert opinion.doc["feedback"]["satisfied"] is False
    stored = await repository.by_tracking_code(code)
    assert stored is not None and "Mặt trận xem xét lại" in stored["history"][-1]["note"]
    assert repository.audit == [{"action": "opinion.feedback", **citizen.as_record()}]
