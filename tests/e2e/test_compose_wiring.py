"""docker-compose.yml cannot run here (no Docker engine); prove its wiring another way.

Each service is started with the compose file's own command and environment; only what names
the compose network (broker, database and mail hosts, the secret's path, published ports) is
pointed at this machine's broker, database and SMTP server.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml

from deploy.localstack.processes import ServiceProcess, free_port, wait_until
from tests.conftest import AMQP_HOST

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "scheduling", "assignment", "notification")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def expand(value: str) -> str:
    """Compose's ${VAR:-default} interpolation."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1), m.group(2)), value)


def test_compose_file_declares_a_healthy_start_order() -> None:
    spec = compose()["services"]
    assert {"rabbitmq", "mongo", *SERVICES} <= set(spec)
    assert "--replSet" in spec["mongo"]["command"]
    for name in SERVICES:
        service = spec[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        assert service["depends_on"] == {
            "rabbitmq": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
        }
        port = service["environment"]["DOITHOAI_HTTP_PORT"]
        assert f"127.0.0.1:{port}/health/ready" in " ".join(service["healthcheck"]["test"])
        assert service["ports"] == [f"{port}:{port}"]
    assert "build" in spec["intake"] and all(spec[n]["image"] == "doithoai:latest" for n in SERVICES)
    enabled = (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_shovel" in enabled and "rabbitmq_prometheus" in enabled


def local_env(
    environment: dict[str, str], *, vhost: str, mongo_url: str, smtp_port: int, keys_file: Path
) -> dict[str, str]:
    env = {k: expand(str(v)) for k, v in environment.items()}
    broker = urlsplit(env["DOITHOAI_BROKER_URL"])
    assert (
        broker.scheme == "amqp" and broker.hostname == "rabbitmq" and broker.path == f"/{env['DOITHOAI_INSTANCE_ID']}"
    )
    env["DOITHOAI_BROKER_URL"] = urlunsplit(("amqp", f"guest:guest@{AMQP_HOST}", f"/{vhost}", "", ""))
    assert urlsplit(env["DOITHOAI_MONGO_URL"]).hostname == "mongo"
    env["DOITHOAI_MONGO_URL"] = mongo_url
    assert env["DOITHOAI_API_KEYS_FILE"] == "/run/secrets/api_keys"
    env["DOITHOAI_API_KEYS_FILE"] = str(keys_file)
    if "DOITHOAI_SMTP_HOST" in env:
        assert env["DOITHOAI_SMTP_HOST"] == "mailcatcher"
        env["DOITHOAI_SMTP_HOST"], env["DOITHOAI_SMTP_PORT"] = "127.0.0.1", str(smtp_port)
    return env


def test_services_start_with_the_compose_command_and_environment(vhost, secantus, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = compose()["services"]
    keys = json.loads((ROOT / "deploy/secrets/api_keys.example.json").read_text())
    keys_file = tmp_path / "api_keys.json"
    keys_file.write_text(json.dumps(keys))
    front_key = next(k for k, role in keys.items() if role == "front")

    procs = {}
    for name in SERVICES:
        env = local_env(
            spec[name]["environment"], vhost=vhost, mongo_url=secantus.url, smtp_port=smtp.port, keys_file=keys_file
        )
        assert spec[name]["command"][:2] == ["python", "-m"]
        proc = ServiceProcess(
            spec[name]["command"][2].removeprefix("services."), env, free_port(), tmp_path / f"{name}.log"
        )
        proc.env["DOITHOAI_HTTP_PORT"] = str(proc.port)  # published ports may be taken on this machine
        procs[name] = proc
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_ready()
        r = httpx.post(
            f"{procs['intake'].url}/api/v1/opinions",
            headers={"X-API-Key": front_key},
            json={"text": "Ô nhiễm khói bụi từ xưởng gỗ", "channel": "written"},
        )
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]
        wait_until(
            lambda: httpx.get(f"{procs['intake'].url}/api/v1/opinions/{code}").json()["status"] == "assigned",
            30,
            0.2,
            "the opinion to be assigned",
        )
        wait_until(lambda: any(code in m["Subject"] for m in smtp.mail.messages()), 30, 0.2, "the agency's mail")
    finally:
        for proc in procs.values():
            proc.stop()
