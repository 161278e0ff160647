"""Open311 GeoReport v2 as its clients speak it, against the real intake (broker and database): discovery,
services, definitions, posting (form-encoded and JSON), following, listing, errors, jurisdiction_id and
mySociety's servicerequestupdates, each in XML and JSON.

JSON answers are validated against the spec's published JSON Schemas (tests/data/open311/, see its README);
XML answers must have the shape of the spec's examples, say the same as the JSON answer (the Spark
convention), and read as FixMyStreet's client reads them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from services.intake import open311
from services.intake.app import IntakeSettings
from services.intake.app import create_app as intake_app
from services.intake.open311_format import ITEM
from shared.events import AnswerKind, Envelope, Head, OpinionAnsweredV1, OpinionClassifiedV1
from tests.integration.harness import running
from tests.unit.fakes import source

DATA = Path(__file__).resolve().parents[1] / "data" / "open311"
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

# ---- the spec's JSON Schemas ---------------------------------------------------------------------------

# The W3C subset the spec asks for (FixMyStreet's /open311/datetime): seconds, then Z or an offset.
W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
CHECKER = FormatChecker(formats=())


@CHECKER.checks("date-time")
def _w3c_datetime(value: object) -> bool:
    return not isinstance(value, str) or bool(W3C_DATETIME.match(value))


@CHECKER.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or (urlsplit(value).scheme in ("http", "https") and bool(urlsplit(value).netloc))


def _schemas() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DATA.glob("*.json")}


SCHEMAS = _schemas()
# The published schemas refer to each other by file name (requests.json → request.json).
REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(schema, default_specification=DRAFT7)) for name, schema in SCHEMAS.items()
)


def conforms(body: Any, schema: str) -> None:
    Draft7Validator(SCHEMAS[schema], registry=REGISTRY, format_checker=CHECKER).validate(body)


# ---- the spec's XML examples -----------------------------------------------------------------------------


def paths(element: ET.Element, prefix: str = "") -> set[str]:
    """Every element's place: root, root/item, root/item/field …"""
    here = f"{prefix}/{element.tag}" if prefix else element.tag
    return {here}.union(*(paths(child, here) for child in element))


def example_paths(name: str) -> set[str]:
    return paths(ET.fromstring((DATA / name).read_bytes()))


def spark(element: ET.Element) -> Any:
    """The JSON an XML answer stands for (the spec's Spark convention): lists for the named containers."""
    if element.tag in ITEM:
        return [spark(child) for child in element]
    if len(element):
        return {child.tag: spark(child) for child in element}
    return element.text


def as_text(value: Any) -> Any:
    """A JSON answer as XML carries it: everything text, null (or nothing) as an empty element."""
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value in (None, "") else str(value)


def xml_of(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"] == XML_TYPE, response.headers
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def json_of(response: httpx.Response) -> Any:
    assert response.headers["content-type"] == JSON_TYPE, response.headers
    return response.json()


def same_in_both(xml: httpx.Response, js: httpx.Response, example: str, *, every_field: bool = True) -> ET.Element:
    """The XML answer has the example's shape (every field of it, or a part) and says what the JSON one says."""
    root = xml_of(xml)
    ours, theirs = paths(root), example_paths(example)
    assert (ours == theirs) if every_field else (ours <= theirs), ours ^ theirs
    assert spark(root) == as_text(json_of(js))
    return root


# ---- FixMyStreet's client --------------------------------------------------------------------------------

# perllib/Open311.pm, _get_xml_object: XML::Simple with these group tags, forced into lists.
FMS_GROUP_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "service_request_updates": "request_update",
    "groups": "group",
}
FMS_FORCE_ARRAY = set(FMS_GROUP_TAGS.values())


def fixmystreet_read(text: bytes) -> Any:
    """What XML::Simple->new(ForceArray, KeyAttr => {}, GroupTags, SuppressEmpty => undef) gives FixMyStreet:
    the root dropped, a group tag's items as a list, a forced tag always a list, an empty element undef."""

    def collapse(element: ET.Element) -> Any:
        if not len(element):
            return element.text if element.text and element.text.strip() else None
        obj: dict[str, Any] = {}
        for child in element:
            value = collapse(child)
            if child.tag in FMS_GROUP_TAGS:
                value = value.get(FMS_GROUP_TAGS[child.tag], []) if isinstance(value, dict) else []
            if child.tag in FMS_FORCE_ARRAY:
                obj.setdefault(child.tag, []).append(value)
            elif child.tag in obj:
                before = obj[child.tag]
                obj[child.tag] = [*before, value] if isinstance(before, list) else [before, value]
            else:
                obj[child.tag] = value
        return obj

    return collapse(ET.fromstring(text))


def fixmystreet_error(response: httpx.Response) -> str:
    """Open311::_process_error: "code: description" per error, else 'unknown error'."""
    obj = fixmystreet_read(response.content)
    errors = obj.get("error", []) if isinstance(obj, dict) else []
    return "".join(f"{e.get('code') or '???'}: {e.get('description') or 'unknown error'}\n" for e in errors)


# ---- the running intake ----------------------------------------------------------------------------------


@pytest.fixture
async def intake(service_env, monkeypatch):  # type: ignore[no-untyped-def]
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    app = intake_app()
    async with running(app) as (client,):
        client.app = app  # type: ignore[attr-defined]
        client.jurisdiction = service_env["DOITHOAI_INSTANCE_ID"]  # type: ignore[attr-defined]
        yield client


async def stored(client) -> int:  # type: ignore[no-untyped-def]
    return await client.app.state.runtime.db["opinions"].count_documents({})


def as_fixmystreet_posts(jurisdiction: str, **extra: str) -> dict[str, str]:
    """The parameters FixMyStreet's send_service_request sends (perllib/Open311.pm), form-encoded."""
    return {
        "jurisdiction_id": jurisdiction,
        "api_key": "front-key",
        "service_code": "environment",
        "lat": "21.0368",
        "long": "105.8795",
        "email": "binh@example.vn",
        "first_name": "Bình",
        "last_name": "Trần",
        "phone": "0912345678",
        "description": "Rác thải ùn ứ ở cổng chợ Bồ Đề\n\nSubmitted via FixMyStreet",
        "attribute[head]": "committee_chair",
        **extra,
    }


# ---- discovery -------------------------------------------------------------------------------------------


async def test_discovery_tells_a_client_where_and_how_in_both_formats(intake) -> None:  # type: ignore[no-untyped-def]
    js = await intake.get("/open311/discovery.json")
    assert js.status_code == 200
    body = json_of(js)
    conforms(body, "discovery.json")
    [endpoint] = body["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://testserver/open311/v2",
        "changeset": open311.DISCOVERY_CHANGESET,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    assert "Phường Thử Nghiệm" in body["contact"] and body["key_service"]
    xml = await intake.get("/open311/discovery.xml", params={"jurisdiction_id": intake.jurisdiction})
    assert xml.status_code == 200
    same_in_both(xml, js, "discovery.xml")

    # A client follows the endpoint it was given, in either format it was promised.
    for fmt in ("xml", "json"):
        r = await intake.get(f"{endpoint['url']}/services.{fmt}")
        assert r.status_code == 200 and r.headers["content-type"] == {"xml": XML_TYPE, "json": JSON_TYPE}[fmt]

    r = await intake.get("/open311/discovery.xml", params={"jurisdiction_id": "quan-khac"})
    assert r.status_code == 404 and "quan-khac" in fixmystreet_error(r)


def test_discovery_names_the_configured_public_address_and_type() -> None:
    settings = IntakeSettings(
        open311_public_url="https://doithoai.example.vn/tiep-nhan/",
        open311_endpoint_type="test",
        open311_contact="Văn phòng UBND phường, 024 3827 0000",
        open311_key_service="Gửi công văn đề nghị cấp khóa tới Văn phòng UBND phường",
    )
    app = intake_app(settings)  # no lifespan: discovery reads settings only

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.5:8101") as client:
            return await client.get("/open311/discovery.json")

    body = asyncio.run(get()).json()
    conforms(body, "discovery.json")
    assert body["endpoints"][0]["url"] == "https://doithoai.example.vn/tiep-nhan/open311/v2"
    assert body["endpoints"][0]["type"] == "test"
    assert body["contact"] == "Văn phòng UBND phường, 024 3827 0000"
    assert body["key_service"].startswith("Gửi công văn")


# The service list and definitions as of DISCOVERY_CHANGESET; a client refreshes its copy when the changeset
# moves, so a change to them must move it: update both values here with it.
SERVICES_AT_CHANGESET = ("2026-11-30T00:00:00Z", "cc362857218ef714")


def test_the_discovery_changeset_moves_with_the_services() -> None:
    published = [open311._service(code) for code in open311.FIELDS] + [
        open311._definition(code) for code in open311.FIELDS
    ]
    fingerprint = hashlib.sha256(json.dumps(published, ensure_ascii=False).encode()).hexdigest()[:16]
    assert (open311.DISCOVERY_CHANGESET, fingerprint) == SERVICES_AT_CHANGESET, (
        "the Open311 services changed: set DISCOVERY_CHANGESET to today and SERVICES_AT_CHANGESET to "
        f"({open311.DISCOVERY_CHANGESET!r}, {fingerprint!r})"
    )


# ---- services ----------------------------------------------------------------------------------------------


async def test_services_and_definitions_in_both_formats(intake) -> None:  # type: ignore[no-untyped-def]
    js, xml = await intake.get("/open311/v2/services.json"), await intake.get("/open311/v2/services.xml")
    conforms(json_of(js), "services.json")
    same_in_both(xml, js, "services.xml")
    services = fixmystreet_read(xml.content)["service"]
    land = next(s for s in services if s["service_code"] == "land")
    assert land["service_name"] == "Đất đai" and land["metadata"].lower() == "true" and land["type"] == "realtime"
    assert len(services) == len(js.json())

    params = {"jurisdiction_id": intake.jurisdiction}
    js = await intake.get("/open311/v2/services/land.json", params=params)
    xml = await intake.get("/open311/v2/services/land.xml", params=params)
    conforms(json_of(js), "service-definition.json")
    same_in_both(xml, js, "service-definition.xml")
    definition = fixmystreet_read(xml.content)
    assert definition["service_code"] == "land"
    head, conference = definition["attributes"]
    assert head["code"] == "head" and head["variable"] == "true" and head["required"] == "false"
    assert [v["key"] for v in head["values"]] == [h.value for h in Head]
    assert conference["code"] == "conference_id" and conference["datatype"] == "string"

    for fmt in ("xml", "json"):
        r = await intake.get(f"/open311/v2/services/weather.{fmt}")
        assert r.status_code == 404
        if fmt == "json":
            conforms(json_of(r), "errors.json")
        else:
            assert paths(xml_of(r)) == example_paths("errors.xml") and "weather" in fixmystreet_error(r)


# ---- requests ------------------------------------------------------------------------------------------------


async def test_a_fixmystreet_style_client_posts_form_encoded_xml_and_follows_it(intake) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post("/open311/v2/requests.xml", data=as_fixmystreet_posts(intake.jurisdiction))
    assert r.status_code == 201, r.text
    assert paths(xml_of(r)) == example_paths("post-service-request.xml")
    [created] = fixmystreet_read(r.content)["request"]  # what send_service_request reads
    code = created["service_request_id"]
    assert isinstance(code, str) and re.fullmatch(r"YK-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert code in created["service_notice"] and created["account_id"] is None and "token" not in created

    # Following it: one request by its id, and several (get_service_requests with report ids), keyless.
    xml = await intake.get(f"/open311/v2/requests/{code}.xml", params={"jurisdiction_id": intake.jurisdiction})
    js = await intake.get(f"/open311/v2/requests/{code}.json")
    conforms(json_of(js), "requests.json")
    same_in_both(xml, js, "service-requests.xml")
    [seen] = fixmystreet_read(xml.content)["request"]
    assert seen["service_request_id"] == code and seen["status"] == "open" and seen["service_code"] == "environment"
    assert W3C_DATETIME.match(seen["requested_datetime"]) and seen["requested_datetime"].endswith("+07:00")
    # Where the citizen is, and who, stay out of the public answer.
    assert seen["lat"] is None and seen["long"] is None and seen["address"] is None
    assert b"binh@example.vn" not in xml.content and b"0912345678" not in xml.content
    r = await intake.get("/open311/v2/requests.xml", params={"service_request_id": code})
    assert [x["service_request_id"] for x in fixmystreet_read(r.content)["request"]] == [code]

    doc = await intake.app.state.intake.view(code)
    assert doc["channel"] == "online" and doc["head"] == "committee_chair" and doc["field"] == "environment"
    assert doc["citizen"] == {"name": "Bình Trần", "email": "binh@example.vn", "phone": "0912345678"}
    assert doc["location"]["lat"] == 21.0368 and doc["location"]["lon"] == 105.8795


async def test_posting_json_answers_as_the_spec_says_in_either_format(intake) -> None:  # type: ignore[no-untyped-def]
    body = {
        "api_key": "front-key",
        "jurisdiction_id": intake.jurisdiction,
        "service_code": "land",
        "description": "Tranh chấp ranh giới đất thôn Đông",
        "address_string": "Thôn Đông",
        "attribute": {"head": "committee_chair"},
    }
    js = await intake.post("/open311/v2/requests.json", json=body)
    assert js.status_code == 201, js.text
    answer = json_of(js)
    conforms(answer, "post-service-request.json")
    assert list(answer[0]) == ["service_request_id", "service_notice", "account_id"]
    xml = await intake.post("/open311/v2/requests.xml", json=body)
    assert xml.status_code == 201
    assert paths(xml_of(xml)) == example_paths("post-service-request.xml")
    assert fixmystreet_read(xml.content)["request"][0]["service_request_id"] != answer[0]["service_request_id"]


async def test_staff_list_requests_in_both_formats_and_strangers_get_the_spec_error(intake) -> None:  # type: ignore[no-untyped-def]
    codes = []
    for service_code in ("land", "environment"):
        r = await intake.post(
            "/open311/v2/requests.json",
            data=as_fixmystreet_posts(intake.jurisdiction, service_code=service_code, description=f"Về {service_code}"),
        )
        codes.append(r.json()[0]["service_request_id"])

    staff = {"api_key": "operator-key", "jurisdiction_id": intake.jurisdiction, "status": "open,closed"}
    js = await intake.get("/open311/v2/requests.json", params=staff)
    xml = await intake.get("/open311/v2/requests.xml", params=staff)
    conforms(json_of(js), "requests.json")
    same_in_both(xml, js, "service-requests.xml")
    listed = fixmystreet_read(xml.content)["request"]
    assert sorted(x["service_request_id"] for x in listed) == sorted(codes)
    assert {x["lat"] for x in listed} == {"21.0368"}  # staff see where

    r = await intake.get("/open311/v2/requests.xml", params={**staff, "service_code": "land", "status": "open"})
    assert [x["service_request_id"] for x in fixmystreet_read(r.content)["request"]] == [codes[0]]
    r = await intake.get("/open311/v2/requests.xml", params={**staff, "status": "closed"})
    assert paths(xml_of(r)) == {"service_requests"} and fixmystreet_read(r.content) is None  # none, no error

    # Listing without naming ids needs a key: the spec's error, in the format asked for.
    r = await intake.get("/open311/v2/requests.xml", params={"status": "open"})
    assert r.status_code == 401 and paths(xml_of(r)) == example_paths("errors.xml")
    assert fixmystreet_error(r).startswith("401: ") and "api_key" in fixmystreet_error(r)
    r = await intake.get("/open311/v2/requests.json", params={"status": "open"})
    assert r.status_code == 401
    conforms(json_of(r), "errors.json")


async def test_errors_come_in_the_format_asked_and_change_nothing(intake) -> None:  # type: ignore[no-untyped-def]
    def check(r: httpx.Response, status: int, needle: str, fmt: str) -> None:
        assert r.status_code == status, r.text
        if fmt == "xml":
            assert paths(xml_of(r)) == example_paths("errors.xml")
            assert fixmystreet_error(r).startswith(f"{status}: ") and needle in fixmystreet_error(r)
        else:
            [error] = json_of(r)
            conforms([error], "errors.json")
            assert error["code"] == status and needle in error["description"]

    # An unknown format: 404, in what the client says it reads, else XML (every GeoReport client reads it).
    check(await intake.get("/open311/v2/services.yaml"), 404, "yaml", "xml")
    check(await intake.get("/open311/v2/services.csv", headers={"Accept": "application/json"}), 404, "csv", "json")
    check(await intake.get("/open311/discovery.html"), 404, "html", "xml")
    check(
        await intake.post("/open311/v2/requests.txt", data=as_fixmystreet_posts(intake.jurisdiction)), 404, "txt", "xml"
    )

    # Another jurisdiction on every route, in the route's format.
    elsewhere = {"jurisdiction_id": "xa-khac"}
    for path in (
        "/open311/discovery",
        "/open311/v2/services",
        "/open311/v2/services/land",
        "/open311/v2/requests/YK-0000-0000",
        "/open311/v2/requests",
        "/open311/v2/servicerequestupdates",
    ):
        for fmt in ("xml", "json"):
            check(await intake.get(f"{path}.{fmt}", params={**elsewhere, "api_key": "front-key"}), 404, "xa-khac", fmt)
    for fmt in ("xml", "json"):
        posted = as_fixmystreet_posts("xa-khac")
        check(await intake.post(f"/open311/v2/requests.{fmt}", data=posted), 404, "xa-khac", fmt)
        posted = as_fixmystreet_posts(intake.jurisdiction, api_key="not-a-key")
        check(await intake.post(f"/open311/v2/requests.{fmt}", data=posted), 401, "API key", fmt)
        posted = as_fixmystreet_posts(intake.jurisdiction, service_code="")
        check(await intake.post(f"/open311/v2/requests.{fmt}", data=posted), 400, "service_code", fmt)
        check(await intake.get(f"/open311/v2/requests/YK-0000-0000.{fmt}"), 404, "YK-0000-0000", fmt)
        # Refused before Open311 sees it (the body limit), still in the format the path names.
        huge = as_fixmystreet_posts(intake.jurisdiction, description="Ngập úng " * 10_000)
        check(await intake.post(f"/open311/v2/requests.{fmt}", data=huge), 413, "KiB", fmt)
    assert await stored(intake) == 0


async def test_any_text_a_citizen_types_stays_readable_xml(intake) -> None:  # type: ignore[no-untyped-def]
    text = 'Cống <số 5> & "ngõ" 12 ngập\x0b nặng\x01\nDòng hai: nước > 30 cm'
    r = await intake.post(
        "/open311/v2/requests.json",
        json={"api_key": "front-key", "service_code": "environment", "description": text},
    )
    code = r.json()[0]["service_request_id"]
    xml = await intake.get(f"/open311/v2/requests/{code}.xml")
    [seen] = fixmystreet_read(xml.content)["request"]
    assert seen["description"] == 'Cống <số 5> & "ngõ" 12 ngập nặng\nDòng hai: nước > 30 cm'
    assert (await intake.get(f"/open311/v2/requests/{code}.json")).json()[0]["description"] == text


# ---- mySociety's servicerequestupdates -------------------------------------------------------------------------


async def test_status_updates_as_fixmystreet_pulls_them(intake) -> None:  # type: ignore[no-untyped-def]
    r = await intake.post("/open311/v2/requests.xml", data=as_fixmystreet_posts(intake.jurisdiction))
    code = fixmystreet_read(r.content)["request"][0]["service_request_id"]
    r = await intake.post("/open311/v2/requests.json", data=as_fixmystreet_posts(intake.jurisdiction))
    quiet = r.json()[0]["service_request_id"]  # changes nothing after its receipt
    service = intake.app.state.intake
    doc = await service.view(code)
    oid, now = doc["_id"], datetime.now(UTC)

    def event(payload: Any, minutes: int) -> Envelope[Any]:
        return Envelope.new(
            payload, source("assignment", intake.jurisdiction), correlation_id=oid,
            occurred_at=now + timedelta(minutes=minutes),
        )  # fmt: skip

    classified = OpinionClassifiedV1(
        opinion_id=oid, tracking_code=code, field="environment", head=Head.COMMITTEE_CHAIR, method="submitted"
    )
    answered = OpinionAnsweredV1(
        opinion_id=oid, tracking_code=code, kind=AnswerKind.WRITTEN, text="Đã bố trí xe thu gom rác hằng ngày.",
        answered_by="Chủ tịch UBND phường", answered_at=now + timedelta(minutes=2),
    )  # fmt: skip
    await service.record(event(classified, 1))
    await service.record(event(answered, 2))

    window = {
        "api_key": "front-key",
        "jurisdiction_id": intake.jurisdiction,
        "start_date": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),  # as W3CDTF writes it
        "end_date": (now + timedelta(hours=1)).astimezone().isoformat(timespec="seconds"),
    }
    xml = await intake.get("/open311/v2/servicerequestupdates.xml", params=window)
    js = await intake.get("/open311/v2/servicerequestupdates.json", params=window)
    assert xml.status_code == js.status_code == 200, xml.text
    conforms(json_of(js), "service-request-updates.json")
    same_in_both(xml, js, "service-request-updates.xml", every_field=False)

    updates = fixmystreet_read(xml.content)["request_update"]  # GetServiceRequestUpdates::process_requests
    assert [(u["service_request_id"], u["status"]) for u in updates] == [(code, "open"), (code, "closed")]
    assert len({u["update_id"] for u in updates}) == 2 and all(u["update_id"] for u in updates)
    assert "Lĩnh vực" in updates[0]["description"] and "Chủ tịch UBND phường" in updates[1]["description"]
    assert all(W3C_DATETIME.match(u["updated_datetime"]) for u in updates)
    assert updates[0]["updated_datetime"] < updates[1]["updated_datetime"]
    assert quiet not in xml.text  # its receipt is not an update
    assert b"binh@example.vn" not in xml.content and b"21.0368" not in xml.content  # public fields only

    # The same ids on the next pull: FixMyStreet skips what it already has by update_id.
    again = fixmystreet_read((await intake.get("/open311/v2/servicerequestupdates.xml", params=window)).content)
    assert [u["update_id"] for u in again["request_update"]] == [u["update_id"] for u in updates]
    # A window after them: nothing.
    later = {**window, "start_date": (now + timedelta(minutes=3)).isoformat()}
    r = await intake.get("/open311/v2/servicerequestupdates.json", params=later)
    assert r.status_code == 200 and r.json() == []

    for params, status, needle in (
        ({k: v for k, v in window.items() if k != "api_key"}, 401, "api_key"),
        ({**window, "api_key": "head-key"}, 403, ""),
        ({**window, "start_date": window["end_date"], "end_date": window["start_date"]}, 400, "start_date"),
        ({**window, "start_date": "hôm qua"}, 400, "ISO 8601"),
        ({**window, "end_date": "2026-11-30T08:00:00"}, 400, "múi giờ"),
    ):
        r = await intake.get("/open311/v2/servicerequestupdates.xml", params=params)
        assert r.status_code == status, r.text
        assert fixmystreet_error(r).startswith(f"{status}: ") and needle in fixmystreet_error(r)


# ---- limits -------------------------------------------------------------------------------------------------------


def test_a_client_cannot_name_its_own_price_for_the_rate_limit() -> None:
    app = intake_app(IntakeSettings(public_rate_per_minute=2))  # no lifespan: services need no database

    async def calls() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return [(await client.get("/open311/v2/services.xml", params={"cost": "0"})).status_code for _ in range(3)]

    assert asyncio.run(calls()) == [200, 200, 429]
