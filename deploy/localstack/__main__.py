"""`python -m deploy.localstack`: run the whole linked system on this machine, no Docker needed.

Starts SecantusDB (a MongoDB-protocol server) and a local SMTP server that keeps mail in a
folder; on the local RabbitMQ makes a vhost and a user per instance of the hierarchy
(`deploy/hierarchy.local.yaml`: a city with two wards and a commune); starts the four services of every
instance; then creates the shovels that link them; prints where everything listens; restarts a
service that dies; Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import time
from pathlib import Path

from deploy.links import Hierarchy
from deploy.localstack import mailbox
from deploy.localstack.stack import BACKENDS, DEV_ROLES, LocalStack, Ports, dev_key, on_broker
from services.console.app import DEV_ACCOUNTS, DEV_PASSWORD

log = logging.getLogger("localstack")

DEFAULT_HIERARCHY = Path(__file__).resolve().parents[1] / "hierarchy.local.yaml"


def banner(stack: LocalStack, mongo_url: str, smtp_port: int, management: str) -> str:
    hierarchy, var = stack.hierarchy, stack.var
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
    if stack.hosted:
        lines.append("  Hosted mode: one process per service serves every instance (files in var/hosted/)")
    for inst in hierarchy.instances:
        parent = f", parent {inst.parent}" if inst.parent else ""
        lines.append(f"  {inst.name} — instance {inst.id}, level {inst.level}{parent}, vhost /{inst.id}")
        lines.append(f"    console (web) {stack.console_urls[inst.id]}   ← people start here")
        for service in BACKENDS:
            lines.append(f"    {service:<13} {stack.url(inst.id, service)}   (/docs, /metrics, /health/ready)")
    first = hierarchy.instances[0].id
    accounts = ", ".join(f"{username} ({', '.join(roles)})" for username, _, _, roles, _ in DEV_ACCOUNTS)
    lines += [
        "",
        f"  Console logins (every instance, password {DEV_PASSWORD}): {accounts},",
        "    and one per agency of the directory, named by its id (e.g. dia-chinh-xay-dung).",
        "  Citizens need no account: the console's home page sends and follows opinions.",
        "",
        "  Machines use API keys (X-API-Key), one set per instance: "
        + ", ".join(dev_key("<instance>", role) for role in DEV_ROLES)
        + ", and dev-<agency id>-<instance> for each agency (it reaches only what is addressed to it),"
        + f" e.g. {dev_key(first, 'front')}",
        "  Broker users: doithoai-<instance id> / dev-<instance id>; one user per link, doithoai-link-<a>-to-<b>",
        f"  Mail sent by the system: {var / 'mail'}",
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
    parser.add_argument(
        "--hosted",
        action="store_true",
        help="one process per service for every instance, on base+1…5: /i/<instance>/… and <instance>.localhost",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s localstack: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    var: Path = args.var.resolve()
    if args.fresh and var.exists():
        shutil.rmtree(var)
    for sub in ("db", "mail", "log"):
        (var / sub).mkdir(parents=True, exist_ok=True)

    hierarchy = on_broker(Hierarchy.from_yaml(args.hierarchy), args.amqp, args.management)
    stack = LocalStack(
        hierarchy,
        var,
        smtp_port=args.smtp_port,
        ports=Ports(args.port_base),
        mongo_port=args.mongo_port,
        hosted=args.hosted,
    )
    smtp, _ = mailbox.start(var / "mail", port=args.smtp_port)
    log.info("SMTP mail folder listening on 127.0.0.1:%d", args.smtp_port)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        stack.start()
        print(banner(stack, stack.database.url, args.smtp_port, args.management), flush=True)
        while not stopping:
            stack.restart_dead()
            time.sleep(1)
    except Exception as exc:
        log.error("%s", exc)
        return 1
    finally:
        log.info("stopping")
        stack.stop()
        smtp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
