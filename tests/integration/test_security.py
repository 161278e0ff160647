"""Who may call what: every HTTP endpoint of the four services × (no key, wrong key, each role, and an
agency that is not the one an item is addressed to).

The table below is the access policy, written out; the test fails if a route is added without a
row, so every new endpoint gets a decision. Paths name real objects (an opinion assigned to one
agency, that agency's conclusion notice, its notification), so "allowed" means the request reached
the object (200, or the 409/422 of a move the state or an empty body does not allow), and an agency
reaching another agency's item gets 403. Keys go in the X-API-Key header, except on Open311 where the
GeoReport spec puts `api_key` among the parameters.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from shared.clock import VIETNAM
from tests.conftest import agency_key
from tests.integration.harness import eventually, headers, running

PUBLIC: frozenset[str] = frozenset()
STAFF = frozenset({"front", "secretary", "operator"})
READERS = STAFF | {"head"}
EVERYONE = READERS | {"agency"}
OPERATOR = frozenset({"operator"})
OPERATIONS = {  # the same on every service
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # scraped by Prometheus on the internal network
    ("GET", "/asyncapi.json"): PUBLIC,
    ("GET", "/api/v1/audit"): OPERATOR,
    ("GET", "/api/v1/status"): OPERATOR,
    ("GET", "/api/v1/dead-letters"): OPERATOR,
    ("POST", "/api/v1/dead-letters/{queue}/replay"): OPERATOR,
}
POLICY: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    "intake": {
        **OPERATIONS,
        ("POST", "/api/v1/opinions"): STAFF | {"portal"},  # the console submits citizens' own (online)
        ("GET", "/api/v1/opinions"): EVERYONE,  # an agency finds only its own
        ("GET", "/api/v1/opinions/{tracking_code}"): PUBLIC,  # citizens track by code
        ("POST", "/api/v1/opinions/{tracking_code}/feedback"): PUBLIC,  # the code holder's word on the answer
        ("GET", "/api/v1/fields"): PUBLIC,
        ("GET", "/open311/v2/services.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/services/{service_code}.{fmt}"): PUBLIC,
        ("POST", "/open311/v2/requests.{fmt}"): STAFF,
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/requests.{fmt}"): STAFF,  # listing petitions needs a key
        ("GET", "/open311/v2/servicerequestupdates.{fmt}"): STAFF,  # so does listing what changed
        ("GET", "/open311/discovery.{fmt}"): PUBLIC,
        ("GET", "/api/v1/opinions/{tracking_code}/similar"): READERS,  # other people's opinions: staff only
        ("POST", "/api/v1/opinions/{tracking_code}/media"): STAFF | {"agency", "portal"},  # an agency: its own
        ("GET", "/api/v1/opinions/{tracking_code}/media"): PUBLIC,  # the code's holder, like the opinion
        ("GET", "/api/v1/opinions/{tracking_code}/media/{media_id}"): PUBLIC,
        ("GET", "/api/v1/opinions/{tracking_code}/media/{media_id}/thumbnail"): PUBLIC,
    },
    "assignment": {
        **OPERATIONS,
        ("GET", "/api/v1/opinions"): EVERYONE,  # an agency's inbox: its own only
        ("GET", "/api/v1/opinions/{tracking_code}"): EVERYONE,
        # A written answer (the body below) is the agency's own; staff record on-the-spot answers at the conference.
        ("POST", "/api/v1/opinions/{tracking_code}/answer"): frozenset({"agency"}),
        # Photos of an opinion a level below sent up: staff's and the agency's it is given to, never public.
        ("GET", "/api/v1/opinions/{tracking_code}/media"): EVERYONE,
        ("GET", "/api/v1/opinions/{tracking_code}/media/{media_id}"): EVERYONE,
        ("GET", "/api/v1/opinions/{tracking_code}/media/{media_id}/thumbnail"): EVERYONE,
        ("POST", "/api/v1/opinions/{tracking_code}/answer/correction"): frozenset({"secretary", "agency", "operator"}),
        ("POST", "/api/v1/opinions/{tracking_code}/agenda"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/classification"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/merge"): frozenset({"front", "secretary"}),
        ("POST", "/api/v1/opinions/{tracking_code}/escalate"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/promise"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/reassign"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/redirect"): STAFF,
        ("GET", "/api/v1/summary"): READERS,
        ("POST", "/api/v1/summary/report"): OPERATOR,
        ("GET", "/api/v1/agencies"): EVERYONE,
        ("GET", "/api/v1/conferences/{conference_id}/documents"): EVERYONE,
        ("GET", "/api/v1/documents/{document_id}"): EVERYONE,
        ("GET", "/api/v1/documents/{document_id}.pdf"): EVERYONE,
        ("GET", "/api/v1/documents/{document_id}.docx"): EVERYONE,
        ("POST", "/api/v1/conferences/{conference_id}/documents/retry"): frozenset({"secretary", "operator"}),
        ("GET", "/api/v1/conferences/{conference_id}/plan"): READERS,
        ("GET", "/api/v1/conferences/{conference_id}/announcement"): READERS,
        ("GET", "/api/v1/conferences/{conference_id}/invitation"): READERS,
        ("PUT", "/api/v1/conferences/{conference_id}/conclusions/{tracking_code}"): STAFF,
        ("GET", "/api/v1/document-register"): READERS,
        ("GET", "/api/v1/conferences/{conference_id}/supervision"): READERS,
        ("GET", "/api/v1/supervision"): READERS,
        ("GET", "/api/v1/conferences/{conference_id}/report"): READERS,
        ("GET", "/api/v1/reports"): READERS,
    },
    "scheduling": {
        **OPERATIONS,
        ("GET", "/api/v1/opinions/{tracking_code}/timers"): EVERYONE,
        ("POST", "/api/v1/conferences"): STAFF,
        ("GET", "/api/v1/conferences"): PUBLIC,  # the year's plan is announced to the public
        ("GET", "/api/v1/conferences/{conference_id}"): PUBLIC,
        ("POST", "/api/v1/conferences/{conference_id}/{action}"): STAFF,
    },
    "notification": {
        **OPERATIONS,
        ("GET", "/api/v1/agencies"): EVERYONE,
        ("GET", "/api/v1/agencies/{agency_id}"): EVERYONE,
        ("PUT", "/api/v1/agencies/{agency_id}"): OPERATOR,
        ("DELETE", "/api/v1/agencies/{agency_id}"): OPERATOR,
        ("GET", "/api/v1/notifications"): STAFF | {"agency"},  # an agency sees its own
        ("GET", "/api/v1/notifications/{notification_id}"): STAFF,
        ("POST", "/api/v1/notifications/{notification_id}/retry"): OPERATOR,
        ("POST", "/api/v1/notifications/{notification_id}/acknowledge"): frozenset({"agency", "operator"}),
        ("GET", "/api/v1/notifications/{notification_id}/ack"): PUBLIC,  # a signed token instead of a key
        ("POST", "/api/v1/notifications/{notification_id}/ack"): PUBLIC,
    },
}
# Routes that touch one opinion, notice or document: an agency reaches only what is addressed to it.
OBJECT_SCOPED = {
    ("assignment", "GET", "/api/v1/opinions/{tracking_code}"),
    ("assignment", "POST", "/api/v1/opinions/{tracking_code}/answer"),
    ("assignment", "POST", "/api/v1/opinions/{tracking_code}/answer/correction"),
    ("assignment", "GET", "/api/v1/opinions/{tracking_code}/media"),
    ("assignment", "GET", "/api/v1/opinions/{tracking_code}/media/{media_id}"),
    ("assignment", "GET", "/api/v1/opinions/{tracking_code}/media/{media_id}/thumbnail"),
    ("assignment", "GET", "/api/v1/documents/{document_id}"),
    ("assignment", "GET", "/api/v1/documents/{document_id}.pdf"),
    ("assignment", "GET", "/api/v1/documents/{document_id}.docx"),
    ("intake", "POST", "/api/v1/opinions/{tracking_code}/media"),
    ("scheduling", "GET", "/api/v1/opinions/{tracking_code}/timers"),
    ("notification", "POST", "/api/v1/notifications/{notification_id}/acknowledge"),
}
# Public routes that show staff more: a key is optional there, but a wrong one is still refused.
OPTIONAL_KEY = {
    ("intake", "GET", "/api/v1/opinions/{tracking_code}/media"),
    ("intake", "GET", "/api/v1/opinions/{tracking_code}/media/{media_id}"),
    ("intake", "GET", "/api/v1/opinions/{tracking_code}/media/{media_id}/thumbnail"),
    ("scheduling", "GET", "/api/v1/conferences"),
    ("scheduling", "GET", "/api/v1/conferences/{conference_id}"),
}
# Reached but empty in this world (no opinion from below, so no photo there): the caller gets past the checks
# to a 404 naming the missing photo, not a refusal.
NOTHING_THERE = {
    ("assignment", "GET", "/api/v1/opinions/{tracking_code}/media/{media_id}"),
    ("assignment", "GET", "/api/v1/opinions/{tracking_code}/media/{media_id}/thumbnail"),
}
HIDDEN_FROM_OPENAPI = {("GET", "/metrics"), ("GET", "/asyncapi.json")}
OWN_AGENCY = "phong-kinh-te"  # takes land: the opinion below is addressed to it
KEYS = {
    "front": "front-key",
    "secretary": "secretary-key",
    "head": "head-key",
    "agency": agency_key(OWN_AGENCY),
    "other agency": agency_key("van-phong-ubnd"),
    "operator": "operator-key",
}
CALLERS = (None, "wrong", *KEYS)
# Bodies that reach the object: valid where validation would otherwise answer first.
BODIES = {
    "/api/v1/opinions/{tracking_code}/answer": {"kind": "written", "text": "Đã xem xét, trả lời bằng văn bản."},
    "/api/v1/opinions/{tracking_code}/answer/correction": {"text": "Nội dung đúng.", "reason": "Ghi nhầm ngày"},
    "/api/v1/opinions/{tracking_code}/merge": {"into": "{tracking_code}"},  # into itself: refused with 409
    "/api/v1/conferences/{conference_id}/conclusions/{tracking_code}": {"task": "Khảo sát, trả lời bằng văn bản"},
}
QUERIES = {
    "/api/v1/conferences": {"year": 2026},
    "/api/v1/summary": {"period": "2026"},
    "/api/v1/reports": {"period": "2026"},
}
# 400: Open311's answer to missing parameters (the spec's own code for it); 415: a JSON body where files go.
ALLOWED_STATUS = {"GET": {200}, "POST": {200, 201, 400, 409, 415, 422}, "PUT": {200, 409, 422}, "DELETE": {200}}


def roles_of(caller: str) -> set[str]:
    return {"agency"} if caller == "other agency" else {caller}


def expected(service: str, method: str, path: str, allowed: frozenset[str], caller: str | None) -> str:
    if not allowed:
        return "401" if caller == "wrong" and (service, method, path) in OPTIONAL_KEY else "in"
    if caller not in KEYS:
        return "401"
    if not roles_of(caller) & allowed:
        return "403"
    if caller == "other agency" and (service, method, path) in OBJECT_SCOPED:
        return "403"
    return "in"


@pytest.fixture
async def world(service_env, monkeypatch):  # type: ignore[no-untyped-def]
    """The four services, and real objects to name: a land opinion raised at a concluded conference and
    given to the land agency with a written answer promised, that agency's conclusion notice, its mail."""
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DOITHOAI_TIMER_POLL_S", "0.2")
    built = {"intake": intake_app(), "assignment": assignment_app(), "scheduling": scheduling_app()}
    built["notification"] = notification_app()
    async with running(*built.values()) as clients:
        apps = {name: (app, client) for (name, app), client in zip(built.items(), clients, strict=True)}
        intake, assignment, scheduling, notification = clients
        front = headers("front-key")
        starts = (datetime.now(VIETNAM) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
        r = await scheduling.post(
            "/api/v1/conferences",
            json={"title": "Hội nghị đối thoại thử quyền", "starts_at": starts, "venue": "Nhà văn hóa tổ 5",
                  "chairs": ["committee_chair"], "urgent": True, "urgent_reason": "Kiểm thử quyền truy cập",
                  "invitees": [{"name": "Ông Trần Văn Tổ", "email": "to@example.vn"}]},
            headers=front,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert (await scheduling.post(f"/api/v1/conferences/{cid}/open", headers=front)).status_code == 200

        async def recorded() -> str | None:  # once intake has learnt of the opening (conference.updated.v1)
            body = {"text": "Xin cấp sổ đỏ cho thửa đất số 12", "channel": "direct", "conference_id": cid}
            r = await intake.post("/api/v1/opinions", json=body, headers=front)
            return r.json()["tracking_code"] if r.status_code == 201 else None

        code = await eventually(recorded, what="the opinion raised at the open conference")

        async def tabled() -> bool:
            r = await assignment.get(f"/api/v1/opinions/{code}", headers=headers("operator-key"))
            return r.status_code == 200 and r.json()["status"] == "tabled"

        await eventually(tabled, what="the opinion on the conference's agenda")
        r = await assignment.post(f"/api/v1/opinions/{code}/promise", json={}, headers=front)
        assert r.status_code == 200 and r.json()["agency_id"] == OWN_AGENCY, r.text  # given to the land agency
        for move in ("close", "conclude"):
            assert (await scheduling.post(f"/api/v1/conferences/{cid}/{move}", headers=front)).status_code == 200
        notice_id = f"{cid}-ket-luan-{OWN_AGENCY}"

        async def documents() -> bool:
            r = await assignment.get(f"/api/v1/conferences/{cid}/documents", headers=front)
            return notice_id in {d["id"] for d in r.json()}

        await eventually(documents, what="the conclusion notice")

        async def notified() -> str | None:
            r = await notification.get(
                "/api/v1/notifications", params={"tracking_code": code, "agency_id": OWN_AGENCY}, headers=front
            )
            return next((n["id"] for n in r.json() if n["type"] == "assignment_notice"), None)

        nid = await eventually(notified, what="the agency's notification")
        photo = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, "PNG")
        r = await intake.post(f"/api/v1/opinions/{code}/media", headers=front,
                              files={"file": ("anh.png", photo.getvalue(), "image/png")})  # fmt: skip
        assert r.status_code == 201, r.text
        values = {
            "tracking_code": code,
            "service_request_id": code,
            "fmt": "json",
            "action": "announce",
            "conference_id": cid,
            "document_id": notice_id,
            "notification_id": nid,
            "agency_id": OWN_AGENCY,
            "service_code": "land",
            "media_id": r.json()[0]["media_id"],
        }
        yield apps, values


def concrete(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", value)
    assert "{" not in path, path
    return path


async def test_every_endpoint_answers_each_caller_as_the_policy_says(world) -> None:  # type: ignore[no-untyped-def]
    apps, values = world
    failures = []
    for service, (app, client) in apps.items():
        documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
        assert set(POLICY[service]) == documented | HIDDEN_FROM_OPENAPI, f"{service}: routes without a policy row"
        for (method, path), allowed in POLICY[service].items():
            values["queue"] = f"{service}.events.dead"  # the service's own dead letters, which replay names
            for caller in CALLERS:
                key = KEYS.get(caller, caller) if caller else None
                body = {k: concrete(v, values) for k, v in BODIES.get(path, {}).items()}
                request: dict[str, Any] = {"headers": {"Content-Type": "application/json"}, "json": body}
                request["params"] = dict(QUERIES.get(path, {}))
                if path.startswith("/open311/") and key:
                    if method == "GET":
                        request["params"]["api_key"] = key
                    else:
                        request = {"data": {"api_key": key}}
                elif key:
                    request["headers"]["X-API-Key"] = key
                if method == "GET":
                    request.pop("json", None)
                if path.endswith("/ack"):  # the signed link: the token instead of a key
                    token = app.state.notification.delivery.acks.token(values["notification_id"])
                    request = {"params": {"token": token}} if method == "GET" else {"data": {"token": token}}
                r = await client.request(method, concrete(path, values), **request)
                want = expected(service, method, path, allowed, caller)
                got = r.status_code
                ok = got in ALLOWED_STATUS[method] if want == "in" else str(got) == want
                if want == "in" and (service, method, path) in NOTHING_THERE:
                    ok = got == 404 and r.json()["error"]["code"] == "media_not_found"
                if not ok:
                    failures.append(f"{service} {method} {path} as {caller}: {got}, expected {want}: {r.text[:200]}")
    assert not failures, "\n".join(failures)


async def test_an_agency_lists_only_its_own_documents(world) -> None:  # type: ignore[no-untyped-def]
    apps, values = world
    _, assignment = apps["assignment"]
    url = f"/api/v1/conferences/{values['conference_id']}/documents"
    mine = {d["id"] for d in (await assignment.get(url, headers=headers(KEYS["agency"]))).json()}
    theirs = {d["id"] for d in (await assignment.get(url, headers=headers(KEYS["other agency"]))).json()}
    everything = {d["id"] for d in (await assignment.get(url, headers=headers("front-key"))).json()}
    assert mine == {values["document_id"]}
    assert theirs == set()  # the minutes are the instance's; the notice is the other agency's
    assert values["document_id"] in everything and len(everything) >= 2
