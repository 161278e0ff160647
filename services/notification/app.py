"""Wiring of the notification service: directory, templates, delivery channels, consumers, loops."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator

from services.notification import api
from services.notification.channels import DeliveryChannel
from services.notification.channels.destinations import AllowList, check_url
from services.notification.channels.email import EmailChannel
from services.notification.channels.sms import SmsGatewayChannel
from services.notification.channels.webhook import WebhookChannel
from services.notification.directory import AgencyDirectory
from services.notification.domain import DeliveryPolicy
from services.notification.handlers import SERVICE, build_router
from services.notification.messages import Meanings
from services.notification.rendering import Templates
from services.notification.repository import NotificationRepository
from services.notification.service import AckLinks, Delivery, Notifications
from shared.agencies import AgencyRecord, Seed, load_directory
from shared.clock import Clock
from shared.http.app import create_service_app
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.units import Unit

log = logging.getLogger(__name__)


class NotificationSettings(ServiceSettings):
    http_port: int = 8104
    public_url: str = Field(
        default="http://127.0.0.1:8104", description="This service as agencies reach it (acknowledgement links)."
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_tls: bool = Field(default=False, description="Implicit TLS (SMTPS, usually port 465).")
    smtp_timeout_s: float = 15.0
    smtp_from: str = "Hệ thống đối thoại <khong-tra-loi@doithoai.example.vn>"
    webhook_timeout_s: float = 10.0
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description=(
            "Internal receivers webhooks may reach, as a JSON list of networks (CIDR) and host names, e.g. "
            '["10.20.0.0/16", "he-thong.noibo.vn"]. Empty (the default): webhooks go to public addresses only; '
            "loopback, private, link-local, shared, multicast and reserved addresses are refused."
        ),
    )

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _allow_list_parses(cls, value: list[str]) -> list[str]:
        AllowList.parse(value)  # a typo fails at start, naming the entry
        return value

    def webhook_allow_list(self) -> AllowList:
        return AllowList.parse(self.webhook_allowed_networks)

    sms_gateway_url: str | None = Field(default=None, description="HTTP SMS gateway; SMS is off without it.")
    sms_gateway_token: str | None = None
    sms_sender: str = "DOITHOAI"
    templates_dir: Path | None = Field(default=None, description="Instance overrides of the built-in templates.")
    ack_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Signs acknowledgement links (at least 16 characters; prefer the _FILE form).",
    )
    ack_secret_file: Path | None = Field(default=None, description="File holding the acknowledgement secret.")

    def acknowledgement_secret(self) -> str:
        """From the environment or a file; without either, a random one for this process (logged)."""
        if self.ack_secret_file is not None:
            secret = self.ack_secret_file.read_text(encoding="utf-8").strip()
            if len(secret) < 16:
                raise ValueError(f"{self.ack_secret_file}: the acknowledgement secret needs 16 characters or more")
            return secret
        if self.ack_secret is not None:
            return self.ack_secret.get_secret_value()
        log.warning(
            "DOITHOAI_ACK_SECRET(_FILE) is not set: receipt links use a random secret and stop working "
            "when this process restarts; set one shared by every notification process of the instance"
        )
        return secrets.token_urlsafe(32)

    ack_reminder_after_s: float = Field(default=2 * 86400, gt=0, description="Remind an agency that has not confirmed.")
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_s: float = Field(default=30.0, gt=0, description="First retry delay; doubles each time.")
    delivery_backoff_max_s: float = Field(default=3600.0, gt=0)
    delivery_poll_s: float = Field(default=1.0, gt=0)


def check_seed_webhooks(agencies: list[AgencyRecord], allowed: AllowList, path: Path) -> None:
    """The seed's webhook URLs obey the rules the API applies to an operator's (an internal one stops the start)."""
    for agency in agencies:
        if agency.webhook_url is not None and (refusal := check_url(str(agency.webhook_url), allowed)):
            raise ValueError(f"{path}: agency {agency.id}: {refusal.message_en}")


def channels_of(settings: NotificationSettings, allowed: AllowList) -> dict[str, DeliveryChannel]:
    email = EmailChannel(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        use_tls=settings.smtp_tls,
        timeout_s=settings.smtp_timeout_s,
    )
    channels: dict[str, DeliveryChannel] = {
        "email": email,
        "webhook": WebhookChannel(timeout_s=settings.webhook_timeout_s, allowed=allowed),
    }
    if settings.sms_gateway_url:
        channels["sms"] = SmsGatewayChannel(
            url=settings.sms_gateway_url, token=settings.sms_gateway_token, sender=settings.sms_sender
        )
    return channels


def bootstrap(settings: NotificationSettings, runtime: Runtime, seed: Seed) -> Notifications:
    """One place that wires the real adapters (MongoDB, channels, the broker, the clock) to the use cases."""
    repository = NotificationRepository(runtime.db, runtime.outbox, runtime.events)
    directory = AgencyDirectory(runtime.db["agencies"], runtime.outbox, runtime.events)
    channels = channels_of(settings, settings.webhook_allow_list())
    policy = DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts,
        backoff_s=settings.delivery_backoff_s,
        backoff_max_s=settings.delivery_backoff_max_s,
        # Longer than any one attempt can take, so a live sender is never overtaken.
        lease=timedelta(seconds=max(settings.smtp_timeout_s, settings.webhook_timeout_s) * 2 + 5),
        ack_reminder_after=timedelta(seconds=settings.ack_reminder_after_s),
    )
    delivery = Delivery(
        repository, directory, Templates(settings.templates_dir), channels, policy,
        AckLinks(settings.acknowledgement_secret(), settings.public_url),
        clock=runtime.clock, poll_s=settings.delivery_poll_s,
    )  # fmt: skip
    meanings = Meanings(
        repository, directory, delivery.send, instance_id=settings.instance_id,
        unit=Unit(settings.level, settings.instance_name), console_url=settings.console_url, heads=seed.heads,
        announcement_recipients=[str(e) for e in seed.announcement_recipients], reception=seed.reception,
        sms="sms" in channels,
    )  # fmt: skip
    return Notifications(meanings, delivery, directory, repository, settings.level)


def create_app(settings: NotificationSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    allowed = settings.webhook_allow_list()
    seed = load_directory(settings.agency_seed(), instance_id=settings.instance_id, level=settings.level)
    check_seed_webhooks(seed.agencies, allowed, settings.agency_seed())
    runtime = Runtime(settings, SERVICE, clock=clock)
    parts = bootstrap(settings, runtime, seed)
    runtime.include(build_router(parts.meanings, prefetch=settings.prefetch))
    runtime.add_loop(parts.delivery.run)

    async def setup() -> None:
        await parts.repository.create_indexes()
        await parts.directory.create_indexes()
        await parts.directory.seed(seed.agencies)

    app = create_service_app(
        title=f"doithoai — thông báo ({settings.instance_name})",
        description=(
            "Danh bạ cơ quan; gửi thông báo giao việc, nhắc hạn, quá hạn tới cơ quan (email, webhook có chữ ký, SMS) "
            "và thông báo tiếp nhận, trả lời tới người dân; tình trạng gửi, gửi lại, xác nhận đã nhận."
        ),
        runtime=runtime,
        setup=setup,
        routers=[api.router],
    )
    app.state.notification = parts
    app.state.webhook_allowed = allowed
    return app
