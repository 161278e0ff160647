"""Rate limits on the public endpoints: the token bucket, and the 429 the apps answer with."""

from __future__ import annotations

import json

import httpx
import pytest

from services.intake.app import IntakeSettings
from services.intake.app import create_app as intake_app
from shared.http.limits import RateLimiter
from shared.observability import metrics


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(6, now=lambda: now[0])  # one token every 10 s
    assert [limiter.wait("a") for _ in range(6)] == [0.0] * 6
    assert limiter.wait("a") == pytest.approx(10.0)
    assert limiter.wait("b") == 0.0  # every address has its own bucket
    now[0] = 9.0
    assert limiter.wait("a") == pytest.approx(1.0)
    now[0] = 10.0
    assert limiter.wait("a") == 0.0 and limiter.wait("a") > 0
    now[0] = 1000.0  # a long pause refills only up to the burst
    assert [limiter.wait("a") for _ in range(7)].count(0.0) == 6


def test_memory_is_bounded_and_zero_means_no_limit() -> None:
    limiter = RateLimiter(1, max_clients=100, now=lambda: 0.0)
    for n in range(1000):
        limiter.wait(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._buckets) == 100
    unlimited = RateLimiter(0)
    assert all(unlimited.wait("a") == 0 for _ in range(1000))


def _rate_limited_total() -> float:
    value = metrics.RATE_LIMITED.labels(**metrics.base())._value.get()  # type: ignore[attr-defined]
    return float(value)


async def test_public_endpoints_answer_429_with_retry_after_and_staff_are_not_limited() -> None:
    settings = IntakeSettings(public_rate_per_minute=3, api_keys={"k-123456": "front"})
    app = intake_app(settings)  # no lifespan: these endpoints need neither broker nor database
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        before = _rate_limited_total()
        for _ in range(3):
            assert (await client.get("/api/v1/fields")).status_code == 200
        r = await client.get("/api/v1/fields")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) == 20
        error = r.json()["error"]
        assert error["code"] == "too_many_requests" and "20 giây" in error["message_vi"]
        # The same address's budget covers Open311's lookups, answered in Open311's error format.
        r = await client.get("/open311/v2/services.json")
        assert r.status_code == 429 and json.loads(r.text)[0]["code"] == 429 and "Retry-After" in r.headers
        assert _rate_limited_total() == before + 2
        # Staff endpoints authenticate instead: a key-bearing request is not refused for the rate.
        r = await client.post("/api/v1/opinions", content=b"{}", headers={"X-API-Key": "k-123456"})
        assert r.status_code == 415
