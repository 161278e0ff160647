"""Wiring of the assignment service: classification rules, agency directory, answers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from services.assignment import api
from services.assignment.classification import RuleTable
from services.assignment.directory import Directory, load_seed
from services.assignment.handlers import SERVICE, build_router
from services.assignment.repository import AssignmentRepository
from services.assignment.service import AssignmentService
from shared.clock import Clock
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings

CONFIG = Path(__file__).parent / "config"


class AssignmentSettings(ServiceSettings):
    http_port: int = 8103
    answer_days: int = Field(default=30, ge=1, le=365, description="Days allowed for a written answer.")
    classification_rules: Path = Field(default=CONFIG / "classification.yaml")
    agencies_seed: Path = Field(default=CONFIG / "agencies.yaml")


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
        answer_days=settings.answer_days,
    )
    seed = load_seed(settings.agencies_seed)
    runtime.include(build_router(service, prefetch=settings.prefetch))

    async def setup() -> None:
        await repository.create_indexes()
        await directory.seed(seed)
        await runtime.outbox.track(repository.assignments)

    app = create_service_app(
        title=f"doithoai — giao việc và trả lời ({settings.instance_name})",
        description="Phân loại ý kiến, giao cơ quan chịu trách nhiệm, ghi nhận câu trả lời.",
        settings=settings,
        start=lambda: runtime.start(setup),
        stop=runtime.stop,
        readiness=runtime.readiness,
        routers=[api.router],
    )
    app.state.assignment = service
    return app
