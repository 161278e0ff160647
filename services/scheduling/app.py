"""Wiring of the scheduling service: the answer clock as durable timers."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from services.scheduling import api
from services.scheduling.handlers import SERVICE, build_router
from services.scheduling.repository import TimerRepository
from services.scheduling.service import SchedulingService
from shared.clock import Clock
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings


class SchedulingSettings(ServiceSettings):
    http_port: int = 8102
    reminder_days: list[int] = Field(
        default=[7, 3, 1], description="Days before the deadline to remind the agency (JSON list)."
    )
    timer_poll_s: float = Field(default=1.0, gt=0, description="How often due timers are looked for.")


def create_app(settings: SchedulingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    repository = TimerRepository(runtime.db)
    service = SchedulingService(
        runtime, repository, reminder_days=settings.reminder_days, poll_interval_s=settings.timer_poll_s
    )
    runtime.include(build_router(service, prefetch=settings.prefetch))
    runtime.add_loop(service.run)

    app = create_service_app(
        title=f"doithoai — hạn trả lời ({settings.instance_name})",
        description="Đồng hồ hạn trả lời 30 ngày: nhắc trước hạn và báo quá hạn.",
        settings=settings,
        start=lambda: runtime.start(repository.create_indexes),
        stop=runtime.stop,
        readiness=runtime.readiness,
        routers=[api.router],
    )
    app.state.scheduling = service
    return app
