"""Delivery to agencies and citizens through real servers: SMTP (aiosmtpd), webhooks and an SMS gateway
served over real HTTP; retries, receipts, the directory, and failures an operator can see and retry."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest

from services.notification.app import create_app as notification_app
from services.notification.channels import Address, Message, PermanentFailure, post
from services.notification.channels.destinations import AllowList
from services.notification.channels.webhook import WebhookChannel
from shared.agencies import AgencyRecord
from shared.events import (
    AgencyRef,
    CitizenContact,
    Envelope,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionReceivedV1,
    Source,
)
from tests.integration.amqp import body_of, drain, listen, message_count, publish_raw
from tests.integration.harness import eventually, headers, running
from tests.integration.receivers import RawReplier, SmsGateway, WebhookReceiver, serve

SOURCE = Source(level="ward", instance="test", service="test")
NOW = datetime.now(UTC)
OPERATOR = headers("operator-key")
SECRET = "agency-webhook-secret-0123456789"
LOOPBACK_ALLOWED = '["127.0.0.0/8"]'  # the test receivers listen on 127.0.0.1, internal by default
MARKER = "guest:guest-management-api-secret"  # what a receiver's reply must never bring back to operators


@pytest.fixture
def env(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_SMTP_TIMEOUT_S", "2")
    monkeypatch.setenv("DOITHOAI_DELIVERY_BACKOFF_S", "0.3")
    monkeypatch.setenv("DOITHOAI_DELIVERY_POLL_S", "0.1")
    return env


async def publish(broker_url: str, event: Envelope) -> None:  # type: ignore[type-arg]
    await publish_raw(broker_url, event.event_type, event.model_dump_json().encode(),
                      message_id=str(event.event_id), content_type="application/json")  # fmt: skip


def assigned(opinion_id: str, agency_id: str = "phong-kinh-te", email: str | None = None) -> Envelope:  # type: ignore[type-arg]
    return Envelope.new(
        OpinionAssignedV1(
            opinion_id=opinion_id, tracking_code="YK-MAIL-0001", field="environment", head="committee_chair",
            agency=AgencyRef(id=agency_id, name="Tổ Môi trường", email=email), channel="online",
            text="Bãi rác tự phát cạnh chợ Đồng Xuân", submitted_at=NOW, assigned_at=NOW,
            due_at=NOW + timedelta(days=30),
        ),
        SOURCE,
    )  # fmt: skip


async def notifications(client, **query) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    return (await client.get("/api/v1/notifications", params=query, headers=OPERATOR)).json()


async def test_a_redelivered_event_sends_no_second_mail(env, broker_url, smtp) -> None:  # type: ignore[no-untyped-def]
    mail = smtp.mail
    opinion_id = str(uuid.uuid4())
    received = Envelope.new(
        OpinionReceivedV1(
            opinion_id=opinion_id, tracking_code="YK-MAIL-0001", origin_instance=env["DOITHOAI_INSTANCE_ID"],
            channel="online", text="Bãi rác tự phát", submitted_at=NOW,
            citizen=CitizenContact(name="Lê Thị Hoa", email="hoa@example.vn"),
        ),
        SOURCE,
    )  # fmt: skip
    event = assigned(opinion_id)
    app = notification_app()
    async with running(app) as (client,):
        for _ in range(3):
            await publish(broker_url, event)
            await publish(broker_url, received)
        answered = Envelope.new(
            OpinionAnsweredV1(opinion_id=opinion_id, tracking_code="YK-MAIL-0001", kind="written",
                              text="Đã dọn bãi rác và đặt biển cấm.", answered_by="Tổ Môi trường",
                              document_number="45/UBND", answered_at=NOW),
            SOURCE,
        )  # fmt: skip
        await publish(broker_url, answered)

        async def three_mails() -> bool:
            return len(mail.messages()) >= 3

        await eventually(three_mails, what="agency notice, acknowledgement and answer")
        await asyncio.sleep(1.5)  # time for any duplicate to arrive
        sent = await notifications(client, opinion_id=opinion_id)

    messages = mail.messages()
    agency = f"kinhte@{env['DOITHOAI_INSTANCE_ID']}.example.vn"
    assert sorted(m["To"] for m in messages) == sorted(["hoa@example.vn", "hoa@example.vn", agency])
    assert len({m["Message-ID"] for m in messages}) == 3
    assert len(sent) == 3 and all(n["status"] == "sent" for n in sent)
    notice = next(m for m in messages if m["To"] == agency)
    assert notice["Subject"].startswith("[Phường Thử Nghiệm] Giao xử lý ý kiến YK-MAIL-0001")
    assert "Bãi rác tự phát cạnh chợ Đồng Xuân" in notice.get_content()
    answer = next(m for m in messages if "Trả lời" in m["Subject"])
    assert "45/UBND" in answer.get_content() and "Lê Thị Hoa" in answer.get_content()


async def test_mail_waits_for_the_smtp_server_and_is_delivered_once(env, broker_url, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.stop()
    app = notification_app()
    async with running(app) as (client,):
        event = assigned(str(uuid.uuid4()))
        await publish(broker_url, event)

        async def retrying():  # type: ignore[no-untyped-def]
            found = await notifications(client, opinion_id=event.payload.opinion_id)
            return found if found and found[0]["attempts"] >= 2 else None

        [doc] = await eventually(retrying, what="failed attempts to be recorded and retried")
        assert doc["status"] == "queued" and "unreachable" in doc["last_error"]
        assert await message_count(broker_url, "notification.events") == 0  # the event was acked
        assert smtp.mail.messages() == []

        smtp.start()

        async def delivered() -> bool:
            found = await notifications(client, opinion_id=event.payload.opinion_id)
            return found[0]["status"] == "sent"

        await eventually(delivered, timeout=30, what="delivery once the SMTP server is back")
        await asyncio.sleep(1)
    assert [m["Message-ID"] for m in smtp.mail.messages()] == [f"<{doc['id']}@doithoai>"]


async def test_webhook_500_then_200_signed_and_acknowledged_by_the_reply(env, broker_url, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_WEBHOOK_ALLOWED_NETWORKS", LOOPBACK_ALLOWED)
    receiver = WebhookReceiver(SECRET, statuses=[500, 503])
    with serve(receiver) as url:
        app = notification_app()
        async with running(app) as (client,):
            r = await client.put(
                "/api/v1/agencies/to-moi-truong",
                json={"name": "Tổ Môi trường", "fields": ["environment"], "webhook_url": url,
                      "webhook_secret": SECRET, "channels": ["webhook"]},
                headers=OPERATOR,
            )  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["has_webhook_secret"] is True and "webhook_secret" not in r.json()
            event = assigned(str(uuid.uuid4()), agency_id="to-moi-truong")
            await publish(broker_url, event)

            async def acknowledged():  # type: ignore[no-untyped-def]
                found = await notifications(client, agency_id="to-moi-truong")
                return found if found and found[0]["status"] == "acknowledged" else None

            [doc] = await eventually(acknowledged, what="the webhook to be delivered and acknowledged")
            assert doc["attempts"] == 3 and doc["channel"] == "webhook"
            await publish(broker_url, event)  # a redelivery sends nothing more
            await asyncio.sleep(1)

    assert receiver.calls == 3 and receiver.rejected == []
    [payload] = receiver.accepted
    assert payload["tracking_code"] == "YK-MAIL-0001" and payload["type"] == "assignment_notice"
    assert payload["subject"].startswith("[Phường Thử Nghiệm] Giao xử lý") and payload["ack_url"]
    # The receiver refuses what was not signed with its secret, and replays.
    assert receiver.verify({"x-doithoai-timestamp": "1", "x-doithoai-signature": "sha256=00"}, b"{}") == "bad signature"
    waiting = [body_of(m) for m in await drain(broker_url, "intake.events")]  # intake is not running
    acks = [e for e in waiting if e["event_type"] == "notification.acknowledged.v1"]
    assert [a["payload"]["via"] for a in acks] == ["webhook"]


async def test_sms_through_the_gateway_and_acknowledgement_by_link_or_api(env, broker_url, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    gateway = SmsGateway(token="gw-token")
    with serve(gateway) as url:
        monkeypatch.setenv("DOITHOAI_SMS_GATEWAY_URL", url)
        monkeypatch.setenv("DOITHOAI_SMS_GATEWAY_TOKEN", "gw-token")
        app = notification_app()
        async with running(app) as (client,):
            r = await client.put(
                "/api/v1/agencies/cong-an",
                json={"name": "Công an phường", "fields": ["security_order"], "email": "congan@example.vn",
                      "phone": "+84912345678", "channels": ["sms", "email"]},
                headers=OPERATOR,
            )  # fmt: skip
            assert r.status_code == 200, r.text
            event = assigned(str(uuid.uuid4()), agency_id="cong-an")
            await publish(broker_url, event)

            async def both_sent():  # type: ignore[no-untyped-def]
                found = await notifications(client, agency_id="cong-an")
                return found if len(found) == 2 and all(n["status"] == "sent" for n in found) else None

            found = await eventually(both_sent, what="an SMS and a mail")
            [sms] = gateway.messages
            assert sms["to"] == "+84912345678" and "YK-MAIL-0001" in sms["text"] and len(sms["text"]) <= 160

            # The mail carries a link; opening it only shows a button, the button acknowledges.
            [mail] = [m for m in smtp.mail.messages() if m["To"] == "congan@example.vn"]
            link = re.search(r"http://\S+/ack\?token=\w+", mail.get_content()).group(0)  # type: ignore[union-attr]
            path = link.split("8104", 1)[-1] if "8104" in link else link[link.index("/api/") :]
            page = await client.get(path)
            assert page.status_code == 200 and "Xác nhận đã nhận" in page.text
            email_doc = next(n for n in found if n["channel"] == "email")
            assert (await client.get(f"/api/v1/notifications/{email_doc['id']}", headers=OPERATOR)).json()[
                "status"
            ] == "sent"
            token = path.split("token=")[1]
            forged = await client.post(path.split("?")[0], data={"token": "0" * 32})
            assert forged.status_code == 403
            done = await client.post(path.split("?")[0], data={"token": token})
            assert done.status_code == 200 and "Đã xác nhận" in done.text
            view = (await client.get(f"/api/v1/notifications/{email_doc['id']}", headers=OPERATOR)).json()
            assert view["status"] == "acknowledged"

            sms_doc = next(n for n in found if n["channel"] == "sms")
            # Another agency's key cannot acknowledge it; the police's own key can.
            r = await client.post(f"/api/v1/notifications/{sms_doc['id']}/acknowledge", headers=headers("agency-key"))
            assert r.status_code == 403 and r.json()["error"]["code"] == "other_agency"
            r = await client.post(
                f"/api/v1/notifications/{sms_doc['id']}/acknowledge", headers=headers("agency-key-cong-an")
            )
            assert r.status_code == 200 and r.json()["status"] == "acknowledged"
            # Both receipts are in the audit trail: who (the agency the link was sent to, the key's holder),
            # how, and from where.
            trail = (
                await client.get("/api/v1/audit", params={"action": "notification.acknowledged"}, headers=OPERATOR)
            ).json()
            seen = {(e["target"], e["details"]["via"], e["actor"], e["agency_id"]) for e in trail}
            assert seen == {
                (email_doc["id"], "link", "Công an phường", "cong-an"),
                (sms_doc["id"], "api", "Công an phường", "cong-an"),
            }
            assert all(e["from_address"] for e in trail)


async def test_an_unacknowledged_notice_brings_one_reminder(env, broker_url, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_ACK_REMINDER_AFTER_S", "0.5")
    app = notification_app()
    async with running(app) as (client,):
        event = assigned(str(uuid.uuid4()))
        await publish(broker_url, event)

        async def sent() -> bool:
            found = await notifications(client, opinion_id=event.payload.opinion_id)
            return bool(found) and found[0]["status"] == "sent"

        await eventually(sent, what="the notice")
        await asyncio.sleep(0.6)
        service = app.state.notification.delivery
        assert await service.remind_unacknowledged() == 1
        assert await service.remind_unacknowledged() == 0  # once only

        async def reminded():  # type: ignore[no-untyped-def]
            return [m for m in smtp.mail.messages() if "Đề nghị xác nhận" in m["Subject"]]

        [reminder] = await eventually(reminded, what="the reminder mail")
        found = await notifications(client, opinion_id=event.payload.opinion_id)
        [original] = [n for n in found if n["type"] == "assignment_notice"]
        assert f"/notifications/{original['id']}/ack?token=" in reminder.get_content()
        assert [n["type"] for n in found] == ["assignment_notice", "ack_reminder"]


async def test_bad_template_variables_fail_visibly_and_are_retried_after_the_fix(
    env, broker_url, smtp, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "assignment_notice.j2").write_text(
        "{% block subject %}Giao {{ tracking_code }}{% endblock %}{% block body %}{{ agnecy_name }}{% endblock %}",
        encoding="utf-8",
    )
    monkeypatch.setenv("DOITHOAI_TEMPLATES_DIR", str(tmp_path))
    app = notification_app()
    failures = await listen(broker_url, "notification.failed.v1")
    async with running(app) as (client,):
        event = assigned(str(uuid.uuid4()))
        await publish(broker_url, event)

        async def failed():  # type: ignore[no-untyped-def]
            found = await notifications(client, status="failed")
            return found or None

        [doc] = await eventually(failed, what="the notification to fail on its template")
        assert "'agnecy_name' is undefined" in doc["last_error"] and "assignment_notice.j2" in doc["last_error"]

        async def announced() -> bool:
            return await message_count(broker_url, failures) == 1

        await eventually(announced, what="notification.failed.v1")
        [failure] = [body_of(m) for m in await drain(broker_url, failures)]
        assert failure["payload"]["notification_id"] == doc["id"] and failure["payload"]["agency_name"]

        r = await client.post(f"/api/v1/notifications/{doc['id']}/retry", headers=headers("front-key"))
        assert r.status_code == 403
        (tmp_path / "assignment_notice.j2").unlink()  # the operator fixes the template…
        r = await client.post(f"/api/v1/notifications/{doc['id']}/retry", headers=OPERATOR)
        assert r.status_code == 200, r.text

        async def sent() -> bool:
            return (await client.get(f"/api/v1/notifications/{doc['id']}", headers=OPERATOR)).json()["status"] == "sent"

        await eventually(sent, what="the retried notification")
        r = await client.post(f"/api/v1/notifications/{doc['id']}/retry", headers=OPERATOR)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_failed"
    assert len(smtp.mail.messages()) == 1


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"name": "X", "email": "not-an-address"}, "email", "email"),
        (
            {"name": "X", "webhook_url": "ftp://x", "webhook_secret": SECRET, "channels": ["webhook"]},
            "webhook_url",
            "http:// hoặc https://",
        ),
        ({"name": "X", "channels": ["webhook"], "webhook_url": "https://x.example.vn/h"}, "body", "webhook_secret"),
        ({"name": "X", "fields": ["weather"], "email": "x@example.vn"}, "fields", "weather"),
        ({"name": "X", "phone": "12", "channels": ["sms"]}, "phone", "8–15 chữ số"),
    ],
)
async def test_the_directory_refuses_bad_contacts(env, body, field, needle) -> None:  # type: ignore[no-untyped-def]
    async with running(notification_app()) as (client,):
        r = await client.put("/api/v1/agencies/co-quan-x", json=body, headers=OPERATOR)
        assert r.status_code == 422, r.text
        details = r.json()["error"]["details"]
        assert any(d["field"].startswith(field) or field == "body" for d in details), details
        assert needle in str(details)
        assert (await client.get("/api/v1/agencies/co-quan-x", headers=OPERATOR)).status_code == 404
        r = await client.put("/api/v1/agencies/co-quan-x", json={"name": "X", "email": "x@example.vn"},
                             headers=headers("front-key"))  # fmt: skip
        assert r.status_code == 403


async def test_directory_changes_reach_the_routing_of_assignment(env, broker_url) -> None:  # type: ignore[no-untyped-def]
    from services.assignment.app import create_app as assignment_app
    from services.intake.app import create_app as intake_app

    notification, assignment = notification_app(), assignment_app()
    async with running(notification, assignment, intake_app()) as (client, routing, intake):
        r = await client.put(
            "/api/v1/agencies/ban-giao-thong",
            json={"name": "Ban Giao thông", "fields": ["traffic"], "email": "giaothong@example.vn"},
            headers=OPERATOR,
        )
        assert r.status_code == 200

        async def replicated() -> bool:
            agencies = (await routing.get("/api/v1/agencies", headers=OPERATOR)).json()
            return any(a["id"] == "ban-giao-thong" for a in agencies)

        await eventually(replicated, what="assignment to learn the new agency")
        assignment.state.assignment.directory._loaded_at = float("-inf")  # skip the 30 s cache
        r = await intake.post("/api/v1/opinions", json={"text": "Đường ngõ 5 nhiều ổ gà", "channel": "online"},
                              headers=headers("front-key"))  # fmt: skip
        code = r.json()["tracking_code"]

        async def assigned_to_new() -> bool:
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view["agency"] == "Ban Giao thông"

        await eventually(assigned_to_new, what="the opinion to go to the new agency")
        r = await client.delete("/api/v1/agencies/ban-giao-thong", headers=OPERATOR)
        assert r.status_code == 200 and r.json()["active"] is False
        r = await client.get("/api/v1/audit", params={"target": "ban-giao-thong"}, headers=OPERATOR)
        changes = [(e["action"], e["actor"]) for e in r.json()]
        assert sorted(changes) == [("agency.deactivated", "Trần Văn Vận"), ("agency.updated", "Trần Văn Vận")], changes


# ---- webhooks go to public receivers only (SSRF) --------------------------------------------------


async def test_the_directory_refuses_internal_webhook_urls(env) -> None:  # type: ignore[no-untyped-def]
    public = {"name": "Tổ Môi trường", "webhook_url": "https://hethong.example.vn/hook", "webhook_secret": SECRET,
              "channels": ["webhook"]}  # fmt: skip
    async with running(notification_app()) as (client,):
        r = await client.put("/api/v1/agencies/to-moi-truong", json=public, headers=OPERATOR)
        assert r.status_code == 200, r.text
        for url, shown in [
            ("http://127.0.0.1:15672/api/definitions", "(127.0.0.1)"),
            ("http://localhost:27017/", "(localhost)"),
            ("http://169.254.169.254/latest/meta-data/", "(169.254.169.254)"),
            ("http://[::1]:5672/", "(::1)"),
            ("http://2130706433:15672/", "(127.0.0.1)"),  # pydantic writes it 127.0.0.1 before the check
            ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
            ("http://10.0.0.1/hook", "(10.0.0.1)"),
            ("http://user:pass@hethong.example.vn/hook", "user:pass@"),
        ]:
            for agency_id in ("to-moi-truong", "co-quan-moi"):
                r = await client.put(f"/api/v1/agencies/{agency_id}", json={**public, "webhook_url": url},
                                     headers=OPERATOR)  # fmt: skip
                assert r.status_code == 422, (url, r.text)
                [detail] = r.json()["error"]["details"]
                assert detail["field"] == "webhook_url" and shown in detail["message_en"], (url, detail)
                assert "DOITHOAI_WEBHOOK_ALLOWED_NETWORKS" in detail["message_vi"] or "user:pass@" in shown
        stored = (await client.get("/api/v1/agencies/to-moi-truong", headers=OPERATOR)).json()
        assert stored["webhook_url"] == "https://hethong.example.vn/hook"
        assert (await client.get("/api/v1/agencies/co-quan-moi", headers=OPERATOR)).status_code == 404


async def test_an_internal_webhook_stored_earlier_is_not_called(env, broker_url, smtp) -> None:  # type: ignore[no-untyped-def]
    """A record from before the check (or written around the API) still cannot make notification call
    an internal address: the send-time check refuses it for good, without a request."""
    receiver = WebhookReceiver(SECRET)
    with serve(receiver) as url:
        app = notification_app()
        async with running(app) as (client,):
            old = AgencyRecord(id="to-cu", name="Tổ cũ", level="ward", fields=["environment"], webhook_url=url,
                               webhook_secret=SECRET, channels=["webhook"])  # fmt: skip
            await app.state.notification.directory.put(old)
            await publish(broker_url, assigned(str(uuid.uuid4()), agency_id="to-cu"))

            async def failed():  # type: ignore[no-untyped-def]
                found = await notifications(client, agency_id="to-cu")
                return found if found and found[0]["status"] == "failed" else None

            [doc] = await eventually(failed, what="the notification to fail at the send-time check")
    assert doc["attempts"] == 1, doc  # permanent: not retried
    assert "internal network (127.0.0.1)" in doc["last_error"], doc["last_error"]
    assert "DOITHOAI_WEBHOOK_ALLOWED_NETWORKS" in doc["last_error"]
    assert receiver.calls == 0


async def test_a_receivers_reply_is_never_shown(env, broker_url, smtp, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """The status code and its standard phrase, never the body nor a malformed reply's bytes: the URL
    may lead to a server whose answer holds secrets."""
    monkeypatch.setenv("DOITHOAI_WEBHOOK_ALLOWED_NETWORKS", LOOPBACK_ALLOWED)
    caplog.set_level(logging.INFO)
    refusing = WebhookReceiver(SECRET, statuses=[400], reply={"error": MARKER})
    garbled = RawReplier(f"{MARKER}\r\n\r\n".encode())
    with serve(refusing) as refusing_url, serve(garbled) as garbled_url:
        app = notification_app()
        async with running(app) as (client,):
            for agency_id, url in (("to-tu-choi", refusing_url), ("to-sai-giao-thuc", garbled_url)):
                r = await client.put(
                    f"/api/v1/agencies/{agency_id}",
                    json={"name": agency_id, "webhook_url": url, "webhook_secret": SECRET, "channels": ["webhook"]},
                    headers=OPERATOR,
                )
                assert r.status_code == 200, r.text
                await publish(broker_url, assigned(str(uuid.uuid4()), agency_id=agency_id))

            async def both_tried():  # type: ignore[no-untyped-def]
                found = await notifications(client, agency_id="to-tu-choi") + await notifications(
                    client, agency_id="to-sai-giao-thuc"
                )
                done = len(found) == 2 and all(n["last_error"] for n in found)
                return {n["agency_id"]: n for n in found} if done else None

            found = await eventually(both_tried, what="both webhooks to be tried")
    refused, garbled_doc = found["to-tu-choi"], found["to-sai-giao-thuc"]
    assert refused["status"] == "failed" and "refused it: 400 Bad Request" in refused["last_error"]
    assert "RemoteProtocolError" in garbled_doc["last_error"]  # temporary: retried later
    for doc in (refused, garbled_doc):
        assert MARKER not in doc["last_error"], doc["last_error"]
    assert refusing.calls == 1 and garbled.calls >= 1
    assert MARKER not in caplog.text


async def test_an_sms_gateways_reply_is_never_shown(env, broker_url, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    gateway = SmsGateway(token="gw-token", refusal=MARKER)
    with serve(gateway) as url:
        monkeypatch.setenv("DOITHOAI_SMS_GATEWAY_URL", url)  # the deployment's own setting: not an SSRF target
        monkeypatch.setenv("DOITHOAI_SMS_GATEWAY_TOKEN", "wrong-token")
        app = notification_app()
        async with running(app) as (client,):
            r = await client.put("/api/v1/agencies/cong-an",
                                 json={"name": "Công an", "phone": "+84912345678", "channels": ["sms"]},
                                 headers=OPERATOR)  # fmt: skip
            assert r.status_code == 200, r.text
            await publish(broker_url, assigned(str(uuid.uuid4()), agency_id="cong-an"))

            async def failed():  # type: ignore[no-untyped-def]
                found = await notifications(client, agency_id="cong-an", status="failed")
                return found or None

            [doc] = await eventually(failed, what="the SMS to be refused")
    assert "refused it: 401 Unauthorized" in doc["last_error"] and MARKER not in doc["last_error"]


async def test_a_webhook_goes_to_the_checked_address_under_its_own_name() -> None:
    """The request connects to the address that was checked, never to what the name resolves to later:
    a `.invalid` name (RFC 6761: it never resolves) is reached all the same, and the receiver sees its
    name in the Host header. The next checked address is tried when connecting to one fails."""
    receiver = WebhookReceiver(SECRET)
    with serve(receiver) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        # The receiver refuses an unsigned body with 401: that answer shows it was reached.
        with pytest.raises(PermanentFailure, match="401 Unauthorized"):
            await post(f"http://doithoai-test.invalid:{port}/hook", what="test", timeout_s=5,
                       connect_to=[ip_address("::1"), ip_address("127.0.0.1")], content=b"{}")  # fmt: skip
        assert receiver.hosts == [f"doithoai-test.invalid:{port}"]

        # An allowed name goes through the whole channel: checked, resolved, signed, pinned.
        channel = WebhookChannel(timeout_s=5, allowed=AllowList.parse(["localhost"]))
        message = Message(notification_id="n-1", type="assignment_notice", subject="Giao việc", body="…", sms="…",
                          tracking_code="YK-MAIL-0001", opinion_id=None)  # fmt: skip
        delivered = await channel.deliver(message, Address(f"http://localhost:{port}/hook", SECRET))
        assert delivered.acknowledged and receiver.hosts[-1] == f"localhost:{port}"
        assert [p["id"] for p in receiver.accepted] == ["n-1"]
