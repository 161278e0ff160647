"""Wiring of the intake service: HTTP APIs (native and Open311) and the status read model."""

from __future__ import annotations

from fastapi import FastAPI, Request

from services.intake import api, open311
from services.intake.handlers import SERVICE, build_router
from services.intake.repository import OpinionRepository
from services.intake.service import IntakeService
from shared.clock import Clock
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.units import Unit


class IntakeSettings(ServiceSettings):
    http_port: int = 8101


def bootstrap(settings: IntakeSettings, runtime: Runtime) -> IntakeService:
    """One place that wires the real adapters (MongoDB, the outbox, the clock) to the use cases."""
    repository = OpinionRepository(runtime.db, runtime.outbox, runtime.events)
    unit = Unit(settings.level, settings.instance_name)
    return IntakeService(repository, clock=runtime.clock, instance=settings.instance_id, unit=unit)


def create_app(settings: IntakeSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    service = bootstrap(settings, runtime)
    repository = service.repository
    runtime.include(build_router(service, prefetch=settings.prefetch))
    runtime.monitor.refresh_with(service.refresh_gauges)

    async def setup() -> None:
        await repository.create_indexes()
        await repository.add_search_keys()

    app = create_service_app(
        title=f"doithoai — tiếp nhận ý kiến ({settings.instance_name})",
        description=(
            "Tiếp nhận ý kiến, kiến nghị của Nhân dân và tra cứu tình trạng theo mã theo dõi. "
            "Ghi cần khóa API (tiêu đề X-API-Key); tra cứu theo mã theo dõi thì không."
        ),
        runtime=runtime,
        setup=setup,
        routers=[api.router, open311.router],
    )
    app.state.intake = service

    @app.exception_handler(open311.Open311Error)
    async def _open311_error(_: Request, exc: open311.Open311Error):  # type: ignore[no-untyped-def]
        return open311.open311_error_response(exc)

    return app
