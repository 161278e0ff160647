"""Wiring of the assignment service: classification rules, agency directory, answers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from services.assignment import api
from services.assignment.classification import RuleTable
from services.assignment.conferences import ConferenceDesk
from services.assignment.directory import Directory
from services.assignment.documents import Documents
from services.assignment.handlers import SERVICE, build_router
from services.assignment.jurisdiction import JurisdictionTable
from services.assignment.repository import AssignmentRepository
from services.assignment.service import AssignmentService
from services.assignment.summaries import Summaries
from shared.agencies import load_seed
from shared.clock import Clock
from shared.deadlines import DayCount
from shared.http.app import create_service_app
from shared.messaging.links import LinkGuard
from shared.messaging.topology import link_queue_name
from shared.runtime import Runtime
from shared.settings import ServiceSettings

CONFIG = Path(__file__).parent / "config"


class AssignmentSettings(ServiceSettings):
    http_port: int = 8103
    answer_days: int = Field(default=30, ge=1, le=365, description="Days allowed for a written answer.")
    answer_day_count: DayCount = Field(default=DayCount.CALENDAR, description="calendar or working days.")
    classification_rules: Path = Field(default=CONFIG / "classification.yaml")
    jurisdiction_rules: Path = Field(default=CONFIG / "jurisdiction.yaml")
    summary_interval_s: float = Field(
        default=3600, gt=0, description="How often the month's and year's summaries are sent to the parent."
    )


def create_app(settings: AssignmentSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or AssignmentSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    repository = AssignmentRepository(runtime.db)
    directory = Directory(repository.agencies)
    service = AssignmentService(
        runtime,
        repository,
        directory,
        RuleTable.from_yaml(settings.classification_rules),
        JurisdictionTable.from_yaml(settings.jurisdiction_rules),
        answer_days=settings.answer_days,
        answer_day_count=settings.answer_day_count,
    )
    summaries = Summaries(runtime, repository, interval_s=settings.summary_interval_s)
    seed = load_seed(settings.agencies_seed, instance_id=settings.instance_id, level=settings.level)
    guard = LinkGuard(settings.instance_id, settings.parent_id, settings.child_ids, runtime.audit)
    desk = ConferenceDesk(runtime, repository, Documents(), console_url=settings.console_url)
    runtime.include(build_router(service, summaries, guard, directory, desk, prefetch=settings.prefetch))
    if settings.parent_id:
        runtime.add_loop(summaries.run)
    for neighbour in settings.neighbours:
        runtime.monitor.watch(link_queue_name(neighbour), "link")

    async def setup() -> None:
        await repository.create_indexes()
        await directory.seed(seed)
        await runtime.outbox.track(repository.assignments)
        await runtime.outbox.track(repository.documents)
        await runtime.outbox.track(repository.dossiers)

    app = create_service_app(
        title=f"doithoai — giao việc và trả lời ({settings.instance_name})",
        description="Phân loại ý kiến, giao cơ quan chịu trách nhiệm, ghi nhận câu trả lời.",
        runtime=runtime,
        setup=setup,
        routers=[api.router],
    )
    app.state.assignment = service
    app.state.summaries = summaries
    app.state.conference_desk = desk
    return app
