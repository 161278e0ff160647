"""The committed AsyncAPI and OpenAPI documents are what the code generates (CI fails on drift)."""

from __future__ import annotations

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
