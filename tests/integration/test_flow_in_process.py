"""The whole story of one opinion with the four services in one process, on real RabbitMQ and SecantusDB."""

from __future__ import annotations

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from tests.integration.harness import eventually, headers, running


async def test_opinion_is_received_assigned_notified_answered_and_closed(env, smtp) -> None:  # type: ignore[no-untyped-def]
    mail = smtp.mail
    async with running(intake_app(), assignment_app(), scheduling_app(), notification_app()) as clients:
        intake, assignment, scheduling, _ = clients
        r = await intake.post(
            "/api/v1/opinions",
            json={
                "text": "Đề nghị sửa đường nội đồng thôn Đông bị ổ gà, mùa mưa không đi được.",
                "channel": "direct",
                "citizen": {"name": "Nguyễn Văn An", "email": "an@example.vn"},
            },
            headers=headers("front-key"),
        )
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]

        async def assigned():  # type: ignore[no-untyped-def]
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view if view["status"] == "assigned" else None

        view = await eventually(assigned, what="status assigned")
        assert view["field"] == "traffic"
        assert view["head"] == "committee_chair"
        assert view["agency"] == "Phòng Kinh tế, Hạ tầng và Đô thị"

        def mail_to(addr: str):  # type: ignore[no-untyped-def]
            return [m for m in mail.messages() if addr in m["To"]]

        async def two_mails():  # type: ignore[no-untyped-def]
            return len(mail_to("kinhte@")) == 1 and len(mail_to("an@example.vn")) == 1

        await eventually(two_mails, what="agency and citizen mail")
        agency_mail = mail_to("kinhte@")[0]
        assert code in agency_mail["Subject"]
        assert "ổ gà" in agency_mail.get_content()
        assert code in mail_to("an@example.vn")[0].get_content()

        timers = (await scheduling.get(f"/api/v1/opinions/{code}/timers", headers=headers("operator-key"))).json()
        assert [t["kind"] for t in timers] == ["due_soon", "due_soon", "due_soon", "overdue"]

        r = await assignment.post(
            f"/api/v1/opinions/{code}/answer",
            json={
                "kind": "written",
                "text": "UBND phường sẽ rải cấp phối trong tháng tới.",
                "document_number": "88/UBND",
            },
            headers=headers("agency-key"),
        )
        assert r.status_code == 200, r.text

        async def closed():  # type: ignore[no-untyped-def]
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view if view["status"] == "closed" else None

        view = await eventually(closed, what="status closed")
        assert view["answer"]["answered_by"] == "Phòng Kinh tế, Hạ tầng và Đô thị"

        async def answer_mail():  # type: ignore[no-untyped-def]
            return len(mail_to("an@example.vn")) == 2

        await eventually(answer_mail, what="answer mail to the citizen")
        [answer] = [m for m in mail_to("an@example.vn") if m["Subject"].startswith("[Phường Thử Nghiệm] Trả lời")]
        assert "rải cấp phối" in answer.get_content()

        async def cancelled():  # type: ignore[no-untyped-def]
            ts = (await scheduling.get(f"/api/v1/opinions/{code}/timers", headers=headers("operator-key"))).json()
            return all(t["status"] == "cancelled" for t in ts)

        await eventually(cancelled, what="timers cancelled")
