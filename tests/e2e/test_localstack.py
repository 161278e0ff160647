"""`make run`'s launcher, as a newcomer runs it: the linked stack starts, escalates, and stops cleanly."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from deploy.links import Hierarchy
from deploy.localstack.processes import free_port, wait_until
from deploy.localstack.stack import dev_key
from shared.messaging.admin import RabbitAdmin
from shared.messaging.links import link_user
from tests.conftest import RABBIT_MANAGEMENT

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def free_block(size: int = 50) -> int:
    """A base for the stack's ports, below the kernel's ephemeral range (32768 and up): a port
    there can be taken at any moment by some outgoing connection of another test."""
    for base in range(20000, 32000, 100):
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + size):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no free block of ports between 20000 and 32000")


def test_the_linked_local_stack_runs_and_escalates(tmp_path: Path) -> None:
    """The default stack: two levels, a city with two wards and a commune directly under it."""
    # The embedded hierarchy, with ids of its own so a stack the developer runs is not disturbed.
    tag = uuid.uuid4().hex[:6]
    data = yaml.safe_load((ROOT / "deploy/hierarchy.local.yaml").read_text(encoding="utf-8"))
    rename = {i["id"]: f"{i['id']}-{tag}" for i in data["instances"]}
    for inst in data["instances"]:
        inst["id"] = rename[inst["id"]]
        inst["parent"] = rename.get(inst.get("parent"))
    hierarchy = tmp_path / "hierarchy.yaml"
    hierarchy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    base = free_block()
    out = open(tmp_path / "stack.out", "wb")
    stack = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy.localstack",
            "--var",
            str(tmp_path / "var"),
            "--hierarchy",
            str(hierarchy),
            "--port-base",
            str(base),
            "--mongo-port",
            str(free_port()),
            "--smtp-port",
            str(free_port()),
        ],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    admin = RabbitAdmin(RABBIT_MANAGEMENT)
    try:
        wait_until(
            lambda: b"local stack is running" in (tmp_path / "stack.out").read_bytes(),
            180,
            0.5,
            "the banner (see stack.out)",
        )
        banner = (tmp_path / "stack.out").read_text(encoding="utf-8")
        assert f"http://127.0.0.1:{base + 1}" in banner and f"http://127.0.0.1:{base + 34}" in banner

        ward = f"http://127.0.0.1:{base + 1}"
        r = httpx.post(
            f"{ward}/api/v1/opinions",
            headers={"X-API-Key": dev_key(rename["phuong-bo-de"], "front")},
            json={"text": "Quốc lộ 5 đoạn qua phường xuống cấp, đề nghị sửa chữa", "channel": "direct"},
        )
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]
        view = wait_until(
            lambda: (v := httpx.get(f"{ward}/api/v1/opinions/{code}").json())["status"] == "accepted" and v,
            60,
            0.3,
            "the city to accept the escalated opinion (a national road is the province's matter)",
        )
        assert view["holder"] == "Thành phố Hà Nội"
        # Each instance's user reaches only its own vhost.
        perms = admin._call("GET", f"/users/doithoai-{rename['phuong-bo-de']}/permissions").json()
        assert [p["vhost"] for p in perms] == [rename["phuong-bo-de"]]
    finally:
        stack.send_signal(signal.SIGTERM)
        stack.wait(90)
        for inst_id in rename.values():
            admin.delete_vhost(inst_id)
            admin.delete_user(f"doithoai-{inst_id}")
        for source, target in Hierarchy.from_yaml(hierarchy).links():
            admin.delete_user(link_user(source.id, target.id))
        admin.close()
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "the launcher left processes behind"
    assert stack.returncode == 0
