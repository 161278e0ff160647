"""Wiring of the scheduling service: the answer clock as durable timers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from pydantic import Field

from services.scheduling import api
from services.scheduling.conferences import ConferenceService
from services.scheduling.handlers import SERVICE, build_router
from services.scheduling.repository import ConferenceRepository, TimerRepository
from services.scheduling.service import SchedulingService
from shared.clock import Clock
from shared.deadlines import DayCount, DeadlinePolicy
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings


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


def create_app(settings: SchedulingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    repository = TimerRepository(runtime.db)
    conference_repository = ConferenceRepository(runtime.db)
    conferences = ConferenceService(
        runtime,
        conference_repository,
        repository,
        notice=settings.announcement_notice,
        dossier_before=timedelta(hours=settings.dossier_before_h),
    )
    service = SchedulingService(
        runtime, repository, conferences, reminder_days=settings.reminder_days, poll_interval_s=settings.timer_poll_s
    )
    runtime.include(build_router(service, prefetch=settings.prefetch))
    runtime.add_loop(service.run)

    async def setup() -> None:
        await repository.create_indexes()
        await conference_repository.create_indexes()
        await runtime.outbox.track(conference_repository.conferences)

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
    app.state.conferences = conferences
    return app
