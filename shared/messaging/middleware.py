"""Broker middleware: every consumed message logs under its message id; refusals are logged and counted;
a message over the size limit is refused before anything parses it."""

from __future__ import annotations

import logging
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


class MessageContext(BaseMiddleware):
    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        routing_key = getattr(msg.raw_message, "routing_key", None)
        with log_context(message_id=msg.message_id, routing_key=routing_key):
            try:
                if len(msg.body) > (limit := size_limit(routing_key)):
                    raise MessageTooLarge(f"{len(msg.body)} bytes, over the limit of {limit}")
                return await call_next(msg)
            except HandlerException:
                raise  # an explicit ack/nack/reject decision, already logged where it was made
            except Exception as exc:
                metrics.MESSAGES_REJECTED.labels(**metrics.base(), event_type=routing_key or "").inc()
                log.error(
                    "message %s (%s) rejected to its dead-letter queue: %s",
                    msg.message_id,
                    routing_key,
                    " ".join(str(exc).split())[:500],
                )
                raise
