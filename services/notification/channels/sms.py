"""SMS through an HTTP gateway: POST {"to", "text", "sender"} with a bearer token.

Vietnamese SMS gateways differ in detail; this adapter speaks the simple JSON form most offer,
and another gateway needs only another class with the same `deliver`.
"""

from __future__ import annotations

from services.notification.channels import Address, Delivered, Message, post


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
        await post(self.url, what=f"SMS gateway (to {address.value})", timeout_s=self.timeout_s, json=payload,
                   headers=headers)  # fmt: skip
        return Delivered()
