"""Real parts for the tests: a SecantusDB server, a RabbitMQ vhost per test, an SMTP server per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from deploy.localstack import mailbox
from shared.messaging.admin import RabbitAdmin

AMQP_HOST = os.environ.get("DOITHOAI_TEST_AMQP_HOST", "127.0.0.1:5672")
RABBIT_MANAGEMENT = os.environ.get("DOITHOAI_TEST_RABBIT_MANAGEMENT", "http://127.0.0.1:15672")

API_KEYS = {"front-key": "front", "agency-key": "agency", "operator-key": "operator"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class SecantusServer:
    """A real MongoDB-protocol server (SecantusDB) in standalone mode, on disk under `path`."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("secantusd-py", path=str(Path(sys.executable).parent)) or "secantusd-py"
        self.process = subprocess.Popen(
            [exe, "--standalone", "--storage-path", str(self.path), "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "WARNING"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.path.parent / f"secantus-{self.port}.log", "ab"),
        )
        client = MongoClient(self.url, serverSelectionTimeoutMS=500)

        def up() -> bool:
            try:
                client.admin.command("ping")
                return True
            except Exception:
                assert self.process and self.process.poll() is None, "secantusd-py exited; see its log"
                return False

        wait_until(up, 60, 0.2, "SecantusDB to accept connections")
        client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def secantus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusServer]:
    server = SecantusServer(tmp_path_factory.mktemp("secantus") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbit_admin() -> Iterator[RabbitAdmin]:
    admin = RabbitAdmin(RABBIT_MANAGEMENT)
    yield admin
    admin.close()


@pytest.fixture
def instance_id() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def vhost(rabbit_admin: RabbitAdmin, instance_id: str) -> Iterator[str]:
    """An isolated RabbitMQ vhost for one test, deleted afterwards."""
    rabbit_admin.ensure_vhost(instance_id)
    yield instance_id
    rabbit_admin.delete_vhost(instance_id)


@pytest.fixture
def broker_url(vhost: str) -> str:
    return f"amqp://guest:guest@{AMQP_HOST}/{vhost}"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[int, mailbox.MailFolder]]:
    port = free_port()
    controller, folder = mailbox.start(tmp_path / "mail", port=port)
    yield port, folder
    controller.stop()


@pytest.fixture
def service_env(instance_id: str, broker_url: str, secantus: SecantusServer, smtp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Settings of one test instance, as environment variables (what the processes read)."""
    import json

    return {
        "DOITHOAI_INSTANCE_ID": instance_id,
        "DOITHOAI_INSTANCE_NAME": "Phường Thử Nghiệm",
        "DOITHOAI_LEVEL": "ward",
        "DOITHOAI_BROKER_URL": broker_url,
        "DOITHOAI_MONGO_URL": secantus.url,
        "DOITHOAI_API_KEYS": json.dumps(API_KEYS),
        "DOITHOAI_SMTP_PORT": str(smtp[0]),
        "DOITHOAI_OUTBOX_INTERVAL_S": "0.5",
        "DOITHOAI_OUTBOX_GRACE_S": "1",
    }
