"""Signed webhooks: JSON posted to the agency's system, which can verify it and refuse replays.

Headers: `X-Doithoai-Timestamp` (Unix seconds), `X-Doithoai-Notification-Id`, and
`X-Doithoai-Signature: sha256=<hex>` = HMAC-SHA256 with the agency's secret over
`<timestamp>.<raw body>`. A receiver recomputes it, rejects a timestamp older than a few minutes
and an id it has already seen. A 2xx reply with `{"acknowledged": true}` counts as the agency's
acknowledgement of receipt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from services.notification.channels import Address, Delivered, Message, PermanentFailure, post


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s

    async def deliver(self, message: Message, address: Address) -> Delivered:
        if not address.secret:
            raise PermanentFailure("the agency has a webhook URL but no secret to sign with")
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
        response = await post(
            address.value, what=f"webhook {address.value}", timeout_s=self.timeout_s, content=body, headers=headers
        )
        try:
            acknowledged = bool(response.json().get("acknowledged"))
        except (ValueError, AttributeError):
            acknowledged = False
        return Delivered(acknowledged=acknowledged)
