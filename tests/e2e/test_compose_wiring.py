"""docker-compose.yml cannot run here (no Docker engine); prove its wiring another way.

The linked city with a ward and a commune is started from the compose file itself: the links
jobs and the twelve services each run with the compose command and environment. Only what names
the compose network (broker, database and mail hosts, secret paths, published ports) is pointed at
this machine's broker, database and SMTP server, and the instance ids get a suffix so a stack the
developer runs is left alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from deploy.links import Hierarchy
from deploy.localstack.processes import ServiceProcess, free_port, wait_until
from shared.agencies import load_seed, seed_for
from shared.http import tokens
from shared.messaging.admin import RabbitAdmin
from shared.messaging.links import link_user
from tests.conftest import AMQP_HOST, RABBIT_MANAGEMENT

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ("phuong-bo-de", "xa-bat-trang", "ha-noi")
LEVELS = {"ward": "ward", "commune": "commune", "city": "city"}  # compose's short name → the instance's level
SERVICES = ("intake", "scheduling", "assignment", "notification")


def compose(tag: str = "") -> dict[str, Any]:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for instance in INSTANCES:
        text = re.sub(rf"\b{instance}\b(?!\.doithoai)", f"{instance}{tag}", text)
    return yaml.safe_load(text)


def expand(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR:-default}, and ${VAR:?message} for what must be set."""

    def one(m: re.Match[str]) -> str:
        if m.group(2) == ":-":
            return env.get(m.group(1), m.group(3))
        if m.group(1) not in env:
            raise KeyError(f"{m.group(1)}: {m.group(3)}")
        return env[m.group(1)]

    return re.sub(r"\$\{(\w+)(:-|:\?)([^}]*)\}", one, value)


def test_compose_file_declares_a_healthy_start_order() -> None:
    spec = compose()["services"]
    assert {"rabbitmq", "mongo", "mailcatcher", "prometheus", "grafana", "links-prepare", "links-connect"} <= set(spec)
    assert "--replSet" in spec["mongo"]["command"]
    for short in LEVELS:
        for name in SERVICES:
            service = spec[f"{short}-{name}"]
            assert service["command"] == ["python", "-m", f"services.{name}"]
            assert service["depends_on"] == {
                "rabbitmq": {"condition": "service_healthy"},
                "mongo": {"condition": "service_healthy"},
                "links-prepare": {"condition": "service_completed_successfully"},
            }
            port = service["environment"]["DOITHOAI_HTTP_PORT"]
            assert f"127.0.0.1:{port}/health/ready" in " ".join(service["healthcheck"]["test"])
            assert service["ports"] == [f"{port}:{port}"] and service["image"] == "doithoai:latest"
            # Each instance has keys of its own: a ward's operator key opens nothing at the city.
            assert service["secrets"] == [
                {"source": f"{short}_api_keys", "target": "api_keys"},
                {"source": f"{short}_console_public_key", "target": "console_public_key"},
            ]
        console = spec[f"{short}-console"]
        assert console["command"] == ["python", "-m", "services.console"]
        assert console["secrets"] == [{"source": f"{short}_console_key", "target": "console_key"}]
        for name in SERVICES:  # the console calls its own instance's services
            assert console["environment"][f"DOITHOAI_{name.upper()}_URL"].startswith(f"http://{short}-{name}:")
    assert "build" in spec["ward-intake"]
    # Admin interfaces only on the host's loopback; no default password anywhere.
    for admin in ("rabbitmq", "mailcatcher", "prometheus"):
        assert all(p.startswith("127.0.0.1:") for p in spec[admin]["ports"]), spec[admin]["ports"]
    with pytest.raises(KeyError, match="GRAFANA_ADMIN_PASSWORD"):
        expand(spec["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"], {})
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert not re.search(r"\$\{\w*PASSWORD\w*:-", text), "a password with a default value"
    assert spec["links-connect"]["depends_on"]["city-assignment"] == {"condition": "service_healthy"}
    enabled = (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_shovel" in enabled and "rabbitmq_prometheus" in enabled


def local_env(environment: dict[str, str], secrets: dict[str, str], *, mongo_url: str, smtp_port: int,
              keys_file: Path, console_keys: Path, urls: dict[str, str]) -> dict[str, str]:  # fmt: skip
    env = {k: expand(str(v), secrets) for k, v in environment.items()}
    if "DOITHOAI_BROKER_URL" in env:  # the console has no broker
        broker = re.match(r"amqp://([^:]+):([^@]+)@rabbitmq:5672/(.+)$", env["DOITHOAI_BROKER_URL"])
        assert broker, env["DOITHOAI_BROKER_URL"]
        assert broker.group(3) == env["DOITHOAI_INSTANCE_ID"] and broker.group(1) == f"doithoai-{broker.group(3)}"
        env["DOITHOAI_BROKER_URL"] = f"amqp://{broker.group(1)}:{broker.group(2)}@{AMQP_HOST}/{broker.group(3)}"
    assert env["DOITHOAI_CONSOLE_PUBLIC_KEY_FILE"] == "/run/secrets/console_public_key"
    env["DOITHOAI_CONSOLE_PUBLIC_KEY_FILE"] = str(console_keys.with_suffix(".pub"))
    if "DOITHOAI_SIGNING_KEY_FILE" in env:
        assert env["DOITHOAI_SIGNING_KEY_FILE"] == "/run/secrets/console_key"
        env["DOITHOAI_SIGNING_KEY_FILE"] = str(console_keys.with_suffix(".pem"))
        for name in SERVICES:  # compose's service names → where those processes listen here
            env[f"DOITHOAI_{name.upper()}_URL"] = urls[name]
    assert env["DOITHOAI_MONGO_URL"].startswith("mongodb://mongo:27017/")
    env["DOITHOAI_MONGO_URL"] = mongo_url
    assert env["DOITHOAI_API_KEYS_FILE"] == "/run/secrets/api_keys"
    env["DOITHOAI_API_KEYS_FILE"] = str(keys_file)
    if "DOITHOAI_SMTP_HOST" in env:
        assert env["DOITHOAI_SMTP_HOST"] == "mailcatcher"
        env["DOITHOAI_SMTP_HOST"], env["DOITHOAI_SMTP_PORT"] = "127.0.0.1", str(smtp_port)
    return env


def test_the_linked_deployment_runs_from_the_compose_file(secantus, smtp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tag = f"-{uuid.uuid4().hex[:5]}"
    spec = compose(tag)["services"]
    secrets = {
        "RABBITMQ_ADMIN_USER": "guest", "RABBITMQ_ADMIN_PASSWORD": "guest", "LINK_PASSWORD": "dev-link",
        "WARD_BROKER_PASSWORD": uuid.uuid4().hex, "COMMUNE_BROKER_PASSWORD": uuid.uuid4().hex,
        "CITY_BROKER_PASSWORD": uuid.uuid4().hex, "ACK_SECRET": uuid.uuid4().hex,
    }  # fmt: skip
    hierarchy_text = (ROOT / "deploy/hierarchy.compose.yaml").read_text(encoding="utf-8")
    for instance in INSTANCES:
        hierarchy_text = re.sub(rf"\b{instance}\b", f"{instance}{tag}", hierarchy_text)
    hierarchy_text = hierarchy_text.replace("amqp://rabbitmq:5672", f"amqp://{AMQP_HOST}")
    hierarchy_text = hierarchy_text.replace("http://rabbitmq:15672", RABBIT_MANAGEMENT)
    hierarchy = tmp_path / "hierarchy.yaml"
    hierarchy.write_text(hierarchy_text, encoding="utf-8")
    credentials_text = (ROOT / "deploy/secrets/links.example.json").read_text(encoding="utf-8")
    for instance in INSTANCES:
        credentials_text = credentials_text.replace(f'"{instance}"', f'"{instance}{tag}"')
    credentials = tmp_path / "links.json"
    credentials.write_text(credentials_text, encoding="utf-8")
    example = json.loads((ROOT / "deploy/secrets/api_keys.example.json").read_text())
    keys_files: dict[str, Path] = {}
    keys: dict[str, dict[str, str]] = {}  # short name → role → key, as an operator would write them
    for short in LEVELS:
        mine = {f"{short}-{holder['role']}-{uuid.uuid4().hex}": holder for holder in example.values()}
        level = LEVELS[short]  # a key per agency of the level's directory
        for record in load_seed(seed_for(level), instance_id="x", level=level):
            mine[f"{short}-{record.id}-{uuid.uuid4().hex}"] = {"role": "agency", "agency_id": record.id}
        keys[short] = {holder.get("agency_id") or holder["role"]: key for key, holder in mine.items()}
        keys_files[short] = tmp_path / f"{short}.api_keys.json"
        keys_files[short].write_text(json.dumps(mine))
    front = {"X-API-Key": keys["ward"]["front"]}

    def links(job: str) -> None:
        command = spec[job]["command"]
        assert command[:3] == ["python", "-m", "deploy.links"]
        args = [a.replace("deploy/hierarchy.compose.yaml", str(hierarchy)) for a in command[3:]]
        args = [a.replace("/run/secrets/links", str(credentials)) for a in args]
        env = {**os.environ, **{k: expand(str(v), secrets) for k, v in spec[job]["environment"].items()}}
        out = subprocess.run([sys.executable, "-m", "deploy.links", *args], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=180)  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr

    console_keys = {}
    for short in LEVELS:  # what `python -m deploy.console_keys` makes
        console_keys[short] = tmp_path / f"{short}.console"
        private, public = tokens.new_key_pair()
        console_keys[short].with_suffix(".pem").write_text(private)
        console_keys[short].with_suffix(".pub").write_text(public)
    procs: dict[str, ServiceProcess] = {}
    admin = RabbitAdmin(RABBIT_MANAGEMENT)
    try:
        links("links-prepare")
        for short in LEVELS:
            for name in (*SERVICES, "console"):
                service = spec[f"{short}-{name}"]
                urls = {n: procs[f"{short}-{n}"].url for n in SERVICES if f"{short}-{n}" in procs}
                env = local_env(service["environment"], secrets, mongo_url=secantus.url, smtp_port=smtp.port,
                                keys_file=keys_files[short], console_keys=console_keys[short], urls=urls)  # fmt: skip
                proc = ServiceProcess(service["command"][2].removeprefix("services."), env, free_port(),
                                      tmp_path / f"{short}-{name}.log")  # fmt: skip
                proc.env["DOITHOAI_HTTP_PORT"] = str(proc.port)  # published ports may be taken on this machine
                procs[f"{short}-{name}"] = proc
                proc.start()
        for proc in procs.values():
            proc.wait_ready(90)
        links("links-connect")

        ward, city = procs["ward-intake"].url, procs["city-assignment"].url
        ward_keys = {"X-API-Key": keys["ward"]["operator"]}
        r = httpx.get(f"{city}/api/v1/summary?period=2026", headers=ward_keys)
        assert r.status_code == 401, "a ward's operator key must open nothing at the city"
        # A national road is the city's (the province's) matter since 2025: it goes up, the answer comes down.
        text = "Quốc lộ 5 đoạn qua phường Bồ Đề xuống cấp, nhiều ổ gà sâu, đề nghị sửa chữa"
        r = httpx.post(f"{ward}/api/v1/opinions", headers=front, json={"text": text, "channel": "direct"})
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]

        def accepted() -> dict[str, Any] | None:
            view = httpx.get(f"{ward}/api/v1/opinions/{code}").json()
            return view if view["status"] == "accepted" else None

        view = wait_until(accepted, 60, 0.3, "the city to accept the escalated opinion")
        assert view["holder"] == "Thành phố Hà Nội" and view["agency"] == "Sở Xây dựng (Thành phố Hà Nội)"
        held = httpx.get(f"{city}/api/v1/opinions/{code}", headers={"X-API-Key": keys["city"]["operator"]})
        agency = {"X-API-Key": keys["city"][held.json()["agency_id"]]}  # the department it is assigned to
        r = httpx.post(f"{city}/api/v1/opinions/{code}/answer", headers=agency,
                       json={"kind": "written", "text": "Sở đã giao đơn vị quản lý đường sửa chữa."})  # fmt: skip
        assert r.status_code == 200, r.text
        wait_until(lambda: httpx.get(f"{ward}/api/v1/opinions/{code}").json()["status"] == "closed", 60, 0.3,
                   "the answer back at the ward")  # fmt: skip
        # The ward's console shows the citizen the answer that came down from the city.
        page = httpx.get(f"{procs['ward-console'].url}/theo-doi/{code}")
        assert page.status_code == 200 and "đơn vị quản lý đường sửa chữa" in page.text
        # A matter the commune decides stays there.
        commune = procs["commune-intake"].url
        r = httpx.post(f"{commune}/api/v1/opinions", headers={"X-API-Key": keys["commune"]["front"]},
                       json={"text": "Kênh mương nội đồng xứ Đồng Bến bị bồi lắng", "channel": "direct"})  # fmt: skip
        local = r.json()["tracking_code"]
        view = wait_until(lambda: (v := httpx.get(f"{commune}/api/v1/opinions/{local}").json())["status"] == "assigned"
                          and v, 60, 0.3, "the commune to keep its own matter")  # fmt: skip
        assert view["agency"] == "Phòng Kinh tế"
    finally:
        for proc in procs.values():
            proc.stop()
        for instance in INSTANCES:
            admin.delete_vhost(f"{instance}{tag}")
            admin.delete_user(f"doithoai-{instance}{tag}")
        for source, target in Hierarchy.from_yaml(hierarchy).links():
            admin.delete_user(link_user(source.id, target.id))
        admin.close()


def test_a_service_refuses_the_example_keys_copied_unchanged(tmp_path: Path) -> None:
    keys_file = tmp_path / "api_keys.json"
    keys_file.write_text((ROOT / "deploy/secrets/api_keys.example.json").read_text(encoding="utf-8"))
    env = {**os.environ, "DOITHOAI_API_KEYS_FILE": str(keys_file), "DOITHOAI_ACK_SECRET": uuid.uuid4().hex}
    out = subprocess.run([sys.executable, "-m", "services.intake"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode != 0
    assert "example keys" in out.stderr, out.stderr[-2000:]
