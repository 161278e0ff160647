"""Real parts for the tests: a SecantusDB server, a RabbitMQ vhost per test, an SMTP server per test."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.localstack import mailbox
from deploy.localstack.processes import SecantusServer, free_port, wait_until  # noqa: F401
from shared.agencies import load_seed, seed_for
from shared.messaging.admin import RabbitAdmin

AMQP_HOST = os.environ.get("DOITHOAI_TEST_AMQP_HOST", "127.0.0.1:5672")
RABBIT_MANAGEMENT = os.environ.get("DOITHOAI_TEST_RABBIT_MANAGEMENT", "http://127.0.0.1:15672")


def agency_key(agency_id: str) -> str:
    """The test key of one agency of the default directory: it reaches only that agency's items."""
    return f"agency-key-{agency_id}"


API_KEYS: dict[str, Any] = {
    "front-key": {"role": "front", "name": "Nguyễn Thị Thư"},
    "front-key-twin": {"role": "front", "name": "Nguyễn Thị Thư"},  # same role, name and first characters
    "secretary-key": {"role": "secretary", "name": "Lê Văn Ký"},
    "head-key": {"role": "head", "name": "Phạm Văn Trưởng"},
    "operator-key": {"role": "operator", "name": "Trần Văn Vận"},
    # Unnamed, bound to the agency that takes land, construction, traffic and environment.
    "agency-key": {"role": "agency", "agency_id": "phong-kinh-te"},
    **{  # the agencies of every level's built-in directory (a commune's, a ward's, a district's, a province's)
        agency_key(a.id): {"role": "agency", "agency_id": a.id, "name": a.name}
        for level in ("district", "province", "commune", "ward")
        for a in load_seed(seed_for(level), instance_id="test", level=level)
    },
}


@pytest.fixture(scope="session")
def secantus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusServer]:
    folder = tmp_path_factory.mktemp("secantus")
    server = SecantusServer(folder / "data", log=folder / "secantus.log")
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


class LocalSmtp:
    """A real SMTP server (aiosmtpd) keeping mail in a folder; tests can stop and restart it."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.controller = None
        self.mail = mailbox.MailFolder(folder)

    def start(self) -> None:
        self.controller, self.mail = mailbox.start(self.folder, port=self.port)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[LocalSmtp]:
    server = LocalSmtp(tmp_path / "mail", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def service_env(instance_id: str, broker_url: str, secantus: SecantusServer, smtp: LocalSmtp) -> dict[str, str]:
    """Settings of one test instance, as environment variables (what the processes read)."""
    return {
        "DOITHOAI_INSTANCE_ID": instance_id,
        "DOITHOAI_INSTANCE_NAME": "Phường Thử Nghiệm",
        "DOITHOAI_LEVEL": "ward",
        "DOITHOAI_BROKER_URL": broker_url,
        "DOITHOAI_MONGO_URL": secantus.url,
        "DOITHOAI_API_KEYS": json.dumps(API_KEYS),
        "DOITHOAI_SMTP_PORT": str(smtp.port),
        "DOITHOAI_OUTBOX_INTERVAL_S": "0.5",
        "DOITHOAI_OUTBOX_GRACE_S": "1",
        "DOITHOAI_ACK_SECRET": "test-ack-secret-0123456789",
        "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "0",  # tests poll the public endpoints; test_limits checks the limit
    }


@pytest.fixture
def env(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`service_env` set in this process's environment, for apps built in the test; a module that
    needs more settings overrides this fixture, asking for `env` and setting its own on top."""
    for k, v in service_env.items():
        monkeypatch.setenv(k, v)
    return service_env
