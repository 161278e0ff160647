"""Benchmarks: figures anyone can reproduce with one command each (see the Makefile)."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.messaging.admin import RabbitAdmin


def start_logging() -> None:
    """Progress lines with their time; the libraries' chatter kept out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("httpx", "mail.log", "localstack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


def fresh_run(out: Path, land: str) -> tuple[Path, Path]:
    """An empty run folder (logs, database) and a jurisdiction table sending land matters to `land`."""
    var = out / "run"
    shutil.rmtree(var, ignore_errors=True)
    (var / "log").mkdir(parents=True)
    rules = var / "jurisdiction.yaml"
    rules.write_text(f"default: ward\nfields:\n  land: {land}\n", encoding="utf-8")
    return var, rules


def delete_vhosts(admin: RabbitAdmin, vhosts: Iterable[str]) -> None:
    """Before a run, what an earlier one left; after it, its own (idle quorum queues cost the broker CPU)."""
    for vhost in vhosts:
        with contextlib.suppress(Exception):
            admin.delete_vhost(vhost)


def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now (VmRSS) and at its peak (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}
