"""Services as separate processes, as `make run` starts them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from deploy.localstack.processes import ServiceProcess, free_port


@contextlib.contextmanager
def service_processes(names: tuple[str, ...], env: dict[str, str], logs: Path) -> Iterator[dict[str, ServiceProcess]]:
    """Start the named services of one instance, wait until each is ready; stop them afterwards."""
    ports = {name: free_port() for name in names}
    env = {"DOITHOAI_CONSOLE_URL": "http://console.test", **env}
    procs = {name: ServiceProcess(name, env, ports[name], logs / f"{name}.log") for name in names}
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()
