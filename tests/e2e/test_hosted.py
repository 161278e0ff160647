"""Hosted mode as a province runs it: one process per service serves every instance of the file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from deploy.links import Hierarchy, InstanceSpec
from deploy.localstack.processes import free_port, wait_until
from deploy.localstack.stack import LocalStack, Ports, dev_key
from shared.messaging.admin import RabbitAdmin
from tests.conftest import RABBIT_MANAGEMENT
from tests.e2e.test_localstack import free_block

pytestmark = pytest.mark.e2e


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        return "250 OK"


@pytest.fixture
def province(tmp_path: Path) -> Iterator[LocalStack]:
    tag = uuid.uuid4().hex[:6]
    city = f"tinh-{tag}"
    hierarchy = Hierarchy(
        instances=[
            InstanceSpec(id=f"xa-an-{tag}", name="Xã An Bình", level="commune", parent=city),
            InstanceSpec(id=f"phuong-ha-{tag}", name="Phường Hà Cầu", level="ward", parent=city),
            InstanceSpec(id=city, name="Tỉnh Thử Nghiệm", level="city"),
        ]
    )
    rules = tmp_path / "jurisdiction.yaml"
    rules.write_text("default: ward\nfields:\n  land: city\n", encoding="utf-8")
    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    stack = LocalStack(
        hierarchy,
        tmp_path / "var",
        smtp_port=smtp.port,
        ports=Ports(free_block()),
        mongo_port=free_port(),
        hosted=True,
        extra_env={"DOITHOAI_JURISDICTION_RULES": str(rules)},
    )
    admin = RabbitAdmin(RABBIT_MANAGEMENT)
    try:
        stack.start(ready_timeout=120)
        yield stack
    finally:
        stack.stop()
        smtp.stop()
        for inst in hierarchy.instances:
            admin.delete_vhost(inst.id)
        admin.close()


def front(instance: str) -> dict[str, str]:
    return {"X-API-Key": dev_key(instance, "front")}


def test_one_process_per_service_serves_each_instance_apart_and_escalates(province: LocalStack) -> None:
    commune, ward, city = (i.id for i in province.hierarchy.instances)
    assert len(province.processes) == 5  # four services and the console, for three instances
    pids = {service: proc.process.pid for (_, service), proc in province.processes.items() if proc.process}
    http = httpx.Client(timeout=30)

    # Each instance answers under its own prefix, with its own keys and its own data.
    opinion = {"text": "Đường liên thôn qua xóm Đông bị sụt lún, đề nghị sửa chữa", "channel": "online"}
    created = http.post(f"{province.url(commune, 'intake')}/api/v1/opinions", json=opinion, headers=front(commune))
    assert created.status_code == 201, created.text
    code = created.json()["tracking_code"]
    assert created.json()["status_url"].startswith(f"{province.url(commune, 'intake')}/api/v1/opinions/")
    assert http.get(created.json()["status_url"]).status_code == 200
    assert http.get(f"{province.url(ward, 'intake')}/api/v1/opinions/{code}").status_code == 404
    at_ward = f"{province.url(ward, 'intake')}/api/v1/opinions"
    assert http.post(at_ward, json=opinion, headers=front(commune)).status_code == 401
    assert http.post(at_ward, json=opinion, headers=front(ward)).status_code == 201
    unknown = http.get(f"{province.processes[('*', 'intake')].url}/i/khong-co/api/v1/opinions/{code}")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_instance"

    # A land matter goes up to the province on receipt, is answered there, and closes at the commune.
    land = {"text": "Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho thửa đất số 112", "channel": "online"}
    up = http.post(f"{province.url(commune, 'intake')}/api/v1/opinions", json=land, headers=front(commune)).json()
    there = f"{province.url(city, 'assignment')}/api/v1/opinions/{up['tracking_code']}"
    operator = {"X-API-Key": dev_key(city, "operator")}

    def assigned_at_the_province() -> dict[str, Any] | None:
        response = http.get(there, headers=operator)
        return response.json() if response.status_code == 200 and response.json()["status"] == "assigned" else None

    item = wait_until(assigned_at_the_province, 60, 0.2, "the escalated opinion at the province")
    agency = {"X-API-Key": dev_key(city, "agency", item["agency_id"])}
    answer = {"kind": "written", "text": "UBND tỉnh đã chỉ đạo cấp giấy chứng nhận.", "document_number": "12/UBND"}
    http.post(f"{there}/answer", json=answer, headers=agency).raise_for_status()
    status_at_commune = f"{province.url(commune, 'intake')}/api/v1/opinions/{up['tracking_code']}"
    wait_until(lambda: http.get(status_at_commune).json()["status"] == "closed", 60, 0.2, "the answer back down")

    # People reach their own instance's console by host name.
    console = province.processes[("*", "console")].url
    for instance, name in ((commune, "Xã An Bình"), (ward, "Phường Hà Cầu")):
        page = http.get(f"{console}/", headers={"Host": f"{instance}.localhost"})
        assert page.status_code == 200 and name in page.text

    # One /metrics for the process, each series labelled with its instance.
    metrics = http.get(f"{province.processes[('*', 'intake')].url}/metrics").text
    received = 'doithoai_opinions_received_total{{channel="online",instance="{}",level="{}",service="intake"}} {}'
    assert received.format(commune, "commune", "2.0") in metrics.splitlines()
    assert received.format(ward, "ward", "1.0") in metrics.splitlines()

    # Its log lines name the instance, in requests as in consumers.
    lines = (province.var / "log" / "hosted-intake.log").read_text(encoding="utf-8").splitlines()
    assert any(f"received opinion {code}" in line and f"instance={commune}" in line for line in lines)

    # An instance taken out of the file stops; the others go on in the same process; put back, it returns.
    listing = province.var / "hosted" / "intake.json"
    original = listing.read_text(encoding="utf-8")
    hosted = json.loads(original)
    hosted["instances"] = [e for e in hosted["instances"] if e["instance_id"] != ward]
    listing.write_text(json.dumps(hosted), encoding="utf-8")
    ward_status = f"{province.url(ward, 'intake')}/health/live"
    wait_until(lambda: http.get(ward_status).status_code == 404, 30, 0.5, "the ward to be taken out")
    assert http.get(created.json()["status_url"]).status_code == 200
    listing.write_text(original, encoding="utf-8")
    wait_until(lambda: http.get(ward_status).status_code == 200, 60, 0.5, "the ward to come back")

    # A wrong entry (its broker password file is missing) fails alone: the process names it, a request for it
    # gets 503 rather than "no such instance", the others go on; mended, the process is ready again.
    root = province.processes[("*", "intake")].url
    entry = next(e for e in hosted["instances"] if e["instance_id"] == commune)
    broken = {**entry, "instance_id": f"{commune}-2", "broker_password_file": "/nowhere/broker"}
    listing.write_text(json.dumps({"instances": [*json.loads(original)["instances"], broken]}), encoding="utf-8")
    wait_until(lambda: http.get(f"{root}/health/ready").status_code == 503, 30, 0.5, "the wrong entry to be seen")
    assert http.get(f"{root}/health/ready").json()["failed"] == [broken["instance_id"]]
    refused = http.get(f"{root}/i/{broken['instance_id']}/health/live")
    assert refused.status_code == 503 and refused.json()["error"] == "instance_unavailable"
    assert http.get(created.json()["status_url"]).status_code == 200
    listing.write_text(original, encoding="utf-8")
    wait_until(lambda: http.get(f"{root}/health/ready").status_code == 200, 30, 0.5, "the process to be ready")
    assert {s: p.process.pid for (_, s), p in province.processes.items() if p.process} == pids
