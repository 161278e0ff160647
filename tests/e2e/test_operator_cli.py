"""The operator's tools on running processes: a message that cannot be processed lands in its
dead-letter queue and on the metric; after the cause is fixed, the CLI replays it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from deploy.localstack.processes import wait_until
from shared.clock import VIETNAM
from tests.conftest import RABBIT_MANAGEMENT
from tests.e2e.conftest import service_processes

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DLQ = "assignment.events.dead"


def dead_letters(text: str) -> float:
    for line in text.splitlines():
        if line.startswith("doithoai_queue_messages{") and f'queue="{DLQ}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return -1.0


def test_dead_letter_seen_on_the_metric_and_replayed_after_the_fix(service_env, smtp, vhost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "agencies.yaml"
    seed.write_text("agencies: []\n", encoding="utf-8")  # nobody to assign to: a configuration mistake
    env = {**service_env, "DOITHOAI_AGENCIES_SEED": str(seed), "DOITHOAI_HANDLER_ATTEMPTS": "1",
           "DOITHOAI_MONITOR_INTERVAL_S": "0.5"}  # fmt: skip
    with service_processes(("intake", "assignment", "notification"), env, tmp_path / "log") as procs:
        intake, assignment, notification = (procs[n].url for n in ("intake", "assignment", "notification"))
        cli_env = {
            **procs["intake"].env,
            "DOITHOAI_BROKER_URL": service_env["DOITHOAI_BROKER_URL"],
            "DOITHOAI_INSTANCE_ID": vhost,
            "DOITHOAI_MANAGEMENT_URL": RABBIT_MANAGEMENT,
            "DOITHOAI_NOTIFICATION_URL": notification,
            "DOITHOAI_API_KEY": "operator-key",
            "COLUMNS": "250",
        }

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "deploy.cli", *args], capture_output=True, text=True,
                                  env=cli_env, cwd=ROOT, timeout=60)  # fmt: skip

        r = httpx.post(f"{intake}/api/v1/opinions", headers={"X-API-Key": "front-key"},
                       json={"text": "Đường ngõ 4 sụt lún", "channel": "online"})  # fmt: skip
        code = r.json()["tracking_code"]
        wait_until(
            lambda: dead_letters(httpx.get(f"{assignment}/metrics").text) == 1, 60, 0.3, "the dead letter metric"
        )

        # The management API's counts lag by a few seconds.
        status = ("status", "--service", f"intake={intake}", "--service", f"assignment={assignment}")
        out = wait_until(lambda: (o := cli(*status)).returncode == 0 and DLQ in o.stdout and o, 30, 1, "the CLI status")
        assert "sẵn sàng" in out.stdout and "Ý kiến quá hạn trả lời: 0" in out.stdout
        out = cli("dead-letters", "show", DLQ)
        assert out.returncode == 0 and "delivery_limit" in out.stdout and "từ assignment.events," in out.stdout

        # The fix: a default agency in the directory; routing learns it through agency.updated.v1.
        out = cli("agencies", "put", "van-phong-ubnd", "--name", "Văn phòng HĐND - UBND", "--field", "other",
                  "--email", "vanphong@example.vn", "--default")  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        wait_until(lambda: httpx.get(f"{assignment}/api/v1/agencies", headers={"X-API-Key": "operator-key"}).json(),
                   30, 0.3, "assignment to learn the agency")  # fmt: skip

        out = cli("dead-letters", "replay", DLQ)
        assert out.returncode == 0 and "Đã gửi lại 1 thư" in out.stdout, out.stdout + out.stderr
        wait_until(lambda: httpx.get(f"{intake}/api/v1/opinions/{code}").json()["status"] == "assigned", 30, 0.3,
                   "the replayed opinion to be assigned")  # fmt: skip
        wait_until(lambda: dead_letters(httpx.get(f"{assignment}/metrics").text) == 0, 30, 0.3, "the metric back to 0")
        wait_until(lambda: "Không có thư chết" in cli("dead-letters", "list").stdout, 30, 1, "no dead letters listed")

        # The period's report, from the same CLI.
        year = str(datetime.now(VIETNAM).year)
        cli_env["DOITHOAI_ASSIGNMENT_URL"] = assignment
        out = cli("report", "--period", year)
        assert out.returncode == 0 and "Báo cáo kết quả đối thoại năm" in out.stdout, out.stdout + out.stderr
        target = tmp_path / "report.csv"
        out = cli("report", "--period", year, "--format", "csv", "--output", str(target))
        assert out.returncode == 0 and "Tổng số lượt ý kiến" in target.read_text(encoding="utf-8-sig")
        assert cli("report", "--period", "2026-Q7").returncode == 1

        # A conference's documents: asking to make again those of a conference that does not exist says so.
        out = cli("documents", "retry", "hn-khong-co")
        assert out.returncode == 1 and "Không có hội nghị hn-khong-co" in out.stdout, out.stdout + out.stderr
