"""Wiring of the notification service: templates, SMTP, consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import Field

from services.notification import api
from services.notification.handlers import SERVICE, build_router
from services.notification.mailer import SmtpMailer
from services.notification.rendering import Templates
from services.notification.repository import NotificationRepository
from services.notification.service import NotificationService
from shared.clock import Clock
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    http_port: int = 8104
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_tls: bool = Field(default=False, description="Implicit TLS (SMTPS, usually port 465).")
    smtp_timeout_s: float = 15.0
    smtp_from: str = "Hệ thống đối thoại <khong-tra-loi@doithoai.example.vn>"
    templates_dir: Path | None = Field(default=None, description="Instance overrides of the built-in templates.")
    intake_public_url: str = Field(
        default="http://127.0.0.1:8101", description="Intake's address as citizens reach it (links in mail)."
    )


def create_app(settings: NotificationSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    runtime = Runtime(settings, SERVICE, clock=clock)
    repository = NotificationRepository(runtime.db)
    mailer = SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        use_tls=settings.smtp_tls,
        timeout_s=settings.smtp_timeout_s,
    )
    service = NotificationService(
        runtime, repository, Templates(settings.templates_dir), mailer, public_base_url=settings.intake_public_url
    )
    runtime.include(build_router(service, prefetch=settings.prefetch))

    app = create_service_app(
        title=f"doithoai — thông báo ({settings.instance_name})",
        description=(
            "Gửi thông báo giao việc, nhắc hạn, quá hạn tới cơ quan; thông báo tiếp nhận và câu trả lời tới người dân."
        ),
        settings=settings,
        start=lambda: runtime.start(repository.create_indexes),
        stop=runtime.stop,
        readiness=runtime.readiness,
        routers=[api.router],
    )
    app.state.notification = service
    return app
