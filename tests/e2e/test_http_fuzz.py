"""Fuzz every HTTP API from its own OpenAPI description (schemathesis), against the services
running as processes on the real broker and database: no 5xx, no request left hanging.

The budget is fixed (examples per operation and a seed), so the run is the same in CI every time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import service_processes

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "scheduling", "assignment", "notification")
EXAMPLES_PER_OPERATION = 12
SEED = 20251121


def test_no_server_error_and_no_hang_on_any_endpoint(service_env: dict[str, str], tmp_path: Path) -> None:
    with service_processes(SERVICES, service_env, tmp_path / "log") as procs:
        failures = []
        for name, proc in procs.items():
            report = tmp_path / f"{name}.txt"
            run = subprocess.run(
                [
                    str(Path(sys.executable).with_name("st")),
                    "run",
                    f"{proc.url}/openapi.json",
                    "--checks=not_a_server_error",
                    f"--max-examples={EXAMPLES_PER_OPERATION}",
                    f"--seed={SEED}",
                    "--phases=examples,coverage,fuzzing",
                    "--request-timeout=10",
                    "--max-response-time=10",
                    "--no-shrink",
                    "--header=X-API-Key: operator-key",  # operator may call every protected endpoint
                    "--suppress-health-check=all",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                cwd=tmp_path,  # schemathesis keeps its cache in the working directory
            )
            report.write_text(run.stdout + run.stderr)
            if run.returncode != 0:
                failures.append(f"{name}: schemathesis exit {run.returncode}\n{run.stdout[-4000:]}{run.stderr[-2000:]}")
        logs = {name: (tmp_path / "log" / f"{name}.log").read_text() for name in procs}
    assert not failures, "\n\n".join(failures)
    # Every service kept running through it, and logged no unhandled error.
    assert all("Traceback" not in text for text in logs.values()), {n: t[-3000:] for n, t in logs.items()}


# Shapes a black-box attack found answered with 500 (RecursionError, OverflowError, a non-ASCII
# filename in a header…): each must be a 4xx that says what was wrong.
DEEP = b"[" * 1000 + b"]" * 1000
HOSTILE: list[tuple[str, str, str, dict[str, Any]]] = [
    ("intake", "POST", "/open311/v2/requests.json", {"content": DEEP, "headers": {"Content-Type": "application/json"}}),
    ("intake", "POST", "/api/v1/opinions", {"content": DEEP, "headers": {"Content-Type": "application/json"}}),
    ("assignment", "GET", "/api/v1/reports", {"params": {"period": "0001"}}),
    ("assignment", "GET", "/api/v1/reports", {"params": {"period": "٢٠٢٦", "format": "csv"}}),
    ("assignment", "GET", "/api/v1/summary", {"params": {"period": "9999-12"}}),
    ("scheduling", "GET", "/api/v1/conferences", {"params": {"year": "99999999999999999999"}}),
    ("scheduling", "GET", "/api/v1/conferences", {"params": {"year": "0"}}),
    ("intake", "GET", "/open311/v2/requests.json", {"params": {"start_date": "0001-01-01T00:00:00+14:00"}}),
    ("intake", "GET", "/open311/v2/requests.json", {"params": {"end_date": "9999-12-31T23:59:59-14:00"}}),
    ("assignment", "GET", "/api/v1/audit", {"params": {"since": "0001-01-01T00:00:00+14:00"}}),
    ("assignment", "GET", "/api/v1/audit", {"params": {"since": "9999-12-31T23:59:59-14:00"}}),
    (
        "scheduling",
        "POST",
        "/api/v1/conferences",
        {
            "json": {
                "title": "t",
                "starts_at": "9999-12-31T23:59:59-14:00",
                "venue": "v",
                "chairs": ["committee_chair"],
            },
        },
    ),
]


def test_hostile_shapes_get_a_clear_4xx(service_env: dict[str, str], tmp_path: Path) -> None:
    with service_processes(("intake", "scheduling", "assignment"), service_env, tmp_path / "log") as procs:
        failures = []
        for service, method, path, request in HOSTILE:
            keyed = {**request, "headers": {**request.get("headers", {}), "X-API-Key": "operator-key"}}
            if path.startswith("/open311/") and method == "POST":
                keyed = request  # no key at all: the body must be refused before anything reads it
            elif path.startswith("/open311/"):
                keyed = {**request, "params": {**request["params"], "api_key": "operator-key"}}
            r = httpx.request(method, f"{procs[service].url}{path}", timeout=10, **keyed)
            if not 400 <= r.status_code < 500:
                failures.append(f"{service} {method} {path} {request.get('params')}: {r.status_code} {r.text[:200]}")
            elif "code" not in r.text:
                failures.append(f"{service} {method} {path}: no error code in {r.text[:200]}")
        logs = {name: (tmp_path / "log" / f"{name}.log").read_text() for name in procs}
    assert not failures, "\n".join(failures)
    assert all("Traceback" not in text for text in logs.values()), {n: t[-3000:] for n, t in logs.items()}
