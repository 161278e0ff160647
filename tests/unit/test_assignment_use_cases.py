"""Assignment's rules through its use cases, on in-memory adapters: no broker, no database, a clock the
test holds. Escalation, promises, redirects, reassignment, news from above, concurrency."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.assignment.app import AssignmentSettings
from services.assignment.classification import RuleTable
from services.assignment.directory import Agency
from services.assignment.domain import (
    HopLimit,
    NoParent,
    NotReceivedHere,
    Place,
    PromiseRefused,
    SameAgency,
    TransitionRefused,
)
from services.assignment.jurisdiction import JurisdictionTable
from services.assignment.service import AssignmentService, UnknownAgency
from shared.clock import VIETNAM
from shared.domain import Story
from shared.events import (
    AnswerKind,
    Envelope,
    EscalationAcknowledgedV1,
    EscalationAnsweredV1,
    EscalationForwardedV1,
    EscalationRequestedV1,
    Head,
    OpinionReceivedV1,
    RedirectKind,
)
from shared.http.auth import Caller
from shared.storage.outbox import EventSource
from tests.unit.fakes import FakeAssignmentRepository, FakeDirectory, Published, clock, source

WARD = Place("phuong-a", "Phường A", "ward", parent="quan-b", parent_name="Quận B", parent_level="district")
DISTRICT = Place("quan-b", "Quận B", "district", parent="tp-c", parent_name="Thành phố C", parent_level="city")
TOP = Place("tp-c", "Thành phố C", "city")
AGENCIES = [
    Agency(id="dia-chinh", name="Công chức Địa chính - Xây dựng", level="ward", fields=["land", "construction"]),
    Agency(id="van-phong", name="Văn phòng HĐND và UBND", level="ward", fields=["administration"], default=True),
]
SECRETARY = Caller(roles=frozenset({"secretary"}), key_id="person:thu-ky", name="Nguyễn Thị Thư")
LAND = "Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho thửa đất số 45"


class World:
    def __init__(self, place: Place, jurisdiction: dict[str, str] | None = None) -> None:
        settings = AssignmentSettings()
        self.clock = clock()
        self.published = Published()
        self.repository = FakeAssignmentRepository(
            EventSource(source(instance=place.instance, level=place.level), self.clock), self.published
        )
        self.service = AssignmentService(
            self.repository,  # type: ignore[arg-type]
            FakeDirectory(AGENCIES),  # type: ignore[arg-type]
            RuleTable.from_yaml(settings.classification_rules),
            JurisdictionTable("ward", jurisdiction if jurisdiction is not None else {"land": "district"}),
            clock=self.clock,
            place=place,
            answer_days=30,
        )

    def received(self, text: str, **payload: Any) -> Envelope[OpinionReceivedV1]:
        opinion_id = str(uuid.uuid4())
        body = OpinionReceivedV1(
            opinion_id=opinion_id,
            tracking_code=f"YK-{opinion_id[:4].upper()}-0001",
            origin_instance=self.service.place.instance,
            channel="direct",
            text=text,
            submitted_at=self.clock.now(),
            **payload,
        )
        return Envelope.new(body, source("intake", self.service.place.instance), correlation_id=opinion_id)

    async def receive(self, text: str, **payload: Any) -> str:
        event = self.received(text, **payload)
        await self.service.assign(event)
        return event.payload.tracking_code


async def test_a_matter_beyond_the_ward_goes_up_with_its_reason_and_the_story_kept() -> None:
    ward = World(WARD)
    event = ward.received(LAND)
    await ward.service.assign(event)
    assert ward.published.types() == ["opinion.classified.v1", "opinion.escalated.v1", "escalation.requested.v1"]
    [request] = ward.published.to("quan-b")
    assert request.payload.chain == ["phuong-a"] and request.payload.field == "land"
    assert "thẩm quyền cấp quận/huyện" in request.payload.reason
    assert {e.correlation_id for e, _ in ward.published.items} == {event.correlation_id}
    assert all(e.causation_id == str(event.event_id) for e, _ in ward.published.items)
    stored = await ward.repository.get(event.payload.opinion_id)
    assert stored is not None and stored.status == "escalated" and stored.escalation["to"] == "quan-b"  # type: ignore[index]


async def test_within_authority_it_is_assigned_due_at_the_end_of_the_30th_day() -> None:
    ward = World(WARD)
    code = await ward.receive("Thủ tục xác nhận cư trú còn chậm, đề nghị rút ngắn thời gian")
    stored = await ward.repository.by_tracking_code(code)
    assert stored is not None and stored.status == "assigned" and stored.agency["id"] == "van-phong"  # type: ignore[index]
    due = stored.due_at.astimezone(VIETNAM)  # type: ignore[union-attr]
    assert (due.date() - ward.clock.now().astimezone(VIETNAM).date()).days == 30 and due.hour == 23
    assert ward.published.types() == ["opinion.classified.v1", "opinion.assigned.v1"]


async def test_a_redelivered_opinion_is_placed_once() -> None:
    ward = World(WARD)
    event = ward.received(LAND)
    await ward.service.assign(event)
    await ward.service.assign(event)
    assert ward.published.types().count("escalation.requested.v1") == 1


def request_from(child: Place, to: Place, *, chain: list[str], field: str = "land") -> Envelope[EscalationRequestedV1]:
    now = clock().now()
    body = EscalationRequestedV1(
        from_instance=child.instance,
        to_instance=to.instance,
        opinion_id=str(uuid.uuid4()),
        tracking_code="YK-CHLD-0001",
        origin_instance=chain[0],
        chain=chain,
        field=field,
        head=Head.COMMITTEE_CHAIR,
        channel="direct",
        text=LAND,
        submitted_at=now - timedelta(days=3),
        reason="vượt thẩm quyền",
        requested_at=now,
    )
    return Envelope.new(body, source(instance=child.instance), correlation_id="story-1")


async def test_the_parent_takes_it_acknowledges_down_and_counts_the_deadline_from_its_own_receipt() -> None:
    district = World(DISTRICT)
    await district.service.accept_escalation(request_from(WARD, DISTRICT, chain=["phuong-a"]))
    [ack] = district.published.to("phuong-a")
    assert ack.event_type == "escalation.acknowledged.v1" and ack.payload.holder_name == "Quận B"
    due = ack.payload.due_at.astimezone(VIETNAM).date()
    assert (due - district.clock.now().astimezone(VIETNAM).date()).days == 30  # from now, not from the ward's receipt


async def test_the_parent_forwards_what_is_still_beyond_it_and_stops_at_the_hop_limit() -> None:
    district = World(DISTRICT, {"land": "city"})
    await district.service.accept_escalation(request_from(WARD, DISTRICT, chain=["phuong-a"]))
    assert [e.event_type for e in district.published.to("phuong-a")] == ["escalation.forwarded.v1"]
    assert [e.event_type for e in district.published.to("tp-c")] == ["escalation.requested.v1"]
    assert district.published.to("tp-c")[0].payload.chain == ["phuong-a", "quan-b"]
    deep = World(DISTRICT, {"land": "city"})
    await deep.service.accept_escalation(request_from(WARD, DISTRICT, chain=["x1", "x2", "x3", "phuong-a"]))
    assert deep.published.to("tp-c") == [] and "escalation.acknowledged.v1" in deep.published.types()


async def test_one_answer_only_and_two_at_once_cannot_both_win() -> None:
    ward = World(WARD)
    code = await ward.receive("Thủ tục xác nhận cư trú còn chậm")
    first, second = await ward.service.load(code), await ward.service.load(code)
    await ward.service.answer(
        first, kind=AnswerKind.WRITTEN, text="Đã rút ngắn còn 2 ngày.", answered_by=None, head=None,
        document_number="15/UBND", by=SECRETARY,
    )  # fmt: skip
    with pytest.raises(TransitionRefused) as refused:
        await ward.service.answer(
            second, kind=AnswerKind.ON_THE_SPOT, text="Khác", answered_by=None, head=None, document_number=None,
            by=SECRETARY,
        )  # fmt: skip
    assert refused.value.current == "answered"
    stored = await ward.service.load(code)
    assert stored.answered["text"] == "Đã rút ngắn còn 2 ngày." and stored.answered["on_time"] is True  # type: ignore[index]
    assert stored.answered["answered_by"] == "Văn phòng HĐND và UBND"  # type: ignore[index]
    assert ward.repository.audit[-1]["action"] == "opinion.answered"
    assert ward.repository.audit[-1]["actor"] == "Nguyễn Thị Thư"


async def test_a_promise_is_never_later_than_the_rule_nor_in_the_past() -> None:
    ward = World(WARD)
    code = await ward.receive("Thủ tục xác nhận cư trú còn chậm")
    assignment = await ward.service.load(code)
    rule_due = assignment.due_at
    assert rule_due is not None
    with pytest.raises(PromiseRefused, match="later_than_rule"):
        await ward.service.promise(assignment, due=rule_due + timedelta(days=1), off_topic=False, by=SECRETARY)
    assignment = await ward.service.load(code)
    with pytest.raises(PromiseRefused, match="in_the_past"):
        await ward.service.promise(assignment, due=ward.clock.now() - timedelta(days=1), off_topic=False, by=SECRETARY)
    assignment = await ward.service.load(code)
    sooner = rule_due - timedelta(days=10)
    await ward.service.promise(assignment, due=sooner, off_topic=True, by=SECRETARY)
    stored = await ward.service.load(code)
    assert stored.due_at == sooner and stored.rule_due_at == rule_due and stored.promised["off_topic"] is True  # type: ignore[index]
    changed = [e for e in ward.published.internal() if e.event_type == "opinion.due_changed.v1"]
    assert len(changed) == 1 and "ngoài nội dung" in changed[0].payload.reason


async def test_reassigning_keeps_the_deadline_and_tells_the_new_agency() -> None:
    ward = World(WARD, {})
    code = await ward.receive(LAND)
    assignment = await ward.service.load(code)
    with pytest.raises(SameAgency):
        await ward.service.reassign(assignment, agency_id="dia-chinh", reason="x", by=SECRETARY)
    with pytest.raises(UnknownAgency):
        await ward.service.reassign(await ward.service.load(code), agency_id="khong-co", reason="x", by=SECRETARY)
    due = assignment.due_at
    ward.published.clear()
    await ward.service.reassign(
        await ward.service.load(code), agency_id="van-phong", reason="Hồ sơ do Văn phòng nhận", by=SECRETARY
    )
    [assigned] = ward.published.internal()
    assert assigned.event_type == "opinion.assigned.v1" and assigned.payload.agency.id == "van-phong"
    assert assigned.payload.due_at == due


async def test_complaints_are_redirected_only_where_they_were_received() -> None:
    ward = World(WARD, {})
    code = await ward.receive("Tôi khiếu nại quyết định xử phạt hành chính của phường")
    assignment = await ward.service.load(code)
    assert assignment.complaint_suspected is True
    await ward.service.redirect(assignment, kind=RedirectKind.COMPLAINT, reason="Khiếu nại hành chính", by=SECRETARY)
    assert (await ward.service.load(code)).status == "redirected"
    district = World(DISTRICT, {})
    await district.service.accept_escalation(request_from(WARD, DISTRICT, chain=["phuong-a"]))
    held = await district.service.load("YK-CHLD-0001")
    with pytest.raises(NotReceivedHere):
        await district.service.redirect(held, kind=RedirectKind.COMPLAINT, reason="x", by=SECRETARY)


async def test_escalating_by_hand_needs_a_parent_and_respects_the_hop_limit() -> None:
    top = World(TOP, {})
    code = await top.receive(LAND)
    with pytest.raises(NoParent):
        await top.service.escalate_by_hand(await top.service.load(code), reason="x", by=SECRETARY)
    district = World(DISTRICT, {})
    await district.service.accept_escalation(request_from(WARD, DISTRICT, chain=["x1", "x2", "x3", "phuong-a"]))
    with pytest.raises(HopLimit):
        await district.service.escalate_by_hand(await district.service.load("YK-CHLD-0001"), reason="x", by=SECRETARY)
    ward = World(WARD, {})
    code = await ward.receive(LAND)
    await ward.service.escalate_by_hand(await ward.service.load(code), reason="Cần vốn của quận", by=SECRETARY)
    [request] = ward.published.to("quan-b")
    assert request.payload.reason == "Cần vốn của quận"
    assert (await ward.service.load(code)).escalation["by"] == "operator Nguyễn Thị Thư"  # type: ignore[index]


def news(payload: Any, story: str = "story-1") -> Envelope[Any]:
    return Envelope.new(payload, source(instance="quan-b", level="district"), correlation_id=story)


async def test_news_from_above_is_taken_once_in_order_and_told_to_the_citizen() -> None:
    ward = World(WARD)
    event = ward.received(LAND)
    await ward.service.assign(event)
    oid, code, now = event.payload.opinion_id, event.payload.tracking_code, ward.clock.now()
    common = {"from_instance": "quan-b", "to_instance": "phuong-a", "opinion_id": oid, "tracking_code": code}
    accepted = news(EscalationAcknowledgedV1(
        **common, holder_instance="tp-c", holder_name="Thành phố C", holder_level="city", agency_name="Sở TN&MT",
        due_at=now + timedelta(days=30), acknowledged_at=now,
    ))  # fmt: skip
    forwarded_late = news(EscalationForwardedV1(
        **common, holder_instance="quan-b", holder_name="Quận B", holder_level="district", reason="x",
        forwarded_at=now,
    ))  # fmt: skip
    ward.published.clear()
    for message in (accepted, accepted, forwarded_late):  # a duplicate, then older news overtaken
        await ward.service.on_progress(message)
    assert ward.published.types() == ["opinion.escalation_updated.v1"]
    stored = await ward.service.load(code)
    assert stored.holder["name"] == "Thành phố C" and stored.holder["agency_name"] == "Sở TN&MT"  # type: ignore[index]
    answered = news(EscalationAnsweredV1(
        **common, holder_instance="tp-c", holder_name="Thành phố C", holder_level="city", kind=AnswerKind.WRITTEN,
        text="Đã cấp giấy chứng nhận.", answered_by="Sở TN&MT", answered_at=now + timedelta(days=5),
    ))  # fmt: skip
    await ward.service.on_progress(answered)
    [answer] = [e for e in ward.published.internal() if e.event_type == "opinion.answered.v1"]
    assert answer.payload.answering_instance == "tp-c" and answer.causation_id == str(answered.event_id)
    assert (await ward.service.load(code)).status == "answered"


async def test_the_middle_level_passes_news_down_to_the_child_it_came_from() -> None:
    district = World(DISTRICT, {"land": "city"})
    request = request_from(WARD, DISTRICT, chain=["phuong-a"])
    await district.service.accept_escalation(request)
    district.published.clear()
    now = district.clock.now()
    answered = Envelope.new(
        EscalationAnsweredV1(
            from_instance="tp-c", to_instance="quan-b", opinion_id=request.payload.opinion_id,
            tracking_code="YK-CHLD-0001", holder_instance="tp-c", holder_name="Thành phố C", holder_level="city",
            kind=AnswerKind.WRITTEN, text="Đã giải quyết.", answered_by="Sở TN&MT", answered_at=now,
        ),
        source(instance="tp-c", level="city"),
        correlation_id="story-1",
    )  # fmt: skip
    await district.service.on_progress(answered)
    [down] = district.published.to("phuong-a")
    assert down.event_type == "escalation.answered.v1" and down.payload.from_instance == "quan-b"
    assert down.payload.to_instance == "phuong-a" and district.published.internal() == []


def test_a_story_caused_by_an_event_keeps_its_correlation_and_names_its_cause() -> None:
    cause = news(EscalationAcknowledgedV1(
        from_instance="a", to_instance="b", opinion_id="o", tracking_code="t", holder_instance="c", holder_name="C",
        holder_level="city", agency_name="X", due_at=clock().now(), acknowledged_at=clock().now(),
    ), story="s-9")  # fmt: skip
    assert Story.caused_by(cause) == Story("s-9", str(cause.event_id))
