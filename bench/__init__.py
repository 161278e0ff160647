"""Benchmarks: figures anyone can reproduce with one command each (see the Makefile)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any


def start_logging() -> None:
    """Progress lines with their time; the libraries' chatter kept out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("httpx", "mail.log", "localstack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
