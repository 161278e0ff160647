"""A linked stack on this machine: the four services of every instance of a hierarchy, on the local
RabbitMQ (a vhost and a user per instance, shovels between them) and one SecantusDB.

Used by `make run` (deploy.localstack), the benchmark and the fault-injection harness.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from deploy.links import Credentials, Hierarchy, InstanceSpec, connect, link_states, prepare
from deploy.localstack.processes import SecantusServer, ServiceProcess, wait_until
from shared.agencies import load_seed, seed_for
from shared.hosting import entry_from_env
from shared.http import tokens

log = logging.getLogger("localstack")

SERVICES = {"intake": 1, "scheduling": 2, "assignment": 3, "notification": 4, "console": 5}
BACKENDS = ("intake", "scheduling", "assignment", "notification")
DEV_ROLES = {
    "front": "Cán bộ Mặt trận (thử nghiệm)",
    "secretary": "Thư ký hội nghị (thử nghiệm)",
    "head": "Người đứng đầu (thử nghiệm)",
    "operator": "Quản trị vận hành (thử nghiệm)",
}


def dev_key(instance: str, role: str, agency_id: str | None = None) -> str:
    """A development API key, documented in the README: `dev-<role>-<instance>`, for an agency
    `dev-<agency id>-<instance>`. Each instance has its own; an agency's reaches only its items."""
    return f"dev-{agency_id or role}-{instance}"


def dev_api_keys(instance: str, level: str) -> dict[str, dict[str, str]]:
    keys = {
        dev_key(instance, role): {"role": role, "name": name, "instance": instance} for role, name in DEV_ROLES.items()
    }
    for agency in load_seed(seed_for(level), instance_id=instance, level=level):
        keys[dev_key(instance, "agency", agency.id)] = {
            "role": "agency",
            "agency_id": agency.id,
            "name": agency.name,
            "instance": instance,
        }
    return keys


def dev_credentials(hierarchy: Hierarchy) -> Credentials:
    """Development passwords, documented in the README; production ones come from a secrets file."""
    return Credentials(shovel="dev-link", instances={i.id: f"dev-{i.id}" for i in hierarchy.instances})


@dataclass(frozen=True)
class Ports:
    base: int = 8100

    def of(self, index: int, service: str) -> int:
        """The n-th instance of the file listens on base + 10·n + 1…4."""
        return self.base + 10 * index + SERVICES[service]


def on_broker(hierarchy: Hierarchy, amqp: str, management: str) -> Hierarchy:
    """The hierarchy with every instance on the given broker (host:port) and management API."""
    return Hierarchy(
        instances=[
            i.model_copy(update={"amqp": f"amqp://{amqp}", "management": management}) for i in hierarchy.instances
        ]
    )


def console_keys(folder: Path) -> tuple[Path, Path]:
    """The console's signing key pair of one instance, made once and kept (development only)."""
    private, public = folder / "console.pem", folder / "console.pub"
    if not private.exists() or not public.exists():
        folder.mkdir(parents=True, exist_ok=True)
        private_pem, public_pem = tokens.new_key_pair()
        private.write_text(private_pem)
        private.chmod(0o600)
        public.write_text(public_pem)
    return private, public


def instance_env(
    hierarchy: Hierarchy,
    inst: InstanceSpec,
    creds: Credentials,
    *,
    mongo_url: str,
    smtp_port: int,
    console_url: str,
    public_key: Path,
) -> dict[str, str]:
    return {
        **hierarchy.settings_env(inst.id),
        "DOITHOAI_BROKER_URL": inst.uri(inst.user, creds.instance(inst.id)),
        "DOITHOAI_MONGO_URL": mongo_url,
        "DOITHOAI_API_KEYS": json.dumps(dev_api_keys(inst.id, inst.level)),
        "DOITHOAI_SMTP_HOST": "127.0.0.1",
        "DOITHOAI_SMTP_PORT": str(smtp_port),
        "DOITHOAI_CONSOLE_URL": console_url,
        "DOITHOAI_CONSOLE_PUBLIC_KEY_FILE": str(public_key),
        # The console forwards each citizen's address; on this machine it calls from 127.0.0.1.
        "DOITHOAI_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "DOITHOAI_ACK_SECRET": f"dev-ack-secret-{inst.id}",  # development only, like the keys above
    }


def console_env(backends: dict[str, str], public_url: str, private_key: Path) -> dict[str, str]:
    return {
        **{f"DOITHOAI_{s.upper()}_URL": url for s, url in backends.items()},
        "DOITHOAI_SIGNING_KEY_FILE": str(private_key),
        "DOITHOAI_PUBLIC_URL": public_url,
        "DOITHOAI_DEV_ACCOUNTS": "true",  # README lists them; development only
    }


class LocalStack:
    """Start with `start()`, stop with `stop()`; `processes[(instance, service)]` are the services.

    Mail goes to an SMTP server on `smtp_port` that the caller runs.
    """

    def __init__(
        self,
        hierarchy: Hierarchy,
        var: Path,
        *,
        smtp_port: int,
        ports: Ports = Ports(),
        mongo_port: int | None = None,
        extra_env: dict[str, str] | None = None,
        console: bool = True,
        hosted: bool = False,
    ) -> None:
        """`hosted`: one process per service serves every instance (shared/hosting.py), on base+1…5;
        instance `x` answers under `/i/x/` and its console at `http://x.localhost:<base+5>/`."""
        self.hierarchy = hierarchy
        self.creds = dev_credentials(hierarchy)
        self.var = var
        self.ports = ports
        self.smtp_port = smtp_port
        self.database = SecantusServer(var / "db", port=mongo_port, log=var / "log" / "secantus.log")
        self.hosted = hosted
        self.processes: dict[tuple[str, str], ServiceProcess] = {}
        services = SERVICES if console else BACKENDS
        entries: dict[str, list[dict[str, object]]] = {service: [] for service in services}
        self.console_urls: dict[str, str] = {}
        for index, inst in enumerate(hierarchy.instances):
            private_key, public_key = console_keys(var / "keys" / inst.id)
            at = 0 if hosted else index
            host = f"{inst.id}.localhost" if hosted else "127.0.0.1"
            console_url = self.console_urls[inst.id] = f"http://{host}:{ports.of(at, 'console')}"
            env = instance_env(
                hierarchy,
                inst,
                self.creds,
                mongo_url=self.database.url,
                smtp_port=smtp_port,
                console_url=console_url,
                public_key=public_key,
            )
            prefix = f"/i/{inst.id}" if hosted else ""
            backends = {s: f"http://127.0.0.1:{ports.of(at, s)}{prefix}" for s in BACKENDS}
            for service in services:
                own = console_env(backends, console_url, private_key) if service == "console" else {}
                service_env = {**env, **own, **(extra_env or {})}
                if hosted:
                    entries[service].append(entry_from_env(service_env))
                    continue
                self.processes[(inst.id, service)] = ServiceProcess(
                    service, service_env, ports.of(index, service), var / "log" / f"{inst.id}-{service}.log"
                )
        # The process's own settings (its HTTP server): the console's calls come from 127.0.0.1.
        process_env = {"DOITHOAI_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]), **(extra_env or {})}
        for service, listed in entries.items() if hosted else ():
            path = var / "hosted" / f"{service}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"instances": listed}, ensure_ascii=False, indent=1), encoding="utf-8")
            log_file = var / "log" / f"hosted-{service}.log"
            self.processes[("*", service)] = ServiceProcess(
                service, process_env, ports.of(0, service), log_file, ("--hosted", str(path))
            )

    def url(self, instance: str, service: str) -> str:
        if self.hosted:
            return f"{self.processes[('*', service)].url}/i/{instance}"
        return self.processes[(instance, service)].url

    def start(self, ready_timeout: float = 60.0) -> None:
        for sub in ("db", "log"):
            (self.var / sub).mkdir(parents=True, exist_ok=True)
        prepare(self.hierarchy, self.creds)
        log.info("RabbitMQ vhosts and users ready: %s", ", ".join(i.id for i in self.hierarchy.instances))
        self.database.start()
        log.info("SecantusDB listening on %s", self.database.url)
        for proc in self.processes.values():
            proc.start()
        for proc in self.processes.values():
            log.info("waiting for %s on port %d", proc.service, proc.port)
            proc.wait_ready(ready_timeout)
        shovels = connect(self.hierarchy, self.creds)
        wait_until(self.links_running, ready_timeout, 0.5, "the link shovels")
        log.info("links running: %s", ", ".join(shovels))

    def links_running(self) -> bool:
        return all(s == "running" for s in link_states(self.hierarchy, self.creds).values())

    def restart_dead(self) -> None:
        for proc in self.processes.values():
            if not proc.alive():
                log.warning("%s (port %d) exited; restarting — see %s", proc.service, proc.port, proc.log)
                proc.start()

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.stop()
        self.database.stop()
