"""Operators' view of one service over HTTP (what the console's operations pages show): the state of its
queues and outbox, its dead letters, and replaying them.

A dead letter of an internal queue is moved back by publishing it to the events exchange with the
routing key `replay.<queue>`, which only that queue is bound to (see topology), then acknowledging
it in the dead-letter queue: copied before it is removed, so a crash in between leaves a duplicate
the consumer drops, never a loss. Dead letters of inbound (link) queues are not replayed from here:
only the broker's administrator may publish into inbound queues (`doithoai dead-letters replay`).
"""

from __future__ import annotations

from typing import Annotated, Any

import aio_pika
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from shared.http.auth import Caller, require_role
from shared.http.errors import ApiError
from shared.messaging.moves import move_messages
from shared.messaging.topology import EVENTS_EXCHANGE, replay_routing_key

Operator = Annotated[Caller, Depends(require_role("operator"))]


class QueueState(BaseModel):
    name: str
    kind: str  # dead_letter or link
    messages: int


class ServiceStatus(BaseModel):
    service: str
    instance: str
    level: str
    ready: dict[str, bool]
    queues: list[QueueState]
    outbox_backlog: int


class DeadLetter(BaseModel):
    message_id: str | None
    event_type: str | None
    reason: str | None
    deaths: int
    body: str


class DeadLetterQueue(BaseModel):
    queue: str
    origin: str
    messages: int
    replayable: bool
    sample: list[DeadLetter]


def _death(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    deaths = (message.headers or {}).get("x-death") or []
    return deaths[0] if deaths and isinstance(deaths[0], dict) else {}


def operations_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["vận hành"])

    def runtime(request: Request) -> Any:
        return request.app.state.runtime

    @router.get("/status", response_model=ServiceStatus, summary="Tình trạng dịch vụ: kết nối, hàng đợi, outbox")
    async def status(request: Request, _: Operator) -> ServiceStatus:
        rt = runtime(request)
        ready = await rt.readiness()
        queues = []
        if ready["broker"]:
            for name, kind in rt.monitor.queues.items():
                queues.append(QueueState(name=name, kind=kind, messages=await rt.monitor.queue_depth(name)))
        return ServiceStatus(
            service=rt.service,
            instance=rt.settings.instance_id,
            level=rt.settings.level,
            ready=ready,
            queues=queues,
            outbox_backlog=await rt.outbox.backlog() if ready["database"] else -1,
        )

    def _dead_letter_queue(rt: Any, queue: str) -> str:
        if rt.monitor.queues.get(queue) != "dead_letter":
            raise ApiError(
                404,
                "not_a_dead_letter_queue",
                f"{queue} không phải hàng đợi thư chết của dịch vụ {rt.service}.",
                f"{queue} is not a dead-letter queue of the {rt.service} service.",
            )
        return queue

    @router.get("/dead-letters", response_model=list[DeadLetterQueue], summary="Thư chết: số lượng và vài thư mẫu")
    async def dead_letters(
        request: Request, _: Operator, sample: Annotated[int, Query(ge=0, le=20)] = 5
    ) -> list[DeadLetterQueue]:
        rt = runtime(request)
        found = []
        channel = await rt.broker._connection.channel()  # noqa: SLF001 (the broker's own connection)
        try:
            for name, kind in rt.monitor.queues.items():
                if kind != "dead_letter":
                    continue
                queue = await channel.declare_queue(name, passive=True)
                count = queue.declaration_result.message_count or 0
                held, shown = [], []
                for _ in range(min(sample, count)):
                    message = await queue.get(no_ack=False, fail=False)
                    if message is None:
                        break
                    held.append(message)
                    death = _death(message)
                    shown.append(
                        DeadLetter(
                            message_id=message.message_id,
                            event_type=message.type,
                            reason=str(death.get("reason")) if death else None,
                            deaths=int(death.get("count", 0)) if death else 0,
                            body=message.body.decode("utf-8", "replace")[:2000],
                        )
                    )
                for message in held:
                    await message.nack(requeue=True)
                origin = name.removesuffix(".dead")
                found.append(
                    DeadLetterQueue(
                        queue=name, origin=origin, messages=count, replayable=".inbound." not in name, sample=shown
                    )
                )
        finally:
            await channel.close()
        return found

    @router.post(
        "/dead-letters/{queue}/replay",
        summary="Gửi lại các thư chết về hàng đợi gốc (không mất, không trùng: bên nhận bỏ qua bản lặp)",
        responses={401: {}, 403: {}, 404: {}, 409: {}},
    )
    async def replay(queue: str, request: Request, caller: Operator) -> dict[str, int]:
        rt = runtime(request)
        _dead_letter_queue(rt, queue)
        origin = queue.removesuffix(".dead")
        if ".inbound." in queue:
            raise ApiError(
                409,
                "inbound_replay_needs_admin",
                "Thư chết từ đơn vị liên thông chỉ quản trị broker gửi lại được: "
                f"`doithoai dead-letters replay {queue} --amqp amqp://<quản trị>@…/{rt.settings.instance_id}`.",
                "Dead letters of link queues are replayed only by the broker's administrator: "
                f"`doithoai dead-letters replay {queue} --amqp amqp://<admin>@…/{rt.settings.instance_id}`.",
            )
        channel = await rt.broker._connection.channel(publisher_confirms=True, on_return_raises=True)  # noqa: SLF001
        try:
            source = await channel.declare_queue(queue, passive=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE.name)
            moved = await move_messages(source, exchange, replay_routing_key(origin))
        finally:
            await channel.close()
        await rt.audit.record(caller, "dead_letters.replayed", queue, {"moved": moved})
        return {"moved": moved}

    return router
