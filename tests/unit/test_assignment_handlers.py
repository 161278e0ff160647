"""Assignment's consumers under FastStream's TestRabbitBroker (in memory): the same handlers, queues and
middleware as in production, wired to in-memory adapters; the link guard on the broker's user_id. Messages
are put straight into the consumer queues (`routing_key` = the queue's name on the default exchange): the
bindings are declared by `declare_topology` alone and tested against RabbitMQ (tests/integration)."""

from __future__ import annotations

import uuid

import pytest
from faststream.rabbit import RabbitBroker, TestRabbitBroker

from services.assignment.app import Assignment, AssignmentSettings
from services.assignment.conferences import ConferenceDesk
from services.assignment.documents import Documents
from services.assignment.handlers import build_router
from services.assignment.summaries import Summaries
from shared.events import Envelope, OpinionReceivedV1
from shared.messaging.links import LinkGuard, LinkRefused, link_user
from shared.messaging.middleware import MessageContext
from shared.messaging.topology import queue_name
from shared.storage.outbox import EventSource
from shared.units import Unit
from tests.unit.fakes import FakePublisher, Published, source
from tests.unit.test_assignment_use_cases import LAND, WARD, World, request_from

JSON = {"content_type": "application/json"}  # as the services publish
EVENTS, INBOUND = queue_name("assignment"), queue_name("assignment", inbound=True)


def wired(world: World) -> tuple[RabbitBroker, Assignment]:
    settings = AssignmentSettings()
    events = EventSource(source(), world.clock)
    summaries = Summaries(
        world.repository,
        FakePublisher(Published()),
        events,
        clock=world.clock,
        place=WARD,
        interval_s=3600,  # type: ignore[arg-type]
    )
    desk = ConferenceDesk(
        world.repository, Documents(), clock=world.clock, unit=Unit("ward", "Phường A"), console_url="",  # type: ignore[arg-type]
        settle=world.service.settle_at_conclusion, release=world.service.release_from,
    )  # fmt: skip
    guard = LinkGuard(WARD.instance, WARD.parent, ["to-1"])
    parts = Assignment(world.service, summaries, desk, world.service.directory, guard, world.repository)  # type: ignore[arg-type]
    broker = RabbitBroker(middlewares=[MessageContext])
    broker.include_router(build_router(parts, prefetch=settings.prefetch))
    return broker, parts


async def test_a_received_opinion_is_placed_by_the_consumer() -> None:
    world = World(WARD)
    broker, _ = wired(world)
    event = world.received(LAND)
    async with TestRabbitBroker(broker) as test:
        await test.publish(event.model_dump_json().encode(), routing_key=EVENTS, **JSON)
    stored = await world.repository.get(event.payload.opinion_id)
    assert stored is not None and stored.status == "escalated"
    assert "escalation.requested.v1" in world.published.types()


async def test_a_malformed_message_is_refused_and_changes_nothing() -> None:
    world = World(WARD)
    broker, _ = wired(world)
    async with TestRabbitBroker(broker) as test:
        with pytest.raises(ValueError, match="validation error"):
            await test.publish(
                b'{"event_type": "opinion.received.v1"}',
                routing_key=EVENTS,
                **JSON,
            )
    assert world.repository.docs == {} and world.published.items == []


async def test_a_link_message_is_believed_by_its_user_id_alone() -> None:
    district = World(WARD)  # the instance receiving from its child "to-1"
    broker, _ = wired(district)
    child = type(WARD)("to-1", "Phường Con", "ward", parent=WARD.instance, parent_name="Phường A", parent_level="ward")
    request = request_from(child, WARD, chain=["to-1"], field="administration")
    body = request.model_dump_json().encode()
    async with TestRabbitBroker(broker) as test:
        forged = {"x-shovelled": [{"shovel-name": f"doithoai-link-to-1-to-{WARD.instance}"}]}
        with pytest.raises(LinkRefused, match="sender_mismatch"):
            await test.publish(body, routing_key=INBOUND, headers=forged, **JSON)
        assert district.repository.docs == {}
        via = link_user("to-1", WARD.instance)
        await test.publish(body, routing_key=INBOUND, user_id=via, **JSON)
    assert request.payload.opinion_id in district.repository.docs
    assert [e.event_type for e in district.published.to("to-1")] == ["escalation.acknowledged.v1"]


def test_envelopes_keep_the_source_they_were_made_by() -> None:
    world = World(WARD)
    made = EventSource(source(), world.clock).envelope(world.received("x").payload)
    assert made.source.instance == WARD.instance and isinstance(made, Envelope)
    assert isinstance(made.payload, OpinionReceivedV1) and uuid.UUID(str(made.event_id))
