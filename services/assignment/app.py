"""Wiring of the assignment service: classification rules, agency directory, answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from services.assignment import api
from services.assignment.classification import RuleTable
from services.assignment.conferences import ConferenceDesk
from services.assignment.directory import Directory
from services.assignment.documents import Documents
from services.assignment.domain import Place
from services.assignment.handlers import SERVICE, build_router
from services.assignment.jurisdiction import JurisdictionTable
from services.assignment.photos import EscalatedPhotos
from services.assignment.repository import AssignmentRepository
from services.assignment.service import AssignmentService
from services.assignment.summaries import Summaries
from shared.agencies import load_directory, load_seed
from shared.clock import Clock
from shared.deadlines import DayCount
from shared.events import Channel
from shared.http.app import create_service_app
from shared.media import MediaLimits, MediaStore
from shared.messaging.links import LinkGuard
from shared.messaging.topology import link_queue_name
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.units import Unit

CONFIG = Path(__file__).parent / "config"


class AssignmentSettings(ServiceSettings, MediaLimits):
    http_port: int = 8103
    answer_days: int = Field(default=30, ge=1, le=365, description="Days allowed for a written answer.")
    answer_day_count: DayCount = Field(default=DayCount.CALENDAR, description="calendar or working days.")
    answer_days_by_channel: dict[Channel, int] = Field(
        default_factory=dict,
        description=(
            'Days for an opinion outside any conference, by channel, as JSON ({"online": 15}); the others get '
            "answer_days from receipt. A conference's opinions are due answer_days from the conference's end."
        ),
    )
    escalate_before_conference: bool = Field(
        default=False,
        description=(
            "Send an opinion collected for a conference up at once when it is beyond this level's authority "
            "(by default it goes before the heads, who may answer or explain, and up when the secretary says so)."
        ),
    )
    classification_rules: Path = Field(default=CONFIG / "classification.yaml")
    jurisdiction_rules: Path = Field(default=CONFIG / "jurisdiction.yaml")
    summary_interval_s: float = Field(
        default=3600, gt=0, description="How often the month's and year's summaries are sent to the parent."
    )


def place_of(settings: ServiceSettings) -> Place:
    return Place(
        instance=settings.instance_id,
        name=settings.instance_name,
        level=settings.level,
        parent=settings.parent_id,
        parent_name=settings.parent_name or settings.parent_id,
        parent_level=settings.parent_level,
    )


@dataclass
class Assignment:
    """The service's parts, wired: what the handlers and the HTTP API call."""

    service: AssignmentService
    summaries: Summaries
    desk: ConferenceDesk
    directory: Directory
    guard: LinkGuard
    repository: AssignmentRepository
    photos: EscalatedPhotos | None = None  # photos sent up from below (GridFS; not wired in in-memory tests)


def bootstrap(settings: AssignmentSettings, runtime: Runtime) -> Assignment:
    """One place that wires the real adapters (MongoDB, the broker's publisher, the clock) to the use cases."""
    place = place_of(settings)
    repository = AssignmentRepository(runtime.db, runtime.outbox, runtime.events)
    directory = Directory(runtime.db["agencies"])
    service = AssignmentService(
        repository,
        directory,
        RuleTable.from_yaml(settings.classification_rules),
        JurisdictionTable.from_yaml(settings.jurisdiction_rules),
        clock=runtime.clock,
        place=place,
        answer_days=settings.answer_days,
        answer_day_count=settings.answer_day_count,
        answer_days_by_channel={c.value: d for c, d in settings.answer_days_by_channel.items()},
        escalate_before_conference=settings.escalate_before_conference,
    )
    summaries = Summaries(
        repository, runtime.publisher, runtime.events, clock=runtime.clock, place=place,
        interval_s=settings.summary_interval_s, audit=runtime.audit, children=settings.child_ids,
    )  # fmt: skip
    # The heads sign the documents: their names come from the directory seed; the unit above names the Party
    # committee above on the Party's documents.
    heads = load_directory(settings.agency_seed(), instance_id=settings.instance_id, level=settings.level).heads
    parent = (
        Unit(settings.parent_level, settings.parent_name) if settings.parent_name and settings.parent_level else None
    )
    desk = ConferenceDesk(
        repository, Documents(), clock=runtime.clock, unit=Unit(settings.level, settings.instance_name),
        console_url=settings.console_url, settle=service.settle_at_conclusion, release=service.release_from,
        heads={head: official.name for head, official in heads.items()}, parent=parent,
    )  # fmt: skip
    runtime.add_loop(desk.run_retries)  # documents that could not be produced, tried again
    guard = LinkGuard(settings.instance_id, settings.parent_id, settings.child_ids, runtime.audit)
    store = MediaStore(
        runtime.db, max_files=settings.media_max_files, max_bytes=settings.media_max_bytes,
        outbox=runtime.outbox, events=runtime.events,
    )  # fmt: skip
    photos = EscalatedPhotos(repository, store, instance=settings.instance_id)
    return Assignment(service, summaries, desk, directory, guard, repository, photos)


def create_app(settings: AssignmentSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or AssignmentSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    parts = bootstrap(settings, runtime)
    runtime.include(build_router(parts, prefetch=settings.prefetch))
    if settings.parent_id:
        runtime.add_loop(parts.summaries.run)
    for neighbour in settings.neighbours:
        runtime.monitor.watch(link_queue_name(neighbour), "link")
    seed = load_seed(settings.agency_seed(), instance_id=settings.instance_id, level=settings.level)

    async def setup() -> None:
        await parts.repository.create_indexes()
        if parts.photos is not None:
            await parts.photos.store.create_indexes()
        await parts.directory.seed(seed)

    app = create_service_app(
        title=f"doithoai — giao việc và trả lời ({settings.instance_name})",
        description="Phân loại ý kiến, giao cơ quan chịu trách nhiệm, ghi nhận câu trả lời.",
        runtime=runtime,
        setup=setup,
        routers=api.routers(),
    )
    app.state.assignment = parts
    return app
