"""`python -m deploy.localstack`: run the whole system on this machine, no Docker needed.

Starts SecantusDB (a MongoDB-protocol server), a local SMTP server that keeps mail in a folder,
a RabbitMQ vhost per instance on the local broker, and the four services of every instance of
the stack; prints where everything listens; restarts a service that dies; Ctrl-C stops it all.
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

from deploy.localstack import mailbox
from deploy.localstack.processes import SecantusServer, ServiceProcess
from shared.messaging.admin import RabbitAdmin

log = logging.getLogger("localstack")

SERVICES = {"intake": 1, "scheduling": 2, "assignment": 3, "notification": 4}

DEV_API_KEYS = {"dev-front-key": "front", "dev-agency-key": "agency", "dev-operator-key": "operator"}


@dataclass(frozen=True)
class Instance:
    id: str
    name: str
    level: str
    parent: str | None
    port_base: int

    def port(self, service: str) -> int:
        return self.port_base + SERVICES[service]


# The embedded default stack.
STACK = [Instance("phuong-thuy-luong", "Phường Thủy Lương", "ward", None, 8100)]


def instance_env(instance: Instance, *, amqp: str, mongo_url: str, smtp_port: int) -> dict[str, str]:
    env = {
        "DOITHOAI_INSTANCE_ID": instance.id,
        "DOITHOAI_INSTANCE_NAME": instance.name,
        "DOITHOAI_LEVEL": instance.level,
        "DOITHOAI_BROKER_URL": f"amqp://guest:guest@{amqp}/{instance.id}",
        "DOITHOAI_MONGO_URL": mongo_url,
        "DOITHOAI_API_KEYS": json.dumps(DEV_API_KEYS),
        "DOITHOAI_SMTP_HOST": "127.0.0.1",
        "DOITHOAI_SMTP_PORT": str(smtp_port),
        "DOITHOAI_INTAKE_PUBLIC_URL": f"http://127.0.0.1:{instance.port('intake')}",
    }
    if instance.parent:
        env["DOITHOAI_PARENT_ID"] = instance.parent
    return env


def banner(stack: list[Instance], var: Path, mongo_url: str, smtp_port: int, management: str) -> str:
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
    for inst in stack:
        lines.append(f"  {inst.name} — instance {inst.id}, level {inst.level}, vhost /{inst.id}")
        for service in SERVICES:
            port = inst.port(service)
            lines.append(f"    {service:<13} http://127.0.0.1:{port}   (/docs, /metrics, /health/ready)")
    first = stack[0]
    lines += [
        "",
        "  Development API keys (X-API-Key): " + ", ".join(f"{k} ({r})" for k, r in DEV_API_KEYS.items()),
        "",
        "  Try:",
        f"    curl -s -X POST http://127.0.0.1:{first.port('intake')}/api/v1/opinions \\",
        "      -H 'Content-Type: application/json' -H 'X-API-Key: dev-front-key' \\",
        '      -d \'{"text": "Đề nghị sửa đường nội đồng thôn Đông", "channel": "direct",'
        ' "citizen": {"email": "dan@example.vn"}}\'',
        f"    curl -s http://127.0.0.1:{first.port('intake')}/api/v1/opinions/<tracking_code>",
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s localstack: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    var: Path = args.var.resolve()
    if args.fresh and var.exists():
        shutil.rmtree(var)
    for sub in ("db", "mail", "log"):
        (var / sub).mkdir(parents=True, exist_ok=True)

    admin = RabbitAdmin(args.management)
    for inst in STACK:
        admin.ensure_vhost(inst.id)
        log.info("RabbitMQ vhost /%s ready", inst.id)

    database = SecantusServer(var / "db", port=args.mongo_port, log=var / "log" / "secantus.log")
    database.start()
    log.info("SecantusDB listening on %s", database.url)
    smtp, _ = mailbox.start(var / "mail", port=args.smtp_port)
    log.info("SMTP mail folder listening on 127.0.0.1:%d", args.smtp_port)

    processes: list[ServiceProcess] = []
    for inst in STACK:
        env = instance_env(inst, amqp=args.amqp, mongo_url=database.url, smtp_port=args.smtp_port)
        for service in SERVICES:
            proc = ServiceProcess(service, env, inst.port(service), var / "log" / f"{inst.id}-{service}.log")
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
        print(banner(STACK, var, database.url, args.smtp_port, args.management), flush=True)
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
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
