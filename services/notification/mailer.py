"""Sending email over SMTP (aiosmtplib): UTF-8 Vietnamese subject and body, STARTTLS and login optional."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.notification.rendering import Rendered


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_tls: bool = False,
        timeout_s: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_tls = use_tls
        self.timeout_s = timeout_s

    def message(self, to: str, rendered: Rendered, message_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = rendered.subject
        msg["Date"] = formatdate(localtime=False)
        # Derived from the notification id: a duplicate, should one slip through, is recognisable.
        msg["Message-ID"] = f"<{message_id}@doithoai>"
        msg.set_content(rendered.body, charset="utf-8")
        return msg

    async def send(self, msg: EmailMessage) -> None:
        await aiosmtplib.send(
            msg,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            use_tls=self.use_tls,
            timeout=self.timeout_s,
        )
