"""Rate limits for the public (keyless) endpoints: a token bucket per client address.

Limits are per process. The client is the address of the TCP peer; X-Forwarded-For counts only
when the peer is one of the proxies named in DOITHOAI_TRUSTED_PROXIES (anyone else could rotate it
to escape the limit).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

from shared.http.errors import ApiError
from shared.observability import metrics


class RateLimiter:
    """`per_minute` requests a minute per client, in bursts of up to `per_minute`; 0 = no limit."""

    def __init__(
        self, per_minute: int, *, max_clients: int = 50_000, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client → (tokens, when)

    def peek(self, client: str) -> float:
        """Seconds until `client` would have a token, without taking one (0: it has one now)."""
        if self.per_minute <= 0 or client not in self._buckets:
            return 0.0
        tokens, then = self._buckets[client]
        tokens = min(float(self.per_minute), tokens + (self.now() - then) * self.per_minute / 60)
        return 0.0 if tokens >= 1 else (1 - tokens) * 60 / self.per_minute

    def wait(self, client: str, cost: int = 1) -> float:
        """Take `cost` tokens for `client` (one per lookup it asks for): 0 if allowed, else the seconds
        until they are free."""
        if self.per_minute <= 0:
            return 0.0
        now = self.now()
        tokens, then = self._buckets.pop(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60)
        allowed = tokens >= cost
        self._buckets[client] = (tokens - cost if allowed else tokens, now)
        if len(self._buckets) > self.max_clients:  # forget the longest-idle client; it starts afresh
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (cost - tokens) * 60 / self.per_minute


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def retry_after(request: Request, cost: int = 1) -> int | None:
    """Seconds the caller must wait if it is over the public rate limit, else None; counted."""
    wait = request.app.state.rate_limiter.wait(client_address(request), cost)
    if not wait:
        return None
    metrics.RATE_LIMITED.labels(**metrics.base()).inc()
    return max(1, math.ceil(wait))


def public_rate_limit(request: Request) -> None:
    """Dependency of every public endpoint: 429 with Retry-After when a client asks too often."""
    seconds = retry_after(request)
    if seconds is not None:
        raise ApiError(
            429,
            "too_many_requests",
            f"Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau {seconds} giây.",
            f"Too many requests from this address; try again in {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
