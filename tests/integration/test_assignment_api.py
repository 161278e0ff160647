"""Recording answers through the assignment API: roles, refusals, and what a valid answer causes."""

from __future__ import annotations

import pytest

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from tests.conftest import agency_key
from tests.integration.amqp import body_of, drain
from tests.integration.harness import eventually, headers, running


@pytest.fixture
async def stack(service_env, monkeypatch):  # type: ignore[no-untyped-def]
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    async with running(intake_app(), assignment_app()) as clients:
        yield clients


async def submit_and_wait(intake, assignment, text: str, **extra) -> str:  # type: ignore[no-untyped-def]
    r = await intake.post(
        "/api/v1/opinions", json={"text": text, "channel": "direct", **extra}, headers=headers("front-key")
    )
    code = r.json()["tracking_code"]

    async def assigned() -> bool:
        return (await assignment.get(f"/api/v1/opinions/{code}", headers=headers("operator-key"))).status_code == 200

    await eventually(assigned, what="assignment")
    return code


async def test_answer_once_then_refused_with_the_current_state(stack, broker_url) -> None:  # type: ignore[no-untyped-def]
    intake, assignment = stack
    code = await submit_and_wait(intake, assignment, "Chi bộ tổ 5 sinh hoạt không đều", head="party_secretary")
    view = (await assignment.get(f"/api/v1/opinions/{code}", headers=headers("front-key"))).json()
    assert view["field"] == "party_building" and view["agency_name"] == "Văn phòng Đảng ủy phường"
    assert view["status"] == "assigned"

    spoken = {"kind": "on_the_spot", "text": "Đảng ủy sẽ kiểm tra.", "head": "party_secretary"}
    r = await assignment.post(f"/api/v1/opinions/{code}/answer", json=spoken, headers=headers("front-key"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_on_agenda"  # raised at no conference
    answer = {"kind": "written", "text": "Đảng ủy đã kiểm tra và chấn chỉnh.", "document_number": "45-CV/ĐU"}
    party_office = headers(agency_key("van-phong-dang-uy"))
    r = await assignment.post(f"/api/v1/opinions/{code}/answer", json=answer, headers=party_office)
    assert r.status_code == 200, r.text
    assert r.json()["answer"]["answered_by"] == "Văn phòng Đảng ủy phường"

    r = await assignment.post(f"/api/v1/opinions/{code}/answer", json=answer, headers=party_office)
    assert r.status_code == 409
    assert "Đã trả lời" in r.json()["error"]["message_vi"] and "answered" in r.json()["error"]["message_en"]

    async def closed() -> bool:
        return (await intake.get(f"/api/v1/opinions/{code}")).json()["status"] == "closed"

    await eventually(closed, what="the read model to show the answer")
    waiting = [body_of(m) for m in await drain(broker_url, "notification.events")]  # notification is not running
    answered = [e for e in waiting if e["event_type"] == "opinion.answered.v1"]
    assert len(answered) == 1 and answered[0]["payload"]["kind"] == "written"
    received = [e for e in waiting if e["event_type"] == "opinion.received.v1"]
    # One story: the answer carries the correlation id the opinion got at intake.
    assert answered[0]["correlation_id"] == received[0]["correlation_id"]


async def test_answer_refusals(stack) -> None:  # type: ignore[no-untyped-def]
    intake, assignment = stack
    code = await submit_and_wait(intake, assignment, "Xin cấp sổ đỏ cho thửa đất số 12")
    url = f"/api/v1/opinions/{code}/answer"
    good = {"kind": "written", "text": "Đang thẩm định hồ sơ."}
    assert (await assignment.post(url, json=good)).status_code == 401
    assert (await assignment.post(url, json=good, headers=headers("bad"))).status_code == 401
    r = await assignment.post(url, json={"kind": "someday", "text": ""}, headers=headers("agency-key"))
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"kind", "text"}
    r = await assignment.post("/api/v1/opinions/YK-0000-0000/answer", json=good, headers=headers("agency-key"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "assignment_not_found"
    view = (await assignment.get(f"/api/v1/opinions/{code}", headers=headers("operator-key"))).json()
    assert view["status"] == "assigned" and view["answer"] is None
    r = await assignment.get("/api/v1/agencies", headers=headers("operator-key"))
    assert {a["id"] for a in r.json()} >= {"phong-kinh-te", "van-phong-ubnd"}


async def test_reassignment_tells_the_new_agency_and_the_audit_trail_names_who(stack, broker_url, smtp) -> None:  # type: ignore[no-untyped-def]
    intake, assignment = stack
    code = await submit_and_wait(intake, assignment, "Xin cấp sổ đỏ cho thửa đất số 12")
    url = f"/api/v1/opinions/{code}/reassign"
    move = {"agency_id": "van-phong-ubnd", "reason": "Hồ sơ do Văn phòng UBND tiếp nhận"}
    assert (await assignment.post(url, json=move, headers=headers("agency-key"))).status_code == 403
    r = await assignment.post(url, json={**move, "agency_id": "khong-co"}, headers=headers("front-key"))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "agency_id"
    r = await assignment.post(url, json={**move, "agency_id": "phong-kinh-te"}, headers=headers("front-key"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "same_agency"

    before = (await assignment.get(f"/api/v1/opinions/{code}", headers=headers("front-key"))).json()
    r = await assignment.post(url, json=move, headers=headers("front-key"))
    assert r.status_code == 200, r.text
    assert r.json()["agency_id"] == "van-phong-ubnd" and r.json()["due_at"] == before["due_at"]

    async def shown() -> bool:
        return (await intake.get(f"/api/v1/opinions/{code}")).json()["agency"] == "Văn phòng HĐND và UBND phường"

    await eventually(shown, what="the read model to name the new agency")
    waiting = [body_of(m) for m in await drain(broker_url, "notification.events")]  # notification is not running
    assigned = [e["payload"] for e in waiting if e["event_type"] == "opinion.assigned.v1"]
    assert [a["agency"]["id"] for a in assigned] == ["phong-kinh-te", "van-phong-ubnd"]

    answer = {"kind": "written", "text": "Đã cấp giấy chứng nhận."}
    # The agency it was taken from reaches it no more; the one it was given to answers it.
    r = await assignment.post(f"/api/v1/opinions/{code}/answer", json=answer, headers=headers("agency-key"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_agency"
    r = await assignment.post(
        f"/api/v1/opinions/{code}/answer", json=answer, headers=headers(agency_key("van-phong-ubnd"))
    )
    assert r.status_code == 200
    assert (await assignment.get("/api/v1/audit", headers=headers("front-key"))).status_code == 403
    r = await assignment.get("/api/v1/audit", params={"target": code}, headers=headers("operator-key"))
    trail = [(e["action"], e["actor"], e["roles"]) for e in r.json()]
    assert trail == [
        ("opinion.answered", "Văn phòng HĐND và UBND phường", ["agency"]),
        ("opinion.reassigned", "Nguyễn Thị Thư", ["front"]),
    ]
    assert all(e["from_address"] for e in r.json())  # from where
    assert r.json()[1]["details"] == {"from": "phong-kinh-te", "to": "van-phong-ubnd", "reason": move["reason"]}
