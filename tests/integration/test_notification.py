"""Email through a real SMTP server (aiosmtpd): once per cause, through outages, in Vietnamese."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notification.app import create_app as notification_app
from shared.events import (
    AgencyRef,
    CitizenContact,
    Envelope,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionReceivedV1,
    Source,
)
from tests.integration.amqp import publish_raw
from tests.integration.harness import eventually, running

SOURCE = Source(level="ward", instance="test", service="test")
NOW = datetime.now(UTC)


@pytest.fixture
def env(service_env, monkeypatch):  # type: ignore[no-untyped-def]
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DOITHOAI_SMTP_TIMEOUT_S", "2")
    return service_env


async def publish(broker_url: str, event: Envelope) -> None:  # type: ignore[type-arg]
    await publish_raw(
        broker_url,
        event.event_type,
        event.model_dump_json().encode(),
        message_id=str(event.event_id),
        content_type="application/json",
    )


def assigned(opinion_id: str) -> Envelope[OpinionAssignedV1]:
    return Envelope.new(
        OpinionAssignedV1(
            opinion_id=opinion_id,
            tracking_code="YK-MAIL-0001",
            field="environment",
            head="committee_chair",
            agency=AgencyRef(id="mt", name="Tổ Môi trường", email="moitruong@example.vn"),
            channel="online",
            text="Bãi rác tự phát cạnh chợ Đồng Xuân",
            submitted_at=NOW,
            assigned_at=NOW,
            due_at=NOW + timedelta(days=30),
        ),
        SOURCE,
    )


async def test_a_redelivered_event_sends_no_second_mail(env, broker_url, smtp) -> None:  # type: ignore[no-untyped-def]
    mail = smtp.mail
    opinion_id = str(uuid.uuid4())
    received = Envelope.new(
        OpinionReceivedV1(
            opinion_id=opinion_id,
            tracking_code="YK-MAIL-0001",
            origin_instance="test",
            channel="online",
            text="Bãi rác tự phát",
            submitted_at=NOW,
            citizen=CitizenContact(name="Lê Thị Hoa", email="hoa@example.vn"),
        ),
        SOURCE,
    )
    event = assigned(opinion_id)
    app = notification_app()
    async with running(app):
        for _ in range(3):
            await publish(broker_url, event)
            await publish(broker_url, received)
        answered = Envelope.new(
            OpinionAnsweredV1(
                opinion_id=opinion_id,
                tracking_code="YK-MAIL-0001",
                kind="written",
                text="Đã dọn bãi rác và đặt biển cấm.",
                answered_by="Tổ Môi trường",
                document_number="45/UBND",
                answered_at=NOW,
            ),
            SOURCE,
        )
        await publish(broker_url, answered)

        async def three_mails() -> bool:
            return len(mail.messages()) >= 3

        await eventually(three_mails, what="agency notice, acknowledgement and answer")
        await asyncio.sleep(1.5)  # time for any duplicate to arrive
        sent = await app.state.notification.repository.notifications.find().to_list(None)

    messages = mail.messages()
    assert sorted(m["To"] for m in messages) == ["hoa@example.vn", "hoa@example.vn", "moitruong@example.vn"]
    assert len({m["Message-ID"] for m in messages}) == 3
    assert len(sent) == 3 and all(n["status"] == "sent" for n in sent)
    notice = next(m for m in messages if m["To"] == "moitruong@example.vn")
    assert notice["Subject"].startswith("[Phường Thử Nghiệm] Giao xử lý ý kiến YK-MAIL-0001")
    assert "Bãi rác tự phát cạnh chợ Đồng Xuân" in notice.get_content()
    answer = next(m for m in messages if "Trả lời" in m["Subject"])
    assert "45/UBND" in answer.get_content() and "Lê Thị Hoa" in answer.get_content()


async def test_mail_waits_for_the_smtp_server_and_is_delivered_once(env, broker_url, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.stop()
    app = notification_app()
    async with running(app):
        event = assigned(str(uuid.uuid4()))
        await publish(broker_url, event)
        notifications = app.state.notification.repository.notifications

        async def failed_attempt() -> dict | None:  # type: ignore[type-arg]
            doc = await notifications.find_one({"event_id": str(event.event_id)})
            return doc if doc and doc.get("last_error") else None

        doc = await eventually(failed_attempt, what="a failed delivery attempt to be recorded")
        assert doc["status"] == "queued" and doc["attempts"] >= 1
        assert smtp.mail.messages() == []

        smtp.start()

        async def delivered() -> bool:
            found = await notifications.find_one({"event_id": str(event.event_id)})
            return found["status"] == "sent"

        await eventually(delivered, timeout=30, what="delivery once the SMTP server is back")
        await asyncio.sleep(1)
    assert [m["To"] for m in smtp.mail.messages()] == ["moitruong@example.vn"]
