"""Child processes of the local stack and of the end-to-end tests: SecantusDB and the services."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from pymongo import MongoClient

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _venv_tool(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name) or name


class SecantusServer:
    """A MongoDB-protocol server (SecantusDB) in standalone mode, storing under `path`."""

    def __init__(self, path: Path | str, port: int | None = None, log: Path | None = None) -> None:
        self.path = Path(path) if path != ":memory:" else path
        self.port = port or free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        out: IO[bytes] | int = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                _venv_tool("secantusd-py"),
                "--standalone",
                "--storage-path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        client: MongoClient = MongoClient(self.url, serverSelectionTimeoutMS=500)

        def up() -> bool:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"secantusd-py exited with {self.process.returncode}; see {self.log}")
            try:
                client.admin.command("ping")
                return True
            except Exception:
                return False

        try:
            wait_until(up, timeout, 0.2, f"SecantusDB on port {self.port}")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ServiceProcess:
    """One service of one instance, run as `python -m services.<name>` with its settings in env."""

    def __init__(self, service: str, env: dict[str, str], port: int, log: Path, args: tuple[str, ...] = ()) -> None:
        self.service = service
        self.args = args
        self.env = {**os.environ, **env, "DOITHOAI_HTTP_PORT": str(port), "PYTHONUNBUFFERED": "1"}
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}", *self.args],
            env=self.env,
            stdout=out,
            stderr=out,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        if not self.alive():
            code = self.process.returncode if self.process else None
            raise RuntimeError(f"{self.service} exited with {code}; see {self.log}")
        # The standard library's client: httpx builds an SSL context for each call (tens of ms of CPU), and
        # five probes a second of that slowed the very start-up they wait for.
        try:
            with urllib.request.urlopen(f"{self.url}/health/ready", timeout=1.0) as answer:  # noqa: S310 (http)
                return bool(answer.status == 200)
        except OSError:  # refused, timed out, or an HTTP error status (not ready yet)
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_until(self.ready, timeout, 0.2, f"{self.service} on port {self.port} to be ready")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)
            self.process.wait(30)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
