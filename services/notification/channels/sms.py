"""SMS through an HTTP gateway: POST {"to", "text", "sender"} with a bearer token.

Vietnamese SMS gateways differ in detail; this adapter speaks the simple JSON form most offer,
and another gateway needs only another class with the same `deliver`.
"""

from __future__ import annotations

import httpx

from services.notification.channels import Address, Delivered, Message, PermanentFailure, TemporaryFailure


class SmsGatewayChannel:
    name = "sms"

    def __init__(self, *, url: str, token: str | None, sender: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout_s = timeout_s

    async def deliver(self, message: Message, address: Address) -> Delivered:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = {
            "to": address.value,
            "text": message.sms,
            "sender": self.sender,
            "reference": message.notification_id,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"SMS gateway unreachable: {exc!r}") from exc
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise TemporaryFailure(f"SMS gateway answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"SMS gateway refused {address.value}: {response.status_code} {response.text[:200]}")
        return Delivered()
