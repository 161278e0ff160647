"""X-Forwarded-For is believed only from configured proxies: a client rotating it does not escape the
public rate limit (uvicorn believes it from 127.0.0.1 by default). Runs the real server process."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import service_processes

pytestmark = pytest.mark.e2e


def lookups(url: str, count: int) -> list[int]:
    return [
        httpx.get(f"{url}/api/v1/fields", headers={"X-Forwarded-For": f"203.0.113.{n}"}, timeout=10).status_code
        for n in range(count)
    ]


def test_a_rotated_forwarded_header_does_not_escape_the_limit(service_env: dict[str, str], tmp_path: Path) -> None:
    env = {**service_env, "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "3"}
    with service_processes(("intake",), env, tmp_path / "direct") as procs:
        assert lookups(procs["intake"].url, 5) == [200, 200, 200, 429, 429]
    # Behind a configured proxy (here: this machine), each forwarded client has its own budget.
    env["DOITHOAI_TRUSTED_PROXIES"] = json.dumps(["127.0.0.1"])
    with service_processes(("intake",), env, tmp_path / "proxied") as procs:
        assert lookups(procs["intake"].url, 5) == [200] * 5
