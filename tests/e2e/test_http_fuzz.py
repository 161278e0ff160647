"""Fuzz every HTTP API from its own OpenAPI description (schemathesis), against the services
running as processes on the real broker and database: no 5xx, no request left hanging.

The budget is fixed (examples per operation and a seed), so the run is the same in CI every time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
