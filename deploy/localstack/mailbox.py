"""A local SMTP server that keeps every mail it receives as a .eml file in a folder."""

from __future__ import annotations

import itertools
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_counter = itertools.count()


class MailFolder:
    """aiosmtpd handler: one file per message, named so `ls` lists them in arrival order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        ns = time.time_ns()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(ns // 10**9))
        name = f"{stamp}-{ns % 10**9:09d}-{next(_counter):06d}.eml"
        recipients = ", ".join(envelope.rcpt_tos)
        data = f"X-Envelope-To: {recipients}\r\n".encode() + envelope.original_content
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.rename(self.folder / name)  # readers never see half a message
        (self.folder / name).with_suffix(".txt").write_text(readable(data), encoding="utf-8")
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(self.folder.glob("*.eml"))
        ]


def readable(data: bytes) -> str:
    """The mail as a person reads it: decoded headers and body (the .eml keeps the wire form)."""
    msg = message_from_bytes(data, policy=policy.default)
    head = "\n".join(f"{h}: {msg[h]}" for h in ("Date", "From", "To", "Subject", "Message-ID") if msg[h])
    parts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]  # type: ignore[attr-defined]
    body = "\n".join(p.get_content() for p in parts)
    return f"{head}\n\n{body}"


def start(folder: Path, host: str = "127.0.0.1", port: int = 1025) -> tuple[Controller, MailFolder]:
    handler = MailFolder(folder)
    controller = Controller(handler, hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller, handler
