"""Intake's HTTP APIs against the real broker and database: validation, access, Open311."""

from __future__ import annotations

import pytest

from services.intake.app import create_app as intake_app
from tests.integration.amqp import body_of, drain, message_count
from tests.integration.harness import headers, running

FRONT = headers("front-key")


@pytest.fixture
async def intake(service_env, monkeypatch):  # type: ignore[no-untyped-def]
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    app = intake_app()
    async with running(app) as (client,):
        client.app = app  # type: ignore[attr-defined]
        yield client


async def nothing_stored_or_published(client, broker_url: str) -> None:  # type: ignore[no-untyped-def]
    assert await client.app.state.runtime.db["opinions"].count_documents({}) == 0
    assert await message_count(broker_url, "assignment.events") == 0


@pytest.mark.parametrize(
    ("body", "field", "vi"),
    [
        ({"text": "   ", "channel": "direct"}, "text", "Không được để trống"),
        ({"text": "Rác", "channel": "direct", "field": "weather"}, "field", "Mã lĩnh vực không tồn tại"),
        ({"text": "Rác", "channel": "direct", "citizen": {"email": "an@@x"}}, "citizen.email", "email không hợp lệ"),
        ({"text": "Rác", "channel": "by-pigeon"}, "channel", "chỉ nhận"),
        ({"text": "Rác"}, "channel", "Thiếu trường bắt buộc"),
        ({"text": "Rác", "channel": "direct", "txt": "typo"}, "txt", "không được chấp nhận"),
    ],
)
async def test_invalid_submissions_name_the_field_and_change_nothing(intake, broker_url, body, field, vi) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post("/api/v1/opinions", json=body, headers=FRONT)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["message_vi"] and error["message_en"]
    detail = next(d for d in error["details"] if d["field"] == field)
    assert vi in detail["message_vi"] and detail["message_en"] and "{" not in detail["message_en"]
    await nothing_stored_or_published(intake, broker_url)


async def test_oversized_body_and_wrong_content_type_are_refused(intake, broker_url) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post("/api/v1/opinions", json={"text": "x" * 70_000, "channel": "direct"}, headers=FRONT)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 4096

    r = await intake.post("/api/v1/opinions", content=chunks(), headers={**FRONT, "Content-Type": "application/json"})
    assert r.status_code == 413

    r = await intake.post("/api/v1/opinions", content="text=Rác", headers={**FRONT, "Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]["message_vi"]
    r = await intake.post("/api/v1/opinions", content="{broken", headers={**FRONT, "Content-Type": "application/json"})
    assert r.status_code == 422
    await nothing_stored_or_published(intake, broker_url)


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(None, 401, "missing_api_key"), ("nope", 401, "invalid_api_key"), ("agency-key", 403, "forbidden_role")],
)
async def test_writing_needs_a_key_with_the_right_role(intake, broker_url, key, status, code) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post(
        "/api/v1/opinions", json={"text": "Rác", "channel": "direct"}, headers=headers(key) if key else {}
    )
    assert r.status_code == status and r.json()["error"]["code"] == code
    await nothing_stored_or_published(intake, broker_url)


async def test_submission_returns_a_tracking_code_and_publishes_one_received_event(intake, broker_url) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post(
        "/api/v1/opinions",
        json={
            "text": "  Đề nghị lắp đèn đường ngõ 7 ",
            "channel": "front_collected",
            "field": "traffic",
            "location": {"address": "Ngõ 7, tổ 3", "lat": 21.0, "lon": 105.8},
        },
        headers=headers("operator-key"),
    )
    assert r.status_code == 201, r.text
    accepted = r.json()
    view = (await intake.get(accepted["status_url"].replace("http://testserver", ""))).json()
    assert view["text"] == "Đề nghị lắp đèn đường ngõ 7"
    assert view["status"] == "received" and view["field"] == "traffic" and view["channel"] == "front_collected"
    assert (await intake.get(f"/api/v1/opinions/{accepted['tracking_code'].lower()}")).status_code == 200

    from tests.integration.harness import eventually

    async def published() -> bool:
        return await message_count(broker_url, "assignment.events") == 1

    await eventually(published, what="the received event")
    [message] = await drain(broker_url, "assignment.events")
    assert message.message_id and message.delivery_mode == 2  # persistent
    assert message.type == "opinion.received.v1" and message.correlation_id == accepted["opinion_id"]

    r = await intake.get("/api/v1/opinions/YK-0000-0000")
    assert r.status_code == 404 and "YK-0000-0000" in r.json()["error"]["message_vi"]


async def test_a_resent_submission_with_the_same_idempotency_key_is_the_same_opinion(intake, broker_url) -> None:  # type: ignore[no-untyped-def]
    body = {"text": "Đề nghị nạo vét cống rãnh tổ 9", "channel": "online"}
    sent = [
        await intake.post("/api/v1/opinions", json=body, headers={**headers("front-key"), "Idempotency-Key": key})
        for key in ("phieu-0001", "phieu-0001", "phieu-0002")
    ]
    assert [r.status_code for r in sent] == [201, 200, 201]
    first, again, other = (r.json()["tracking_code"] for r in sent)
    assert first == again != other
    # Another key's same Idempotency-Key is its own submission, not this one, even for a key of the same
    # role, holder name and first characters (the scope is a hash of the whole key).
    r = await intake.post(
        "/api/v1/opinions", json=body, headers={**headers("front-key-twin"), "Idempotency-Key": "phieu-0001"}
    )
    assert r.status_code == 201 and r.json()["tracking_code"] not in (first, other)

    from tests.integration.harness import eventually

    async def published() -> bool:
        return await message_count(broker_url, "assignment.events") == 3

    await eventually(published, what="one received event per opinion")
    codes = sorted(body_of(m)["payload"]["tracking_code"] for m in await drain(broker_url, "assignment.events"))
    assert codes == sorted([first, other, r.json()["tracking_code"]])


async def test_tracking_codes_cannot_be_enumerated_in_batches(service_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for k, v in {**service_env, "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "30"}.items():
        monkeypatch.setenv(k, v)
    async with running(intake_app()) as (client,):
        guesses = [f"YK-{n:04d}-{n:04d}" for n in range(40)]
        r = await client.get("/open311/v2/requests.json", params={"service_request_id": ",".join(guesses[:21])})
        assert r.status_code == 400 and r.json()[0]["code"] == 400 and "20" in r.json()[0]["description"]
        # Every code counts against the address's limit: 20 now, and the next 20 wait.
        r = await client.get("/open311/v2/requests.json", params={"service_request_id": ",".join(guesses[:20])})
        assert r.status_code == 200 and r.json() == []
        r = await client.get("/open311/v2/requests.json", params={"service_request_id": ",".join(guesses[20:])})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 20
        # Staff (with a key) look up as many as they need.
        r = await client.get(
            "/open311/v2/requests.json", params={"service_request_id": ",".join(guesses), "api_key": "front-key"}
        )
        assert r.status_code == 200


async def test_open311_services_and_definitions(intake) -> None:  # type: ignore[no-untyped-def]
    services = (await intake.get("/open311/v2/services.json")).json()
    assert {s["service_code"] for s in services} >= {"land", "party_building", "other"}
    land = next(s for s in services if s["service_code"] == "land")
    assert land["service_name"] == "Đất đai" and land["type"] == "realtime" and land["metadata"] is True
    definition = (await intake.get("/open311/v2/services/land.json")).json()
    assert [a["code"] for a in definition["attributes"]] == ["head", "conference_id"]
    r = await intake.get("/open311/v2/services/weather.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = await intake.get("/open311/v2/services.yaml", headers={"Accept": "application/json"})
    assert r.status_code == 404 and ".json" in r.json()[0]["description"]  # XML and JSON: test_open311.py


async def test_open311_post_form_and_json_then_get(intake, broker_url) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post(
        "/open311/v2/requests.json",
        data={
            "api_key": "front-key",
            "service_code": "environment",
            "description": "Rác ùn ứ ở chợ",
            "lat": "21.03",
            "long": "105.85",
            "email": "binh@example.vn",
            "first_name": "Bình",
            "last_name": "Trần",
            "attribute[head]": "council_chair",
        },
    )
    assert r.status_code == 201, r.text
    [created] = r.json()
    code = created["service_request_id"]
    assert code in created["service_notice"]

    r = await intake.post(
        "/open311/v2/requests.json",
        json={
            "api_key": "front-key",
            "service_code": "land",
            "description": "Tranh chấp ranh giới đất",
            "address_string": "Thôn Đông",
            "attribute": {"head": "committee_chair"},
        },
    )
    assert r.status_code == 201, r.text
    second = r.json()[0]["service_request_id"]

    [req] = (await intake.get(f"/open311/v2/requests/{code}.json")).json()
    assert req["status"] == "open" and req["service_code"] == "environment"
    # Where the citizen is, only to staff: a stranger holding (or guessing) a code learns no place.
    assert req["lat"] is None and req["long"] is None and req["address"] is None
    [staff] = (await intake.get(f"/open311/v2/requests.json?service_request_id={code}&api_key=front-key")).json()
    assert staff["lat"] == 21.03 and staff["long"] == 105.85
    assert req["requested_datetime"].endswith("+07:00") and req["expected_datetime"] is None
    assert "Đã tiếp nhận" in req["status_notes"]
    assert "binh@example.vn" not in str(req)  # no personal data in the public view

    both = (await intake.get(f"/open311/v2/requests.json?service_request_id={code},{second}")).json()
    assert {b["service_request_id"] for b in both} == {code, second}

    listed = (await intake.get("/open311/v2/requests.json?api_key=operator-key&service_code=land")).json()
    assert [x["service_request_id"] for x in listed] == [second]
    r = await intake.get("/open311/v2/requests.json?status=open")
    assert r.status_code == 401 and r.json()[0]["code"] == 401

    doc = await intake.app.state.intake.view(code)
    assert doc["head"] == "council_chair" and doc["channel"] == "online"
    assert doc["citizen"] == {"name": "Bình Trần", "email": "binh@example.vn", "phone": None}


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"service_code": "land", "description": "x"}, 401, "api_key"),
        ({"api_key": "wrong", "service_code": "land", "description": "x"}, 401, "not valid"),
        ({"api_key": "agency-key", "service_code": "land", "description": "x"}, 403, "agency"),
        ({"api_key": "front-key", "description": "x"}, 400, "service_code"),
        ({"api_key": "front-key", "service_code": "weather", "description": "x"}, 400, "weather"),
        ({"api_key": "front-key", "service_code": "land"}, 400, "description"),
        ({"api_key": "front-key", "service_code": "land", "description": "x", "lat": "91", "long": "1"}, 400, "lat"),
        ({"api_key": "front-key", "service_code": "land", "description": "x", "lat": "21"}, 400, "long"),
        ({"api_key": "front-key", "service_code": "land", "description": "x", "email": "no"}, 400, "email"),
    ],
)
async def test_open311_errors_use_the_spec_format_and_change_nothing(
    intake, broker_url, params, status, needle
) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post("/open311/v2/requests.json", data=params)
    assert r.status_code == status, r.text
    [error] = r.json()
    assert error["code"] == status and needle in error["description"]
    await nothing_stored_or_published(intake, broker_url)
