"""Many citizens raise the same matter: staff see the open opinions that look the same when they record one,
merge them into one item to answer, and every citizen is told of that one answer; reports count both the
opinions raised (lượt ý kiến) and the matters (nội dung). The four services in one process, on real RabbitMQ,
SecantusDB and an SMTP server."""

from __future__ import annotations

from typing import Any

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from tests.integration.harness import eventually, headers, running

FRONT, SECRETARY, OPERATOR = headers("front-key"), headers("secretary-key"), headers("operator-key")

# The same flooding in tổ dân phố 5, as three people typed it; one other matter; the same words elsewhere.
FIRST = "Tổ dân phố 5 cứ mưa to là ngập úng, nước tràn vào nhà. Đề nghị phường nạo vét rãnh thoát nước."
AGAIN = "TDP 5 mua to la ngap ung, de nghi nao vet ranh thoat nuoc gap"
THIRD = "Khu vực tổ 5 ngập úng mỗi khi mưa, rãnh thoát nước bị tắc lâu ngày chưa được nạo vét."
OTHER = "Đề nghị lắp thêm đèn chiếu sáng ngõ 12 đường Ngọc Lâm, buổi tối rất tối và nguy hiểm."
ELSEWHERE = "Tổ dân phố 9 mưa to là ngập úng, đề nghị nạo vét rãnh thoát nước."


async def submit(intake: Any, text: str, email: str, *, similar: bool = False) -> dict[str, Any]:
    body = {"text": text, "channel": "direct", "citizen": {"name": f"Cử tri {email[:4]}", "email": email}}
    r = await intake.post("/api/v1/opinions", json=body, headers=FRONT, params={"similar": "true"} if similar else {})
    assert r.status_code == 201, r.text
    return r.json()


async def test_alike_opinions_are_shown_merged_answered_once_for_every_citizen_and_counted_twice(env, smtp) -> None:  # type: ignore[no-untyped-def]
    mail = smtp.mail
    async with running(intake_app(), assignment_app(), scheduling_app(), notification_app()) as clients:
        intake, assignment, scheduling, _ = clients
        first = (await submit(intake, FIRST, "mai@example.vn"))["tracking_code"]
        other = (await submit(intake, OTHER, "lan@example.vn"))["tracking_code"]
        elsewhere = (await submit(intake, ELSEWHERE, "hoa@example.vn"))["tracking_code"]

        # Recording the same matter again, typed without marks: the first one is shown, with why.
        accepted = await submit(intake, AGAIN, "binh@example.vn", similar=True)
        again = accepted["tracking_code"]
        shown = {s["tracking_code"]: s for s in accepted["similar"]}
        assert first in shown and other not in shown, accepted["similar"]
        assert any("tổ dân phố 5" in reason for reason in shown[first]["reasons"]), shown[first]
        assert elsewhere not in shown or shown[elsewhere]["score"] < shown[first]["score"]
        third = (await submit(intake, THIRD, "cuong@example.vn"))["tracking_code"]

        # Without asking nothing is listed (machines importing in bulk do not pay for it).
        assert (await submit(intake, OTHER, "xuan@example.vn"))["similar"] is None
        r = await intake.get(f"/api/v1/opinions/{third}/similar", headers=SECRETARY)
        assert r.status_code == 200 and {first, again} <= {s["tracking_code"] for s in r.json()}, r.text
        assert (await intake.get(f"/api/v1/opinions/{third}/similar")).status_code == 401
        assert (await intake.get(f"/api/v1/opinions/{third}/similar", headers=headers("agency-key"))).status_code == 403

        async def assigned(code: str) -> bool:
            r = await assignment.get(f"/api/v1/opinions/{code}", headers=OPERATOR)
            return r.status_code == 200 and r.json()["status"] == "assigned"

        for code in (first, again, third):
            await eventually(lambda code=code: assigned(code), what=f"{code} assigned")

        # Merged by the Front and by the secretary; an agency and the operator may not; nonsense is refused.
        body = {"into": first, "reason": "Cùng nội dung ngập úng tổ dân phố 5"}
        assert (
            await assignment.post(f"/api/v1/opinions/{again}/merge", json=body, headers=OPERATOR)
        ).status_code == 403
        r = await assignment.post(f"/api/v1/opinions/{again}/merge", json=body, headers=FRONT)
        assert r.status_code == 200 and r.json()["status"] == "merged" and r.json()["merged_into"] == first, r.text
        r = await assignment.post(f"/api/v1/opinions/{again}/merge", json=body, headers=FRONT)  # again: no change
        assert r.status_code == 200 and r.json()["merged_into"] == first
        r = await assignment.post(f"/api/v1/opinions/{third}/merge", json={"into": first}, headers=SECRETARY)
        assert r.status_code == 200, r.text
        r = await assignment.post(f"/api/v1/opinions/{first}/merge", json={"into": other}, headers=FRONT)
        assert r.status_code == 409 and r.json()["error"]["code"] == "cannot_merge"
        assert "đã có ý kiến khác gộp vào" in r.json()["error"]["message_vi"]
        r = await assignment.post(f"/api/v1/opinions/{other}/merge", json={"into": again}, headers=FRONT)
        assert r.status_code == 409 and "đã được gộp vào một ý kiến khác" in r.json()["error"]["message_vi"]
        r = await assignment.post(f"/api/v1/opinions/{other}/merge", json={"into": other}, headers=FRONT)
        assert r.status_code == 409
        view = (await assignment.get(f"/api/v1/opinions/{first}", headers=OPERATOR)).json()
        assert sorted(view["cosigners"]) == sorted([again, third])

        # The citizen's page says so, the merged opinion's deadline clock stops, its citizen is told.
        async def merged(code: str) -> dict[str, Any] | None:
            view = (await intake.get(f"/api/v1/opinions/{code}")).json()
            return view if view["status"] == "merged" else None

        view = await eventually(lambda: merged(again), what="the merged status")
        assert first in view["status_label"] and any(first in h["note"] for h in view["history"])

        async def timers_cancelled(code: str) -> bool:
            ts = (await scheduling.get(f"/api/v1/opinions/{code}/timers", headers=OPERATOR)).json()
            return bool(ts) and all(t["status"] == "cancelled" for t in ts)

        await eventually(lambda: timers_cancelled(again), what="the merged opinion's timers cancelled")

        def mail_to(addr: str) -> list[Any]:
            return [m for m in mail.messages() if addr in m["To"]]

        async def told_merged() -> bool:
            return any("trả lời chung" in m["Subject"] for m in mail_to("binh@example.vn"))

        await eventually(told_merged, what="the co-signer told of the merge")
        [notice] = [m for m in mail_to("binh@example.vn") if "trả lời chung" in m["Subject"]]
        assert first in notice.get_content() and "người cùng kiến nghị" in notice.get_content()

        # One answer, by the agency: every citizen gets it, each opinion's page shows it, the head is told once.
        answer = {"kind": "written", "text": "Phường đã nạo vét toàn bộ rãnh thoát nước tổ dân phố 5.",
                  "document_number": "45/UBND-KT"}  # fmt: skip
        r = await assignment.post(f"/api/v1/opinions/{first}/answer", json=answer, headers=headers("agency-key"))
        assert r.status_code == 200, r.text
        for code in (first, again, third):

            async def closed(code: str = code) -> dict[str, Any] | None:
                view = (await intake.get(f"/api/v1/opinions/{code}")).json()
                return view if view["status"] == "closed" else None

            view = await eventually(closed, what=f"{code} closed with the answer")
            assert view["answer"]["text"] == answer["text"] and view["answer"]["document_number"] == "45/UBND-KT"
        assert any(f"trả lời chung với ý kiến {first}" in h["note"] for h in view["history"])

        async def answered_all() -> bool:
            return all(
                any("nạo vét toàn bộ" in m.get_content() for m in mail_to(addr))
                for addr in ("mai@example.vn", "binh@example.vn", "cuong@example.vn")
            )

        await eventually(answered_all, what="the answer mailed to the three citizens")
        [to_binh] = [m for m in mail_to("binh@example.vn") if "nạo vét toàn bộ" in m.get_content()]
        assert f"cùng nội dung với ý kiến mã {first}" in to_binh.get_content()
        assert not any("nạo vét toàn bộ" in m.get_content() for m in mail_to("lan@example.vn"))

        # Statistics: five opinions raised (lượt), three matters; the merged ones counted as merged only.
        year = view["submitted_at"][:4]
        r = await assignment.get("/api/v1/reports", params={"period": year, "format": "json"}, headers=OPERATOR)
        assert r.status_code == 200, r.text
        own = r.json()["summary"]["own"]
        assert (own["received"], own["merged"], own["matters"]) == (6, 2, 4), own
        assert own["by_outcome"]["merged"] == 2 and own["by_outcome"]["answered_in_writing"] == 1
