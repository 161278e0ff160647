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

    def __init__(
        self,
        secret: str,
        statuses: list[int] | None = None,
        tolerance_s: int = 300,
        reply: dict[str, Any] | None = None,
    ) -> None:
        self.secret = secret.encode()
        self.statuses = list(statuses or [])
        self.tolerance_s = tolerance_s
        self.reply = reply or {"error": "temporarily unavailable"}  # the body sent with the queued statuses
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.seen: set[str] = set()
        self.hosts: list[str] = []  # the Host header of each call
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
        self.hosts.append(headers.get("host", ""))
        if self.statuses:
            return self.statuses.pop(0), self.reply
        problem = self.verify(headers, body)
        if problem:
            self.rejected.append(problem)
            return 401, {"error": problem}
        self.seen.add(headers["x-doithoai-notification-id"])
        self.accepted.append(json.loads(body))
        return 200, {"acknowledged": True}


class SmsGateway:
    def __init__(self, token: str, refusal: str = "bad token") -> None:
        self.token = token
        self.refusal = refusal  # the body's error for a wrong token
        self.messages: list[dict[str, Any]] = []

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": self.refusal}
        self.messages.append(json.loads(body))
        return 200, {"status": "queued"}


class RawReplier:
    """A server that is not quite HTTP: whatever the request, it answers `raw` bytes and hangs up
    (what a database or a broker port says to an HTTP client, or a receiver breaking the protocol)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.calls = 0


@contextmanager
def serve(target: WebhookReceiver | SmsGateway | RawReplier) -> Iterator[str]:
    """Run `target` as a real HTTP server on a free port; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if isinstance(target, RawReplier):
                target.calls += 1
                self.wfile.write(target.raw)
                self.close_connection = True
                return
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
