"""Assignment's rules through its use cases, on in-memory adapters: no broker, no database, a clock the
test holds. Escalation, promises, redirects, reassignment, news from above, concurrency."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.assignment.app import CONFIG, AssignmentSettings
from services.assignment.classification import RuleTable
from services.assignment.directory import Agency
from services.assignment.domain import Assignment as AssignmentAggregate
from services.assignment.domain import (
    HopLimit,
    MergeRefused,
    NoParent,
    NotReceivedHere,
    OnTheSpotRefused,
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
    Conference,
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
            JurisdictionTable.of_levels("ward", jurisdiction if jurisdiction is not None else {"land": "district"}),
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
            text=text,
            submitted_at=self.clock.now(),
            **{"channel": "direct", **payload},
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
    assert "thẩm quyền của cấp quận/huyện" in request.payload.reason
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
            second, kind=AnswerKind.WRITTEN, text="Khác", answered_by=None, head=None, document_number="16/UBND",
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


# ---- the conference's clock -----------------------------------------------------------------------------

CONFERENCE_ID = "HN-2026-ABCDE"


def conference(world: World, status: str, *, starts_in: timedelta, closed_at: datetime | None = None) -> Conference:
    now = world.clock.now()
    snapshot = Conference(
        conference_id=CONFERENCE_ID, title="Hội nghị đối thoại quý I năm 2026", starts_at=now + starts_in,
        venue="Nhà văn hóa tổ dân phố số 5", chairs=[Head.PARTY_SECRETARY, Head.COMMITTEE_CHAIR], plan_year=2026,
        status=status, closed_at=closed_at,
    )  # fmt: skip
    world.repository.conferences[CONFERENCE_ID] = snapshot
    return snapshot


async def test_an_opinion_for_a_conference_waits_for_it_without_agency_deadline_or_escalation() -> None:
    ward = World(WARD)
    conference(ward, "announced", starts_in=timedelta(days=5))
    front = await ward.receive(LAND, channel="front_collected", conference_id=CONFERENCE_ID)  # beyond the ward
    direct = await ward.receive("Đèn đường ngõ 12 hỏng", channel="direct", conference_id=CONFERENCE_ID)
    for code in (front, direct):
        stored = await ward.repository.by_tracking_code(code)
        assert stored is not None and stored.status == "tabled" and stored.agency is None and stored.due_at is None
    assert ward.published.types() == ["opinion.classified.v1", "opinion.tabled.v1"] * 2  # nothing to scheduling


async def test_written_answers_are_due_30_days_after_the_conference_ends_not_after_receipt() -> None:
    ward = World(WARD)
    conference(ward, "announced", starts_in=timedelta(days=20))
    code = await ward.receive("Đèn đường ngõ 12 hỏng", channel="front_collected", conference_id=CONFERENCE_ID)
    ward.clock.advance(timedelta(days=20, hours=3))  # the conference day, after it closed
    held = conference(ward, "closed", starts_in=timedelta(hours=-3), closed_at=ward.clock.now())
    assignment = await ward.service.load(code)
    await ward.service.promise(assignment, due=None, off_topic=False, by=SECRETARY)
    due = assignment.due_at.astimezone(VIETNAM)  # type: ignore[union-attr]
    assert (due.date() - held.closed_at.astimezone(VIETNAM).date()).days == 30  # type: ignore[union-attr]
    assert assignment.agency["id"] == "van-phong" and assignment.status == "assigned"  # type: ignore[index]
    [assigned] = [e for e, _ in ward.published.items if e.event_type == "opinion.assigned.v1"]
    assert assigned.payload.conference_id == CONFERENCE_ID and assigned.payload.due_at == assignment.due_at
    with pytest.raises(PromiseRefused):  # and never later than that
        other = await ward.receive("Rác", channel="direct", conference_id=CONFERENCE_ID)
        late = datetime.combine(due.date() + timedelta(days=1), due.timetz())
        await ward.service.promise(await ward.service.load(other), due=late, off_topic=False, by=SECRETARY)


async def test_an_on_the_spot_answer_only_while_its_conference_sits_and_by_a_named_head() -> None:
    ward = World(WARD)
    conference(ward, "announced", starts_in=timedelta(days=5))
    code = await ward.receive("Đèn đường ngõ 12 hỏng", channel="direct", conference_id=CONFERENCE_ID)
    answer = {"kind": AnswerKind.ON_THE_SPOT, "text": "Tuần sau thay bóng đèn.", "answered_by": None,
              "head": Head.COMMITTEE_CHAIR, "document_number": None, "by": SECRETARY}  # fmt: skip
    with pytest.raises(OnTheSpotRefused, match="not_in_session"):
        await ward.service.answer(await ward.service.load(code), **answer)
    outside = await ward.receive("Thủ tục xác nhận cư trú chậm")
    with pytest.raises(OnTheSpotRefused, match="not_on_agenda"):
        await ward.service.answer(await ward.service.load(outside), **answer)
    conference(ward, "open", starts_in=timedelta(0))
    answered = await ward.service.answer(await ward.service.load(code), **answer)
    assert answered.status == "answered" and answered.answered["answered_by"] == "Chủ tịch UBND phường"  # type: ignore[index]


async def test_what_the_conference_left_unanswered_is_concluded_in_writing_and_a_cancelled_one_releases() -> None:
    ward = World(WARD)
    conference(ward, "closed", starts_in=timedelta(hours=-2), closed_at=ward.clock.now())
    answered_there = await ward.receive("Đèn hỏng", channel="direct", conference_id=CONFERENCE_ID)
    left = await ward.receive("Rác tồn đọng đầu ngõ 5", channel="front_collected", conference_id=CONFERENCE_ID)
    await ward.service.answer(
        await ward.service.load(answered_there), kind=AnswerKind.ON_THE_SPOT, text="Đã sửa.", answered_by=None,
        head=Head.COMMITTEE_CHAIR, document_number=None, by=SECRETARY,
    )  # fmt: skip
    concluded = conference(ward, "concluded", starts_in=timedelta(hours=-2), closed_at=ward.clock.now())
    assert await ward.service.settle_at_conclusion(concluded) == 1
    assert await ward.service.settle_at_conclusion(concluded) == 0  # a redelivery settles nothing twice
    settled = await ward.service.load(left)
    assert settled.status == "assigned" and settled.promised["by"] == "kết luận hội nghị"  # type: ignore[index]

    other = World(WARD)
    cancelled = conference(other, "announced", starts_in=timedelta(days=5))
    land = await other.receive(LAND, channel="front_collected", conference_id=CONFERENCE_ID)
    lamp = await other.receive("Đèn hỏng", channel="front_collected", conference_id=CONFERENCE_ID)
    assert await other.service.release_from(cancelled) == 2
    assert (await other.service.load(land)).status == "escalated"  # now beyond the ward, as outside a conference
    lamp_now = await other.service.load(lamp)
    assert lamp_now.status == "assigned" and lamp_now.conference_id is None


async def test_a_correction_keeps_the_earlier_answer_and_is_audited() -> None:
    ward = World(WARD)
    conference(ward, "open", starts_in=timedelta(0))
    code = await ward.receive("Đèn đường ngõ 12 hỏng", channel="direct", conference_id=CONFERENCE_ID)
    await ward.service.answer(
        await ward.service.load(code), kind=AnswerKind.ON_THE_SPOT, text="Thay bóng trong tháng 3.",
        answered_by=None, head=Head.COMMITTEE_CHAIR, document_number=None, by=SECRETARY,
    )  # fmt: skip
    corrected = await ward.service.correct_answer(
        await ward.service.load(code), text="Thay bóng trong tháng 4.", document_number=None,
        reason="Thư ký ghi nhầm tháng", by=SECRETARY,
    )  # fmt: skip
    assert corrected.answered["text"] == "Thay bóng trong tháng 4."  # type: ignore[index]
    assert corrected.corrections[0]["text"] == "Thay bóng trong tháng 3."
    assert "opinion.answer_corrected.v1" in ward.published.types()
    assert [a["action"] for a in ward.repository.audit][-1] == "opinion.answer_corrected"


def test_the_2025_table_keeps_provincial_matters_up_and_says_why() -> None:
    table = JurisdictionTable.from_yaml(CONFIG / "jurisdiction.yaml")
    assert table.within("ward", "land", "Đề nghị cấp sổ đỏ cho thửa đất số 45 tổ 5")
    assert not table.within("commune", "traffic", "Quốc lộ 5 đoạn qua xã xuống cấp nghiêm trọng")
    assert not table.within("commune", "traffic", "quoc lo 5 doan qua xa xuong cap")  # typed without accents
    authority = table.authority("land", "Bảng giá đất mới của thành phố cao quá")
    assert authority.level == "province" and authority.matched == "bảng giá đất"
    assert "151/2025/NĐ-CP" in authority.basis
    reason = AssignmentAggregate("x", field="land").escalation_reason_for(WARD, authority)
    assert "(căn cứ Luật Đất đai năm 2024; Nghị định 151/2025/NĐ-CP)" in reason and "(province)" not in reason


async def merge(ward: World, code: str, into: str) -> None:
    await ward.service.merge(await ward.service.load(code), await ward.service.load(into), reason=None, by=SECRETARY)


async def test_merged_opinions_wait_for_one_answer_that_reaches_every_cosigner() -> None:
    ward = World(WARD, jurisdiction={})
    flood = "Tổ dân phố 5 mưa to là ngập úng, đề nghị nạo vét rãnh thoát nước"
    first, again, third = [await ward.receive(flood) for _ in range(3)]
    primary, second = await ward.service.load(first), await ward.service.load(again)
    with pytest.raises(MergeRefused, match="same_opinion"):
        await ward.service.merge(primary, primary, reason=None, by=SECRETARY)
    ward.published.clear()
    await ward.service.merge(second, primary, reason="Cùng nội dung", by=SECRETARY)
    assert ward.published.types() == ["opinion.merged.v1"]
    merged = ward.published.items[0][0].payload
    assert (merged.tracking_code, merged.into_tracking_code, merged.merged_by) == (again, first, "Nguyễn Thị Thư")
    # Merging again changes nothing; the merged one cannot take co-signers, nor be answered on its own.
    await merge(ward, again, first)
    assert ward.published.types() == ["opinion.merged.v1"]
    with pytest.raises(MergeRefused, match="into_merged"):
        await ward.service.merge(
            await ward.service.load(third), await ward.service.load(again), reason=None, by=SECRETARY
        )
    with pytest.raises(MergeRefused, match="has_cosigners"):
        await ward.service.merge(
            await ward.service.load(first), await ward.service.load(third), reason=None, by=SECRETARY
        )
    with pytest.raises(TransitionRefused):
        await ward.service.answer(
            await ward.service.load(again), kind=AnswerKind.WRITTEN, text="Riêng", answered_by=None, head=None,
            document_number=None, by=SECRETARY,
        )  # fmt: skip
    await merge(ward, third, first)
    assert [c["tracking_code"] for c in (await ward.service.load(first)).cosigners] == [again, third]

    ward.published.clear()
    await ward.service.answer(
        await ward.service.load(first), kind=AnswerKind.WRITTEN, text="Đã nạo vét rãnh.", answered_by=None,
        head=None, document_number="45/UBND", by=SECRETARY,
    )  # fmt: skip
    answers = [e.payload for e, _ in ward.published.items if e.event_type == "opinion.answered.v1"]
    assert [(a.tracking_code, a.cosigner_of) for a in answers] == [(first, None), (again, first), (third, first)]
    assert {a.text for a in answers} == {"Đã nạo vét rãnh."} and len({e.event_id for e, _ in ward.published.items}) == 3
    assert (await ward.service.load(again)).status == "merged"  # counted as merged: one matter, three raised


async def test_an_escalated_opinion_or_an_answered_one_is_not_merged() -> None:
    ward = World(WARD)  # land goes to the district
    up = await ward.receive(LAND)
    here = await ward.receive("Đề nghị sửa đèn chiếu sáng ngõ 12")
    with pytest.raises(MergeRefused, match="not_open"):
        await merge(ward, here, up)
    assert (await ward.service.load(here)).status == "assigned"
