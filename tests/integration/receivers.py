"""Real HTTP servers standing in for an agency's webhook endpoint and an SMS gateway."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Verifies signatures as an agency's system should: HMAC over `<timestamp>.<body>`, fresh
    timestamps only, each notification id once. Answers the queued status codes first."""

    def __init__(self, secret: str, statuses: list[int] | None = None, tolerance_s: int = 300) -> None:
        self.secret = secret.encode()
        self.statuses = list(statuses or [])
        self.tolerance_s = tolerance_s
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.seen: set[str] = set()
        self.calls = 0

    def verify(self, headers: dict[str, str], body: bytes) -> str | None:
        timestamp = headers.get("x-doithoai-timestamp", "")
        expected = "sha256=" + hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-doithoai-signature", "")):
            return "bad signature"
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.tolerance_s:
            return "stale timestamp"
        if headers.get("x-doithoai-notification-id") in self.seen:
            return "replay"
        return None

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        self.calls += 1
        if self.statuses:
            return self.statuses.pop(0), {"error": "temporarily unavailable"}
        problem = self.verify(headers, body)
        if problem:
            self.rejected.append(problem)
            return 401, {"error": problem}
        self.seen.add(headers["x-doithoai-notification-id"])
        self.accepted.append(json.loads(body))
        return 200, {"acknowledged": True}


class SmsGateway:
    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "bad token"}
        self.messages.append(json.loads(body))
        return 200, {"status": "queued"}


@contextmanager
def serve(target: WebhookReceiver | SmsGateway) -> Iterator[str]:
    """Run `target` as a real HTTP server on a free port; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, reply = target.handle({k.lower(): v for k, v in self.headers.items()}, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
