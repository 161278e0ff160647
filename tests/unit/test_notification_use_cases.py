"""Notification's rules through its use cases, on in-memory adapters and the real templates: a message is
stored before it is sent and sent once per cause, temporary failures are retried with backoff until the
limit, an agency confirms a notice once, an unconfirmed one brings one reminder, and an operator's retry
is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notification.channels import Address, Delivered, Message, PermanentFailure, TemporaryFailure
from services.notification.domain import ACKNOWLEDGED, FAILED, QUEUED, SENT, DeliveryPolicy, NotAcknowledgeable
from services.notification.messages import Meanings
from services.notification.rendering import Templates
from services.notification.service import AckLinks, Delivery
from shared.agencies import AgencyRecord
from shared.events import AgencyRef, Envelope, OpinionAnsweredV1, OpinionAssignedV1, OpinionReceivedV1
from shared.http.auth import Caller
from shared.messaging.consumer import TransientError
from shared.storage.outbox import EventSource
from shared.units import Unit
from tests.unit.fakes import FakeNotificationStore, Published, clock, source

POLICY = DeliveryPolicy(
    max_attempts=3, backoff_s=30, backoff_max_s=3600, lease=timedelta(0), ack_reminder_after=timedelta(days=2)
)
CLERK = Caller(roles=frozenset({"agency"}), key_id="key-cccccccccccc", name="Lê Văn Tâm", agency_id="dia-chinh")
OPERATOR = Caller(roles=frozenset({"operator"}), key_id="key-dddddddddddd", name="Phạm Minh Khoa")
LAND_OFFICE = AgencyRecord(
    id="dia-chinh", name="Công chức Địa chính – Xây dựng", level="ward", fields=["land"], email="diachinh@phuong-a.vn"
)


class Channel:
    """A channel that answers as scripted (then succeeds) and keeps what it was given."""

    name = "email"

    def __init__(self, *outcomes: Exception | Delivered) -> None:
        self.outcomes = list(outcomes)
        self.given: list[tuple[Message, Address]] = []

    async def deliver(self, message: Message, address: Address) -> Delivered:
        self.given.append((message, address))
        outcome = self.outcomes.pop(0) if self.outcomes else Delivered()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Directory:
    async def get(self, agency_id: str) -> AgencyRecord | None:
        return LAND_OFFICE if agency_id == LAND_OFFICE.id else None

    async def webhook_secret(self, agency_id: str) -> str | None:
        return None


class World:
    def __init__(self, channel: Channel) -> None:
        self.clock = clock()
        self.published = Published()
        self.store = FakeNotificationStore(EventSource(source("notification"), self.clock), self.published)
        self.channel = channel
        self.acks = AckLinks("bi-mat-ky-lien-ket-xac-nhan", "https://thongbao.phuong-a.vn")
        self.delivery = Delivery(
            self.store, Directory(), Templates(), {"email": channel}, POLICY, self.acks, clock=self.clock
        )
        self.meanings = Meanings(
            self.store,  # type: ignore[arg-type]
            Directory(),  # type: ignore[arg-type]
            self.delivery.send,
            instance_id="phuong-a",
            unit=Unit("ward", "Phường An Khánh"),
            console_url="https://doithoai.phuong-a.vn",
        )

    def only(self) -> dict[str, Any]:
        [doc] = self.store.docs.values()
        return doc


def assigned(opinion_id: str = "op-1") -> Envelope[OpinionAssignedV1]:
    now = clock().now()
    return Envelope.new(
        OpinionAssignedV1(
            opinion_id=opinion_id, tracking_code="PA-26-00017", field="land", head="committee_chair",
            agency=AgencyRef(id="dia-chinh", name="Địa chính"), channel="direct",
            text="Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho 12 hộ tổ dân phố 5, hồ sơ nộp từ 2023.",
            submitted_at=now, assigned_at=now, due_at=now + timedelta(days=30),
        ),
        source("assignment"),
        correlation_id=opinion_id,
    )  # fmt: skip


async def test_a_notice_is_stored_then_sent_once_however_often_its_event_comes() -> None:
    world = World(Channel())
    event = assigned()
    await world.meanings.on_assigned(event)
    await world.meanings.on_assigned(event)  # the broker redelivers
    doc = world.only()
    assert doc["status"] == SENT and doc["attempts"] == 1 and doc["awaiting_ack"] is True
    [(message, address)] = world.channel.given
    assert address.value == "diachinh@phuong-a.vn" and "PA-26-00017" in message.subject
    assert message.ack_url == world.acks.url(doc["_id"]) and world.acks.valid(doc["_id"], world.acks.token(doc["_id"]))
    assert "12 hộ tổ dân phố 5" in message.body


async def test_a_temporary_failure_is_retried_with_backoff_until_the_limit_then_failed_and_announced() -> None:
    world = World(Channel(*(TemporaryFailure("421 máy chủ thư bận") for _ in range(3))))
    await world.meanings.on_assigned(assigned())
    doc = world.only()
    assert doc["status"] == QUEUED and doc["attempts"] == 1 and doc["last_error"] == "421 máy chủ thư bận"
    assert timedelta(seconds=14) < doc["next_attempt_at"] - datetime.now(UTC) <= timedelta(seconds=45)
    assert await world.delivery.deliver_due() == 0  # not due yet: the first retry waits 15–45 s
    for _ in range(2):
        world.store.docs[doc["_id"]]["next_attempt_at"] = doc["created_at"] - timedelta(days=1)
        assert await world.delivery.deliver_due() == 1
    doc = world.only()
    assert doc["status"] == FAILED and doc["attempts"] == 3 and "gave up after 3 attempts" in doc["last_error"]
    assert len(world.channel.given) == 3 and world.published.types() == ["notification.failed.v1"]
    [(failed, _)] = world.published.items
    assert failed.payload.agency_id == "dia-chinh" and failed.correlation_id == "op-1"
    assert await world.delivery.deliver_due() == 0  # failed: waits for an operator


async def test_a_permanent_failure_is_not_retried_and_an_operator_retry_is_audited() -> None:
    world = World(Channel(PermanentFailure("550 hộp thư không tồn tại")))
    await world.meanings.on_assigned(assigned())
    doc = world.only()
    assert doc["status"] == FAILED and doc["attempts"] == 1
    again, retried = await world.delivery.retry(doc["_id"], OPERATOR)
    assert retried and again.status == QUEUED and world.store.audit[0]["action"] == "notification.retried"
    assert await world.delivery.deliver_due() == 1
    assert world.only()["status"] == SENT and len(world.channel.given) == 2
    _, retried = await world.delivery.retry(doc["_id"], OPERATOR)
    assert not retried and len(world.store.audit) == 1  # only a failed one; nothing recorded


async def test_an_agency_confirms_once_and_only_what_was_sent_to_it() -> None:
    world = World(Channel())
    await world.meanings.on_assigned(assigned())
    nid = world.only()["_id"]
    for _ in range(2):
        confirmed = await world.delivery.acknowledge(nid, via="api", actor=CLERK)
        assert confirmed.status == ACKNOWLEDGED
    assert world.published.types() == ["notification.acknowledged.v1"]
    assert [(a["action"], a["actor"]) for a in world.store.audit] == [("notification.acknowledged", "Lê Văn Tâm")]
    assert world.only()["awaiting_ack"] is False
    assert await world.delivery.remind_unacknowledged() == 0


async def test_a_citizen_notice_cannot_be_acknowledged() -> None:
    world = World(Channel())
    received = Envelope.new(
        OpinionReceivedV1(
            opinion_id="op-2", tracking_code="PA-26-00018", channel="online", text="Đèn đường ngõ 12 hỏng",
            submitted_at=clock().now(), origin_instance="phuong-a",
            citizen={"name": "Trần Thị Hoa", "email": "hoa@example.vn"},
        ),
        source("intake"), correlation_id="op-2",
    )  # fmt: skip
    await world.meanings.on_received(received)
    doc = world.only()
    assert doc["type"] == "citizen_ack" and doc["status"] == SENT and not doc["awaiting_ack"]
    with pytest.raises(NotAcknowledgeable):
        await world.delivery.acknowledge(doc["_id"], via="api", actor=CLERK)


async def test_a_receiver_that_confirms_in_its_reply_needs_no_reminder() -> None:
    world = World(Channel(Delivered(acknowledged=True)))
    await world.meanings.on_assigned(assigned())
    doc = world.only()
    assert doc["status"] == ACKNOWLEDGED and doc["acknowledged_via"] == "email" and world.store.audit == []
    world.clock.advance(timedelta(days=3))
    assert await world.delivery.remind_unacknowledged() == 0


async def test_an_unconfirmed_notice_brings_one_reminder_after_two_days_with_the_notice_s_link() -> None:
    world = World(Channel())
    await world.meanings.on_assigned(assigned())
    notice = world.only()
    world.clock.advance(timedelta(days=1, hours=23))
    assert await world.delivery.remind_unacknowledged() == 0
    world.clock.advance(timedelta(hours=2))
    assert await world.delivery.remind_unacknowledged() == 1
    assert await world.delivery.remind_unacknowledged() == 0  # once only
    reminder = next(d for d in world.store.docs.values() if d["type"] == "ack_reminder")
    assert reminder["status"] == SENT and reminder["ack_for"] == notice["_id"]
    message = world.channel.given[-1][0]
    assert message.ack_url == world.acks.url(notice["_id"])  # confirming the reminder confirms the notice
    assert "Đề nghị xác nhận" in message.subject


async def test_a_citizen_without_contact_gets_nothing_and_an_answer_waits_for_the_contact() -> None:
    world = World(Channel())
    now = clock().now()
    answered = Envelope.new(
        OpinionAnsweredV1(
            opinion_id="op-3", tracking_code="PA-26-00019", kind="written", answered_by="Chủ tịch UBND phường",
            text="Đã chỉ đạo sửa đèn.", answered_at=now,
        ),
        source("assignment"), correlation_id="op-3",
    )  # fmt: skip
    with pytest.raises(TransientError):  # the receipt (with the contact) comes on another queue
        await world.meanings.on_answered(answered)
    received = Envelope.new(
        OpinionReceivedV1(
            opinion_id="op-3", tracking_code="PA-26-00019", channel="direct", text="Đèn", submitted_at=now,
            origin_instance="phuong-a",
        ),
        source("intake"), correlation_id="op-3",
    )  # fmt: skip
    await world.meanings.on_received(received)
    await world.meanings.on_answered(answered)
    assert world.store.docs == {} and world.channel.given == []


@pytest.mark.parametrize("attempts", [1, 2, 5, 8, 30])
def test_the_retry_delay_doubles_with_jitter_and_never_passes_the_cap(attempts: int) -> None:
    base = 30 * 2 ** (attempts - 1)
    low, high = POLICY.next_attempt(attempts, jitter=0.5), POLICY.next_attempt(attempts, jitter=1.5)
    assert low == timedelta(seconds=min(3600, base * 0.5)) and high == timedelta(seconds=min(3600, base * 1.5))
    assert all(POLICY.next_attempt(attempts) <= timedelta(hours=1) for _ in range(200))
