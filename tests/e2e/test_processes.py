"""The four services as separate processes, as `make run` starts them: the whole story, and kill -9."""

from __future__ import annotations

import collections
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.localstack.processes import ServiceProcess, wait_until
from tests.e2e.conftest import service_processes

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "scheduling", "assignment", "notification")
FRONT = {"X-API-Key": "front-key"}
CODE = re.compile(r"YK-[0-9A-Z]{4}-[0-9A-Z]{4}")


@pytest.fixture
def processes(service_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    with service_processes(SERVICES, service_env, tmp_path / "log") as procs:
        yield procs


def agency_mail_codes(smtp) -> collections.Counter[str]:  # type: ignore[no-untyped-def]
    """How many assignment notices each tracking code got."""
    return collections.Counter(
        CODE.search(m["Subject"]).group(0)  # type: ignore[union-attr]
        for m in smtp.mail.messages()
        if "Giao xử lý" in m["Subject"]
    )


def submit(intake: str, text: str, email: str | None = None) -> str:
    body: dict = {"text": text, "channel": "online"}  # type: ignore[type-arg]
    if email:
        body["citizen"] = {"name": "Người dân", "email": email}
    r = httpx.post(f"{intake}/api/v1/opinions", json=body, headers=FRONT, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["tracking_code"]


def test_opinion_story_across_processes(processes, smtp) -> None:  # type: ignore[no-untyped-def]
    intake = processes["intake"].url
    code = submit(intake, "Đề nghị nạo vét kênh mương nội đồng xứ Đồng Cao", "cuong@example.vn")

    def assigned() -> dict | None:  # type: ignore[type-arg]
        view = httpx.get(f"{intake}/api/v1/opinions/{code}").json()
        return view if view["status"] == "assigned" else None

    view = wait_until(assigned, 30, 0.2, "assignment")
    assert view["field"] == "agriculture" and view["agency"] == "Phòng Kinh tế, Hạ tầng và Đô thị"
    wait_until(lambda: agency_mail_codes(smtp)[code] == 1, 30, 0.2, "the agency's mail")
    ack = [m for m in smtp.mail.messages() if m["To"] == "cuong@example.vn"]
    assert len(ack) == 1 and code in ack[0]["Subject"]
    assert f"http://console.test/theo-doi/{code}" in ack[0].get_content()  # the tracking page of the console

    r = httpx.post(
        f"{processes['assignment'].url}/api/v1/opinions/{code}/answer",
        json={"kind": "written", "text": "Đã đưa vào kế hoạch nạo vét tháng 3.", "document_number": "7/BNN"},
        headers={"X-API-Key": "agency-key-phong-kinh-te"},
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: httpx.get(f"{intake}/api/v1/opinions/{code}").json()["status"] == "closed", 30, 0.2, "closed")
    wait_until(
        lambda: len([m for m in smtp.mail.messages() if m["To"] == "cuong@example.vn"]) == 2,
        30,
        0.2,
        "the citizen's answer mail",
    )
    metrics = httpx.get(f"{processes['assignment'].url}/metrics").text
    assert "doithoai_opinions_answered_total{instance=" in metrics


def test_assignment_killed_mid_batch_loses_nothing_and_duplicates_nothing(processes, smtp) -> None:  # type: ignore[no-untyped-def]
    intake = processes["intake"].url
    assignment = processes["assignment"]
    codes: list[str] = []

    def submit_batch(worker: int) -> None:
        for i in range(40):
            codes.append(submit(intake, f"Rác thải tồn đọng ở tổ dân phố số {worker}-{i}"))

    submitters = [threading.Thread(target=submit_batch, args=(w,)) for w in range(4)]
    for t in submitters:
        t.start()
    try:
        wait_until(lambda: sum(agency_mail_codes(smtp).values()) >= 10, 60, 0.05, "the first assignments")
        assignment.kill(signal.SIGKILL)
        submitted_at_kill = len(codes)
    finally:
        for t in submitters:
            t.join()
    assert submitted_at_kill < len(codes), "the kill did not land in the middle of the batch"

    assignment.start()
    assignment.wait_ready()

    wait_until(lambda: set(agency_mail_codes(smtp)) == set(codes), 120, 0.5, "every opinion's agency mail")
    counts = agency_mail_codes(smtp)
    assert [c for c, n in counts.items() if n != 1] == [], "some opinions were notified twice"

    def all_assigned() -> bool:
        params = {"service_request_id": ",".join(codes), "api_key": "operator-key"}  # staff: more than 20 at once
        found = httpx.get(f"{intake}/open311/v2/requests.json", params=params).json()
        return len(found) == len(codes) and all(r["agency_responsible"] for r in found)

    wait_until(all_assigned, 60, 0.5, "every opinion's status to show its agency")
