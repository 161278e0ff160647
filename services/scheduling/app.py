"""Wiring of the scheduling service: the answer clock as durable timers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from pydantic import Field

from services.scheduling import api
from services.scheduling.handlers import SERVICE, build_router
from services.scheduling.repository import ConferenceRepository, TimerRepository
from services.scheduling.service import ConferenceService, SchedulingService
from shared.clock import Clock
from shared.deadlines import DayCount, DeadlinePolicy
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.units import Unit


class SchedulingSettings(ServiceSettings):
    http_port: int = 8102
    reminder_days: list[int] = Field(
        default=[7, 3, 1], description="Days before the deadline to remind the agency (JSON list)."
    )
    timer_poll_s: float = Field(default=1.0, gt=0, description="How often due timers are looked for.")
    announcement_notice: DeadlinePolicy = Field(
        default=DeadlinePolicy(days=3, count=DayCount.CALENDAR),
        description='Minimum notice of a conference, e.g. {"days": 3, "count": "working"}.',
    )
    dossier_before_h: float = Field(
        default=24, gt=0, description="Hours before a conference its chairs get their dossier."
    )
    dossier_update_before_h: float = Field(
        default=2, gt=0, description="Hours before a conference its chairs get what arrived since the dossier."
    )
    test_pause_after_fire_s: float = Field(
        default=0.0, ge=0, description="Tests only: a pause between acting on a timer and recording it."
    )


def bootstrap(settings: SchedulingSettings, runtime: Runtime) -> SchedulingService:
    """One place that wires the real adapters (MongoDB, the outbox, the publisher, the clock) to the use cases."""
    timers = TimerRepository(runtime.db)
    conferences = ConferenceService(
        ConferenceRepository(runtime.db, runtime.outbox, runtime.events),
        timers,
        clock=runtime.clock,
        notice=settings.announcement_notice,
        dossier_before=timedelta(hours=settings.dossier_before_h),
        dossier_update_before=timedelta(hours=settings.dossier_update_before_h),
        unit=Unit(settings.level, settings.instance_name),
    )
    return SchedulingService(
        timers,
        conferences,
        runtime.publisher,
        runtime.events,
        clock=runtime.clock,
        reminder_days=settings.reminder_days,
        poll_interval_s=settings.timer_poll_s,
        pause_after_fire_s=settings.test_pause_after_fire_s,
    )


def create_app(settings: SchedulingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    service = bootstrap(settings, runtime)
    runtime.include(build_router(service, prefetch=settings.prefetch))
    runtime.add_loop(service.run)

    async def setup() -> None:
        await service.repository.create_indexes()
        await service.conferences.repository.create_indexes()

    app = create_service_app(
        title=f"doithoai — hội nghị và hạn trả lời ({settings.instance_name})",
        description=(
            "Kế hoạch hội nghị đối thoại trong năm: lập, thông báo đúng hạn, khai mạc, bế mạc, kết luận, "
            "hoãn, hủy. Đồng hồ hạn trả lời: nhắc trước hạn và báo quá hạn."
        ),
        runtime=runtime,
        setup=setup,
        routers=[api.router],
    )
    app.state.scheduling = service
    app.state.conferences = service.conferences
    return app
