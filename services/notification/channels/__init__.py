"""Delivery channels behind one small interface: give a message to a recipient, say how it went.

A channel raises `TemporaryFailure` when trying again later may work (server down, timeout,
HTTP 5xx or 429) and `PermanentFailure` when it will not (address refused, HTTP 4xx); the
service retries the first with backoff and parks the second for an operator. A new channel is a
class with a `name` and `deliver`, registered in the notification app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Message:
    notification_id: str
    type: str
    subject: str
    body: str
    sms: str
    tracking_code: str | None
    opinion_id: str | None
    ack_url: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Address:
    """Where a recipient is reached on one channel (the webhook secret is looked up, never stored)."""

    value: str
    secret: str | None = None


@dataclass(frozen=True)
class Delivered:
    acknowledged: bool = False  # the recipient confirmed receipt in its reply (webhooks)


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class DeliveryChannel(Protocol):
    name: str

    async def deliver(self, message: Message, address: Address) -> Delivered: ...


async def post(url: str, *, what: str, timeout_s: float, **kwargs: Any) -> httpx.Response:
    """POST to an HTTP recipient; 408, 429, 5xx and unreachable are temporary, other 4xx final."""
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise TemporaryFailure(f"{what} unreachable: {exc!r}") from exc
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise TemporaryFailure(f"{what} answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentFailure(f"{what} refused it: {response.status_code} {response.text[:200]}")
    return response
