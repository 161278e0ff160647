"""Durable timers across SIGKILL of the scheduling process, with a clock the test moves for every process."""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

import httpx
import pytest

from deploy.localstack.processes import wait_until
from tests.e2e.conftest import service_processes

pytestmark = pytest.mark.e2e
DAY = 86400


def quiet(smtp, seconds: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until no mail has arrived for `seconds`."""
    seen, since = len(smtp.mail.messages()), time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.2)
        if (now := len(smtp.mail.messages())) != seen:
            seen, since = now, time.monotonic()


def test_reminders_and_announcements_fire_once_across_kill_9(service_env, smtp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = tmp_path / "clock"
    clock.write_text("0")
    env = {**service_env, "DOITHOAI_TEST_CLOCK_FILE": str(clock), "DOITHOAI_TIMER_POLL_S": "0.2",
           "DOITHOAI_DELIVERY_POLL_S": "0.2",
           # Between publishing a timer's event and recording "fired", a pause the kill below lands in.
           "DOITHOAI_TEST_PAUSE_AFTER_FIRE_S": "2"}  # fmt: skip
    names = ("intake", "assignment", "scheduling", "notification")
    with service_processes(names, env, tmp_path / "log") as procs:
        intake, scheduling = procs["intake"].url, procs["scheduling"]
        front = {"X-API-Key": "front-key"}

        def subjects(needle: str) -> list[str]:
            return [m["Subject"] for m in smtp.mail.messages() if needle in m["Subject"]]

        r = httpx.post(f"{intake}/api/v1/opinions", headers=front,
                       json={"text": "Đèn đường ngõ 9 hỏng đã lâu", "channel": "written"})  # fmt: skip
        code = r.json()["tracking_code"]
        r = httpx.post(f"{scheduling.url}/api/v1/conferences", headers=front, json={
            "title": "Hội nghị đối thoại tháng", "starts_at": "2030-01-10T08:00:00", "venue": "Hội trường UBND",
            "chairs": ["committee_chair"], "invitees": [{"name": "Tổ trưởng", "email": "to@example.vn"}],
        })  # fmt: skip
        assert r.status_code == 201, r.text
        conference = r.json()

        def timers() -> list[dict]:  # type: ignore[type-arg]
            return httpx.get(f"{scheduling.url}/api/v1/opinions/{code}/timers",
                             headers={"X-API-Key": "operator-key"}).json()  # fmt: skip

        wait_until(lambda: len(timers()) == 4, 30, 0.2, "the opinion's four timers")

        # Killed between "scheduled" and "due"; time passes while it is down.
        scheduling.kill(signal.SIGKILL)
        clock.write_text(str(24 * DAY))  # past the 7-day reminder, before the 3-day one
        scheduling.start()
        scheduling.wait_ready()
        wait_until(lambda: subjects(f"còn 7 ngày trả lời ý kiến {code}"), 30, 0.2, "the 7-day reminder")

        # Killed inside the window: the reminder was published (its mail is here) but not yet recorded as
        # fired. The restart fires it again, with the same event id: the agency must not be reminded twice.
        scheduling.kill(signal.SIGKILL)
        log = (tmp_path / "log" / "scheduling.log").read_text()
        assert ":due_soon:7 fired" not in log, "the kill came after the window"
        scheduling.start()
        scheduling.wait_ready()
        wait_until(lambda: ":due_soon:7 fired" in (tmp_path / "log" / "scheduling.log").read_text(), 30, 0.2,
                   "the reminder to fire again after the restart")  # fmt: skip

        # The conference: announced on time although the process was dead at that moment.
        staff = {"X-API-Key": "operator-key"}  # the public view leaves out the internal schedule
        announce_at = httpx.get(f"{scheduling.url}/api/v1/conferences/{conference['id']}", headers=staff).json()[
            "announce_at"
        ]
        scheduling.kill(signal.SIGKILL)
        from datetime import UTC, datetime

        lead = (datetime.fromisoformat(announce_at) - datetime.now(UTC)).total_seconds()
        clock.write_text(str(lead + 60))
        scheduling.start()
        scheduling.wait_ready()
        wait_until(lambda: subjects("Giấy mời dự hội nghị"), 30, 0.2, "the invitation")
        wait_until(lambda: all(t["status"] != "pending" for t in timers()), 60, 0.2, "every opinion timer fired")
        quiet(smtp)  # a late duplicate would arrive now: count only once nothing has come for a while

        counts = collections.Counter(m["Subject"] for m in smtp.mail.messages())
        assert counts["[Phường Thử Nghiệm] Giấy mời dự hội nghị đối thoại — 08:00 ngày 10/01/2030"] == 1
        for days in (7, 3, 1):
            reminder = [s for s in counts if f"còn {days} ngày trả lời ý kiến {code}" in s]
            assert len(reminder) == 1 and counts[reminder[0]] == 1, counts
        overdue = [s for s in counts if f"QUÁ HẠN trả lời ý kiến {code}" in s]
        assert len(overdue) == 1 and counts[overdue[0]] == 1, counts
