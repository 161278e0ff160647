"""Wiring of the intake service: HTTP APIs (native and Open311) and the status read model."""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI, Request
from pydantic import Field

from services.intake import api, media_api, open311
from services.intake.handlers import SERVICE, build_router
from services.intake.repository import OpinionRepository
from services.intake.service import IntakeService
from shared.clock import Clock
from shared.http.app import create_service_app
from shared.media import MediaLimits, MediaStore
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.units import Unit


class IntakeSettings(ServiceSettings, MediaLimits):
    http_port: int = 8101

    open311_public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description=(
            "The service's address as Open311 clients reach it (e.g. https://doithoai.bode.gov.vn/intake), for the "
            "endpoint URL in /open311/discovery.*; by default the address the request came to (behind a trusted "
            "proxy, with the scheme it forwarded)."
        ),
    )
    open311_contact: str | None = Field(
        default=None, max_length=500, description="Open311 discovery's contact: who answers questions about the API."
    )
    open311_key_service: str | None = Field(
        default=None, max_length=500, description="Open311 discovery's key_service: how to get an API key."
    )
    open311_endpoint_type: Literal["production", "test"] = Field(
        default="production", description="Open311 discovery's endpoint type: test for a training instance."
    )


def bootstrap(settings: IntakeSettings, runtime: Runtime) -> IntakeService:
    """One place that wires the real adapters (MongoDB, GridFS, the outbox, the clock) to the use cases."""
    repository = OpinionRepository(runtime.db, runtime.outbox, runtime.events)
    media = MediaStore(
        runtime.db, max_files=settings.media_max_files, max_bytes=settings.media_max_bytes,
        outbox=runtime.outbox, events=runtime.events,
    )  # fmt: skip
    unit = Unit(settings.level, settings.instance_name)
    return IntakeService(repository, media, clock=runtime.clock, instance=settings.instance_id, unit=unit)


def create_app(settings: IntakeSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    service = bootstrap(settings, runtime)
    repository = service.repository
    runtime.include(build_router(service, prefetch=settings.prefetch))
    runtime.monitor.refresh_with(service.refresh_gauges)

    async def setup() -> None:
        await repository.create_indexes()
        await service.media.create_indexes()
        await repository.add_search_keys()
        await repository.add_similarity_keys()

    app = create_service_app(
        title=f"doithoai — tiếp nhận ý kiến ({settings.instance_name})",
        description=(
            "Tiếp nhận ý kiến, kiến nghị của Nhân dân và tra cứu tình trạng theo mã theo dõi. "
            "Ghi cần khóa API (tiêu đề X-API-Key); tra cứu theo mã theo dõi thì không."
        ),
        runtime=runtime,
        setup=setup,
        routers=[api.router, open311.router, open311.discovery_router],
    )
    app.state.intake = service
    media_api.install(app, service.media)

    @app.exception_handler(open311.Open311Error)
    async def _open311_error(request: Request, exc: open311.Open311Error):  # type: ignore[no-untyped-def]
        return open311.open311_error_response(request, exc)

    return app
