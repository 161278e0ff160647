"""Signed webhooks: JSON posted to the agency's system, which can verify it and refuse replays.

Headers: `X-Doithoai-Timestamp` (Unix seconds), `X-Doithoai-Notification-Id`, and
`X-Doithoai-Signature: sha256=<hex>` = HMAC-SHA256 with the agency's secret over
`<timestamp>.<raw body>`. A receiver recomputes it, rejects a timestamp older than a few minutes
and an id it has already seen. A 2xx reply with `{"acknowledged": true}` counts as the agency's
acknowledgement of receipt.

Each send checks the destination again (`destinations`): an internal address, in the URL or behind
its name now, fails for good without a request, and the request goes to the very addresses checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx

from services.notification.channels import Address, Delivered, Message, PermanentFailure, TemporaryFailure, post
from services.notification.channels.destinations import (
    NOTHING_ALLOWED,
    AllowList,
    DestinationRefused,
    IPAddress,
    check_url,
    resolve_public,
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, timeout_s: float = 10.0, allowed: AllowList = NOTHING_ALLOWED) -> None:
        self.timeout_s = timeout_s
        self.allowed = allowed

    async def destination(self, url: str) -> list[IPAddress]:
        """The checked addresses to post `url` to; an internal one is a permanent failure (no retry can help,
        the operator must change the URL or the allow-list)."""
        if refusal := check_url(url, self.allowed):
            raise PermanentFailure(f"webhook {url} not sent: {refusal.message_en}")
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise PermanentFailure(f"webhook {url} not sent: not a valid URL ({exc})") from exc
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            async with asyncio.timeout(self.timeout_s):  # a stuck resolver must not outlast the delivery lease
                return await resolve_public(host, port, self.allowed)
        except DestinationRefused as exc:
            raise PermanentFailure(f"webhook {url} not sent: {exc}") from exc
        except TimeoutError as exc:
            raise TemporaryFailure(f"webhook {url} unreachable: resolving {host} timed out") from exc
        except OSError as exc:  # the name does not resolve (now)
            raise TemporaryFailure(f"webhook {url} unreachable: {host} does not resolve ({exc})") from exc

    async def deliver(self, message: Message, address: Address) -> Delivered:
        if not address.secret:
            raise PermanentFailure("the agency has a webhook URL but no secret to sign with")
        addresses = await self.destination(address.value)
        body = json.dumps(
            {
                "id": message.notification_id,
                "type": message.type,
                "subject": message.subject,
                "body": message.body,
                "tracking_code": message.tracking_code,
                "opinion_id": message.opinion_id,
                "ack_url": message.ack_url,
                "data": message.data,
            },
            ensure_ascii=False,
            default=str,
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Doithoai-Timestamp": timestamp,
            "X-Doithoai-Notification-Id": message.notification_id,
            "X-Doithoai-Signature": signature(address.secret, timestamp, body),
        }
        response = await post(address.value, what=f"webhook {address.value}", timeout_s=self.timeout_s,
                              connect_to=addresses, content=body, headers=headers)  # fmt: skip
        try:
            acknowledged = bool(response.json().get("acknowledged"))
        except (ValueError, AttributeError):
            acknowledged = False
        return Delivered(acknowledged=acknowledged)
