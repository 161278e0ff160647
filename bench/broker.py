"""A RabbitMQ node of the benchmark's own, started fresh for each run and configured as a province's broker.

The machine's broker (127.0.0.1:5672) carries whatever the tests and earlier runs left; a province's broker is
its own node with the settings of deploy/rabbitmq/province.conf. This one runs beside it on other ports, from
Debian's installation, as the `rabbitmq` user, with its data in a folder of the run (removed at the end).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from deploy.localstack.processes import wait_until

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "rabbitmq"
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


class RabbitNode:
    def __init__(self, folder: Path, *, tuned: bool = True, port: int = 5682) -> None:
        """`tuned`: the province's settings (deploy/rabbitmq/province.conf); otherwise RabbitMQ's defaults."""
        self.folder, self.tuned, self.port = folder.resolve(), tuned, port
        self.management_port, self.name = port + 10000, f"bench-{port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def amqp(self) -> str:
        return f"amqp://127.0.0.1:{self.port}"

    @property
    def management(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def start(self, timeout: float = 120) -> None:
        self._wait_until_gone()  # the node of the run before, on the same name and ports
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        settings = (CONFIG / "province.conf").read_text(encoding="utf-8") if self.tuned else ""
        settings += (
            f"\nlisteners.tcp.default = {self.port}\nmanagement.tcp.port = {self.management_port}\n"
            f"prometheus.tcp.port = {self.management_port + 20}\n"
        )
        (self.folder / "rabbitmq.conf").write_text(settings, encoding="utf-8")
        shutil.copy(CONFIG / "enabled_plugins", self.folder / "enabled_plugins")
        shutil.chown(self.folder, "rabbitmq", "rabbitmq")
        env = {
            "HOME": str(self.folder),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_DIST_PORT": str(self.port + 20000),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "node.pid"),
        }
        if self.tuned:
            env |= env_config(CONFIG / "province-env.conf")
        command = ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items()), SERVER]
        log = (self.folder / "console.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command)
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_many_files
        )
        wait_until(self._answers, timeout, 1.0, f"RabbitMQ node {self.name} to answer")

    def _answers(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"RabbitMQ node {self.name} exited; see {self.folder / 'console.log'}")
        try:
            httpx.get(f"{self.management}/api/overview", auth=("guest", "guest"), timeout=2).raise_for_status()
        except httpx.HTTPError:
            return False
        return True

    @property
    def pid(self) -> int:
        """The Erlang VM's process (the script's child)."""
        return int((self.folder / "node.pid").read_text().strip())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the node shuts down cleanly on SIGTERM
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._wait_until_gone()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _wait_until_gone(self, timeout: float = 60) -> None:
        """Until no node of this name is registered and its distribution port is free."""
        wait_until(self._gone, timeout, 1.0, f"an earlier RabbitMQ node {self.name} to be gone")

    def _gone(self) -> bool:
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True).stdout
        if f"name {self.name.split('@')[0]} at" in names:
            return False
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the node will
            try:
                probe.bind(("127.0.0.1", self.port + 20000))
            except OSError:
                return False
        return True


def env_config(path: Path) -> dict[str, str]:
    """The variables of a rabbitmq-env.conf file, as environment variables (each with its RABBITMQ_ prefix)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[f"RABBITMQ_{name.strip()}"] = value.strip().strip('"')
    return out


def _many_files() -> None:
    """Thousands of queues and a thousand connections: as many open files as the machine allows."""
    _, most = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (most, most))
