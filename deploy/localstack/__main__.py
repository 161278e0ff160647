"""`python -m deploy.localstack`: run the whole linked system on this machine, no Docker needed.

Starts SecantusDB (a MongoDB-protocol server) and a local SMTP server that keeps mail in a
folder; on the local RabbitMQ makes a vhost and a user per instance of the hierarchy
(`deploy/hierarchy.local.yaml`: two wards, a district, a city); starts the four services of every
instance; then creates the shovels that link them; prints where everything listens; restarts a
service that dies; Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.links import Credentials, Hierarchy, InstanceSpec, connect, link_states, prepare
from deploy.localstack import mailbox
from deploy.localstack.processes import SecantusServer, ServiceProcess, wait_until

log = logging.getLogger("localstack")

SERVICES = {"intake": 1, "scheduling": 2, "assignment": 3, "notification": 4}

DEV_API_KEYS = {"dev-front-key": "front", "dev-agency-key": "agency", "dev-operator-key": "operator"}


DEFAULT_HIERARCHY = Path(__file__).resolve().parents[1] / "hierarchy.local.yaml"


def dev_credentials(hierarchy: Hierarchy) -> Credentials:
    """Development passwords, documented in the README; production ones come from a secrets file."""
    return Credentials(shovel="dev-link", instances={i.id: f"dev-{i.id}" for i in hierarchy.instances})


@dataclass(frozen=True)
class Ports:
    base: int = 8100

    def of(self, index: int, service: str) -> int:
        """The n-th instance of the file listens on base + 10·n + 1…4."""
        return self.base + 10 * index + SERVICES[service]


def instance_env(
    hierarchy: Hierarchy, inst: InstanceSpec, creds: Credentials, *, mongo_url: str, smtp_port: int, intake_port: int
) -> dict[str, str]:
    return {
        **hierarchy.settings_env(inst.id),
        "DOITHOAI_BROKER_URL": inst.uri(inst.user, creds.instance(inst.id)),
        "DOITHOAI_MONGO_URL": mongo_url,
        "DOITHOAI_API_KEYS": json.dumps(DEV_API_KEYS),
        "DOITHOAI_SMTP_HOST": "127.0.0.1",
        "DOITHOAI_SMTP_PORT": str(smtp_port),
        "DOITHOAI_INTAKE_PUBLIC_URL": f"http://127.0.0.1:{intake_port}",
    }


def banner(hierarchy: Hierarchy, ports: Ports, var: Path, mongo_url: str, smtp_port: int, management: str) -> str:
    lines = [
        "",
        "doithoai local stack is running (Ctrl-C stops it)",
        "",
        f"  RabbitMQ         amqp://guest:guest@127.0.0.1:5672  (management {management}, user guest/guest)",
        f"  SecantusDB       {mongo_url}  (data in {var / 'db'})",
        f"  SMTP (mail)      127.0.0.1:{smtp_port}  (every mail kept in {var / 'mail'}: .eml as sent, .txt to read)",
        f"  Logs             {var / 'log'}",
        "",
    ]
    for index, inst in enumerate(hierarchy.instances):
        parent = f", parent {inst.parent}" if inst.parent else ""
        lines.append(f"  {inst.name} — instance {inst.id}, level {inst.level}{parent}, vhost /{inst.id}")
        for service in SERVICES:
            port = ports.of(index, service)
            lines.append(f"    {service:<13} http://127.0.0.1:{port}   (/docs, /metrics, /health/ready)")
    intake = ports.of(0, "intake")
    lines += [
        "",
        "  Development API keys (X-API-Key): " + ", ".join(f"{k} ({r})" for k, r in DEV_API_KEYS.items()),
        "  Broker users: doithoai-<instance id> / dev-<instance id>; link shovels: doithoai-link / dev-link",
        "",
        "  Try it (land is a district matter: watch the opinion go up, and the answer come back down):",
        f"    curl -s -X POST http://127.0.0.1:{intake}/api/v1/opinions \\",
        "      -H 'Content-Type: application/json' -H 'X-API-Key: dev-front-key' \\",
        '      -d \'{"text": "Đề nghị cấp giấy chứng nhận quyền sử dụng đất", "channel": "direct",'
        ' "citizen": {"email": "dan@example.vn"}}\'',
        f"    curl -s http://127.0.0.1:{intake}/api/v1/opinions/<tracking_code>",
        f"    ls {var / 'mail'}",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var", type=Path, default=Path("var"), help="folder for data, mail and logs (var/)")
    parser.add_argument("--mongo-port", type=int, default=27017)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--amqp", default="127.0.0.1:5672", help="RabbitMQ host:port")
    parser.add_argument("--management", default="http://127.0.0.1:15672", help="RabbitMQ management URL")
    parser.add_argument("--fresh", action="store_true", help="delete stored data and mail first")
    parser.add_argument("--hierarchy", type=Path, default=DEFAULT_HIERARCHY, help="instances and their links")
    parser.add_argument("--port-base", type=int, default=8100, help="first instance on base+1…4, next on base+11…")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s localstack: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    var: Path = args.var.resolve()
    if args.fresh and var.exists():
        shutil.rmtree(var)
    for sub in ("db", "mail", "log"):
        (var / sub).mkdir(parents=True, exist_ok=True)

    hierarchy = Hierarchy.from_yaml(args.hierarchy)
    hierarchy = Hierarchy(
        instances=[
            i.model_copy(update={"amqp": f"amqp://{args.amqp}", "management": args.management})
            for i in hierarchy.instances
        ]
    )
    creds = dev_credentials(hierarchy)
    ports = Ports(args.port_base)
    prepare(hierarchy, creds)
    log.info("RabbitMQ vhosts and users ready: %s", ", ".join(i.id for i in hierarchy.instances))

    database = SecantusServer(var / "db", port=args.mongo_port, log=var / "log" / "secantus.log")
    database.start()
    log.info("SecantusDB listening on %s", database.url)
    smtp, _ = mailbox.start(var / "mail", port=args.smtp_port)
    log.info("SMTP mail folder listening on 127.0.0.1:%d", args.smtp_port)

    processes: list[ServiceProcess] = []
    for index, inst in enumerate(hierarchy.instances):
        env = instance_env(
            hierarchy,
            inst,
            creds,
            mongo_url=database.url,
            smtp_port=args.smtp_port,
            intake_port=ports.of(index, "intake"),
        )
        for service in SERVICES:
            proc = ServiceProcess(service, env, ports.of(index, service), var / "log" / f"{inst.id}-{service}.log")
            proc.start()
            processes.append(proc)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for proc in processes:
            log.info("waiting for %s on port %d", proc.service, proc.port)
            proc.wait_ready()
        shovels = connect(hierarchy, creds)
        wait_until(
            lambda: all(s == "running" for s in link_states(hierarchy, creds).values()), 60, 0.5, "the link shovels"
        )
        log.info("links running: %s", ", ".join(shovels))
        print(banner(hierarchy, ports, var, database.url, args.smtp_port, args.management), flush=True)
        while not stopping:
            for proc in processes:
                if not proc.alive() and not stopping:
                    log.warning("%s (port %d) exited; restarting — see %s", proc.service, proc.port, proc.log)
                    proc.start()
            time.sleep(1)
    except Exception as exc:
        log.error("%s", exc)
        return 1
    finally:
        log.info("stopping")
        for proc in processes:
            proc.stop()
        smtp.stop()
        database.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
