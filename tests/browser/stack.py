"""One ward as `make run` starts it, for the browser tests: the four services and the console as separate
processes, on the real broker and database, the console signing persons' tokens the services verify."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.localstack.processes import ServiceProcess, free_port
from shared.http import tokens
from tests.e2e.conftest import service_processes

SERVICES = ("intake", "scheduling", "assignment", "notification")


@dataclass
class Ward:
    services: dict[str, ServiceProcess]
    console: ServiceProcess
    private_key: Path

    @property
    def url(self) -> str:
        return self.console.url

    def api(self, service: str) -> str:
        return self.services[service].url


def key_pair(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    private_pem, public_pem = tokens.new_key_pair()
    private, public = folder / "console.pem", folder / "console.pub"
    private.write_text(private_pem)
    private.chmod(0o600)
    public.write_text(public_pem)
    return private, public


@contextlib.contextmanager
def ward_with_console(env: dict[str, str], folder: Path) -> Iterator[Ward]:
    """Start the services (with the console's public key), then the console (with its private key and
    the services' addresses); stop them all afterwards. Logs are under `folder`/log."""
    private, public = key_pair(folder / "keys")
    console_port = free_port()
    console_url = f"http://127.0.0.1:{console_port}"
    services_env = {
        **env,
        "DOITHOAI_CONSOLE_PUBLIC_KEY_FILE": str(public),
        "DOITHOAI_CONSOLE_URL": console_url,
        # The console forwards each person's address; it calls from 127.0.0.1.
        "DOITHOAI_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
    }
    with service_processes(SERVICES, services_env, folder / "log") as procs:
        console_env = {
            **env,
            **{f"DOITHOAI_{name.upper()}_URL": proc.url for name, proc in procs.items()},
            "DOITHOAI_SIGNING_KEY_FILE": str(private),
            "DOITHOAI_PUBLIC_URL": console_url,
            "DOITHOAI_DEV_ACCOUNTS": "true",
        }
        console = ServiceProcess("console", console_env, console_port, folder / "log" / "console.log")
        console.start()
        try:
            console.wait_ready()
            yield Ward(procs, console, private)
        finally:
            console.stop()
