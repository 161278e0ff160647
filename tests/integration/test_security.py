"""Who may call what: every HTTP endpoint of the four services × (no key, wrong key, each role).

The table below is the access policy, written out; the test fails if a route is added without a
row, so every new endpoint gets a decision. Keys go in the X-API-Key header, except on Open311
where the GeoReport spec puts `api_key` among the parameters.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from tests.integration.harness import running

PUBLIC: frozenset[str] = frozenset()
STAFF = frozenset({"front", "operator"})
ALL_ROLES = frozenset({"front", "agency", "operator"})
OPERATOR = frozenset({"operator"})
OPERATIONS = {  # the same on every service
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # scraped by Prometheus on the internal network
    ("GET", "/asyncapi.json"): PUBLIC,
    ("GET", "/api/v1/audit"): OPERATOR,
}
POLICY: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    "intake": {
        **OPERATIONS,
        ("POST", "/api/v1/opinions"): STAFF,
        ("GET", "/api/v1/opinions/{tracking_code}"): PUBLIC,  # citizens track by code
        ("GET", "/api/v1/fields"): PUBLIC,
        ("GET", "/open311/v2/services.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/services/{service_code}.{fmt}"): PUBLIC,
        ("POST", "/open311/v2/requests.{fmt}"): STAFF,
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/requests.{fmt}"): STAFF,  # listing petitions needs a key
    },
    "assignment": {
        **OPERATIONS,
        ("GET", "/api/v1/opinions/{tracking_code}"): ALL_ROLES,
        ("POST", "/api/v1/opinions/{tracking_code}/answer"): ALL_ROLES,
        ("POST", "/api/v1/opinions/{tracking_code}/escalate"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/promise"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/reassign"): STAFF,
        ("POST", "/api/v1/opinions/{tracking_code}/redirect"): STAFF,
        ("GET", "/api/v1/summary"): STAFF,
        ("POST", "/api/v1/summary/report"): OPERATOR,
        ("GET", "/api/v1/agencies"): ALL_ROLES,
        ("GET", "/api/v1/conferences/{conference_id}/documents"): ALL_ROLES,
        ("GET", "/api/v1/documents/{document_id}"): ALL_ROLES,
        ("GET", "/api/v1/documents/{document_id}.pdf"): ALL_ROLES,
        ("GET", "/api/v1/conferences/{conference_id}/supervision"): STAFF,
        ("GET", "/api/v1/conferences/{conference_id}/report"): STAFF,
        ("GET", "/api/v1/reports"): STAFF,
    },
    "scheduling": {
        **OPERATIONS,
        ("GET", "/api/v1/opinions/{tracking_code}/timers"): ALL_ROLES,
        ("POST", "/api/v1/conferences"): STAFF,
        ("GET", "/api/v1/conferences"): PUBLIC,  # the year's plan is announced to the public
        ("GET", "/api/v1/conferences/{conference_id}"): PUBLIC,
        ("POST", "/api/v1/conferences/{conference_id}/{action}"): STAFF,
    },
    "notification": {
        **OPERATIONS,
        ("GET", "/api/v1/agencies"): ALL_ROLES,
        ("GET", "/api/v1/agencies/{agency_id}"): ALL_ROLES,
        ("PUT", "/api/v1/agencies/{agency_id}"): OPERATOR,
        ("DELETE", "/api/v1/agencies/{agency_id}"): OPERATOR,
        ("GET", "/api/v1/notifications"): STAFF,
        ("GET", "/api/v1/notifications/{notification_id}"): STAFF,
        ("POST", "/api/v1/notifications/{notification_id}/retry"): OPERATOR,
        ("POST", "/api/v1/notifications/{notification_id}/acknowledge"): frozenset({"agency", "operator"}),
        ("GET", "/api/v1/notifications/{notification_id}/ack"): PUBLIC,  # a signed token instead of a key
        ("POST", "/api/v1/notifications/{notification_id}/ack"): PUBLIC,
    },
}
HIDDEN_FROM_OPENAPI = {("GET", "/metrics"), ("GET", "/asyncapi.json")}
KEYS = {"front": "front-key", "agency": "agency-key", "operator": "operator-key"}
CALLERS = (None, "wrong", *KEYS)
PATH_VALUES = {"tracking_code": "YK-0000-0000", "fmt": "json", "action": "announce"}


def concrete(path: str) -> str:
    for part in path.split("{")[1:]:
        name = part.split("}")[0]
        path = path.replace(f"{{{name}}}", PATH_VALUES.get(name, "x"))
    return path


def expected(allowed: frozenset[str], caller: str | None) -> str:
    if not allowed:
        return "in"
    if caller not in KEYS:
        return "401"
    return "in" if caller in allowed else "403"


@pytest.fixture
async def apps(service_env, monkeypatch):  # type: ignore[no-untyped-def]
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    built = {"intake": intake_app(), "assignment": assignment_app(), "scheduling": scheduling_app()}
    built["notification"] = notification_app()
    async with running(*built.values()) as clients:
        yield {name: (app, client) for (name, app), client in zip(built.items(), clients, strict=True)}


async def test_every_endpoint_answers_each_caller_as_the_policy_says(apps) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for service, (app, client) in apps.items():
        documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
        assert set(POLICY[service]) == documented | HIDDEN_FROM_OPENAPI, f"{service}: routes without a policy row"
        for (method, path), allowed in POLICY[service].items():
            for caller in CALLERS:
                key = KEYS.get(caller, caller) if caller else None
                request: dict[str, Any] = {"headers": {"Content-Type": "application/json"}, "content": b"{}"}
                if path.startswith("/open311/") and key:
                    if method == "GET":
                        request["params"] = {"api_key": key}
                    else:
                        request = {"data": {"api_key": key}}
                elif key:
                    request["headers"]["X-API-Key"] = key
                if method == "GET":
                    request.pop("content", None)
                r = await client.request(method, concrete(path), **request)
                got = str(r.status_code)
                want = expected(allowed, caller)
                ok = got == want if want != "in" else got not in ("401", "403")
                if not ok or r.status_code >= 500:
                    failures.append(f"{service} {method} {path} as {caller}: {got}, expected {want}: {r.text[:200]}")
    assert not failures, "\n".join(failures)
