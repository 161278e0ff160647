"""The committed AsyncAPI and OpenAPI documents are what the code generates (CI fails on drift)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_api_documents_match_the_code() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOITHOAI_")}
    out = subprocess.run([sys.executable, "-m", "deploy.docs", "--check"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_each_queue_documents_the_events_it_takes_and_nothing_else() -> None:
    """A queue's messages are the envelopes of the events its service handles; the catch-all that sends anything
    else to the dead-letter queue has no payload and is not one of them (FastStream would list `EmptyPayload`)."""
    for name in ("intake", "assignment", "scheduling", "notification"):
        spec = json.loads((ROOT / "docs" / "asyncapi" / f"{name}.json").read_text(encoding="utf-8"))
        for message in spec["components"]["messages"].values():
            refs = [p["$ref"] for p in message["payload"].get("oneOf", [message["payload"]])]
            assert refs and all(r.startswith("#/components/schemas/Envelope") for r in refs), (name, refs)
