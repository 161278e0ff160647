"""The notification service as a process: killed with SIGKILL mid-batch, nothing is lost and the only
duplicates are mails the SMTP server accepted just before the kill. And the operator's CLI."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.localstack.processes import ServiceProcess, wait_until
from tests.e2e.conftest import service_processes

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def processes(service_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    env = {
        **service_env,
        "DOITHOAI_SMTP_TIMEOUT_S": "2",
        "DOITHOAI_WEBHOOK_TIMEOUT_S": "2",  # so a dead sender's lease runs out after 9 s
        "DOITHOAI_DELIVERY_BACKOFF_S": "0.5",
        "DOITHOAI_DELIVERY_POLL_S": "0.2",
    }
    with service_processes(("intake", "assignment", "notification"), env, tmp_path) as procs:
        yield procs


def test_notification_killed_mid_batch(processes, smtp) -> None:  # type: ignore[no-untyped-def]
    intake, notification = processes["intake"].url, processes["notification"]
    codes: list[str] = []

    def submit(worker: int) -> None:
        for i in range(20):
            r = httpx.post(
                f"{intake}/api/v1/opinions",
                headers={"X-API-Key": "front-key"},
                json={
                    "text": f"Rác thải ở tổ {worker}-{i}",
                    "channel": "online",
                    "citizen": {"email": f"dan-{worker}-{i}@example.vn"},
                },  # fmt: skip
                timeout=10,
            )
            codes.append(r.json()["tracking_code"])

    threads = [threading.Thread(target=submit, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(smtp.mail.messages()) >= 10, 60, 0.05, "the first mails")
        notification.kill(signal.SIGKILL)
        # Mails whose data reached the SMTP server before the kill are still being written: let it finish.
        time.sleep(1)
        arrived_before_kill = len(smtp.mail.messages())
    finally:
        for t in threads:
            t.join()
    notification.start()
    notification.wait_ready()

    expected = 2 * len(codes)  # an acknowledgement to the citizen, a notice to the agency
    wait_until(lambda: len({m["Message-ID"] for m in smtp.mail.messages()}) == expected, 120, 0.5,
               f"all {expected} distinct mails")  # fmt: skip
    ids = [m["Message-ID"] for m in smtp.mail.messages()]
    counts = collections.Counter(ids)
    assert max(counts.values()) <= 2
    for message_id, n in counts.items():
        if n == 2:  # the documented window: accepted by the SMTP server, then the process died
            assert ids.index(message_id) < arrived_before_kill, f"{message_id} duplicated outside the window"
    for code in codes:
        subjects = [m["Subject"] for m in smtp.mail.messages() if code in m["Subject"]]
        assert len(set(subjects)) == 2, (code, subjects)

    # The operator's view: nothing failed, nothing waiting.
    env = {"DOITHOAI_NOTIFICATION_URL": notification.url, "DOITHOAI_API_KEY": "operator-key", "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "deploy.cli", "notifications", "list", "--status", "failed"],
                         capture_output=True, text=True, env={**notification.env, **env}, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0 and "assignment_notice" not in out.stdout, out.stdout + out.stderr
    queued = httpx.get(f"{notification.url}/api/v1/notifications", params={"status": "queued"},
                       headers={"X-API-Key": "operator-key"}).json()  # fmt: skip
    assert queued == []


def test_the_cli_manages_the_directory(processes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notification = processes["notification"]
    env = {**notification.env, "DOITHOAI_NOTIFICATION_URL": notification.url, "DOITHOAI_API_KEY": "operator-key",
           "COLUMNS": "250"}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "deploy.cli", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT)  # fmt: skip

    seed = tmp_path / "agencies.yaml"
    seed.write_text(
        "agencies:\n"
        "  - id: ban-quan-ly-cho\n    name: Ban quản lý chợ\n    fields: [environment]\n"
        "    email: cho@{instance}.example.vn\n"
        "  - id: doi-trat-tu\n    name: Đội trật tự đô thị\n    fields: [construction]\n    email: tt@example.vn\n",
        encoding="utf-8",
    )
    out = cli("agencies", "import", str(seed), "--instance", "phuong-x")
    assert out.returncode == 0 and "Đã nạp 2 cơ quan" in out.stdout, out.stdout + out.stderr
    out = cli("agencies", "put", "doi-trat-tu", "--name", "Đội trật tự", "--field", "construction",
              "--email", "khong-phai-email")  # fmt: skip
    assert out.returncode == 1 and "email" in out.stdout, out.stdout
    out = cli("agencies", "list")
    assert "ban-quan-ly-cho" in out.stdout and "cho@phuong-x.example.vn" in out.stdout
    stored = httpx.get(f"{notification.url}/api/v1/agencies/doi-trat-tu", headers={"X-API-Key": "operator-key"})
    assert json.loads(stored.text)["name"] == "Đội trật tự đô thị"  # the refused change changed nothing
    out = cli("agencies", "deactivate", "doi-trat-tu")
    assert out.returncode == 0 and "không" in out.stdout
