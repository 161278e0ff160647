"""Broker middleware: every consumed message logs under its message id; refusals are logged and counted;
a message over the size limit is refused before anything parses it."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from faststream.message import StreamMessage

from shared.events import PHOTO_UP_MAX_BYTES, EscalationMediaAddedV1
from shared.observability import metrics
from shared.observability.logging import log_context

log = logging.getLogger("doithoai.consumer")

MAX_MESSAGE_BYTES = 1024 * 1024  # real events are KiBs; a period summary holds bounded counts
# A photo sent up is one message of its own: its base64 bytes and a small envelope.
MAX_PHOTO_MESSAGE_BYTES = PHOTO_UP_MAX_BYTES * 4 // 3 + 64 * 1024


def size_limit(routing_key: str | None) -> int:
    """How large a message may be: photos sent up (`<instance>.escalation.media_added.v1`) may be larger."""
    photo = (routing_key or "").endswith("." + EscalationMediaAddedV1.event_type)
    return MAX_PHOTO_MESSAGE_BYTES if photo else MAX_MESSAGE_BYTES


class MessageTooLarge(ValueError):
    pass


def check_size(msg: StreamMessage[Any]) -> None:
    """Refuse a message over its size limit (called before its body is decoded)."""
    if len(msg.body) > (limit := size_limit(getattr(msg.raw_message, "routing_key", None))):
        raise MessageTooLarge(f"{len(msg.body)} bytes, over the limit of {limit}")


class MessageContext(BaseMiddleware):
    """Handlers log under the message's id and routing key; whatever made the message fail (a handler's
    error, a body that did not parse, a type no handler takes) is logged and counted on the way out."""

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        routing_key = getattr(msg.raw_message, "routing_key", None)
        with log_context(message_id=msg.message_id, routing_key=routing_key):
            return await call_next(msg)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if not isinstance(exc_val, Exception) or isinstance(exc_val, HandlerException):
            return False  # done, cancelled, or an explicit ack/nack/reject decision, logged where it was made
        routing_key = getattr(self.msg, "routing_key", None)
        metrics.MESSAGES_REJECTED.labels(**metrics.base(), event_type=routing_key or "").inc()
        log.error(
            "message %s (%s) rejected to its dead-letter queue: %s",
            getattr(self.msg, "message_id", None),
            routing_key,
            " ".join(str(exc_val).split())[:500],
        )
        return False
