"""Notification's use cases: store each message before sending it, deliver it, retry it, remind, confirm.

Every notification has an id derived from its cause (event id, recipient, type, channel) and is
stored before it is sent, so a redelivered event never sends it twice. Delivery is tried at once;
a temporary failure is retried later with exponential backoff and jitter, up to a limit, after
which the notification is marked failed, `notification.failed.v1` is published and it waits for
an operator's retry. The one window left for a duplicate: the server (SMTP, webhook, SMS gateway)
accepted the message and this process died before recording it; after the lease runs out the
retry loop sends it again (mail keeps the same Message-ID, webhooks the same notification id).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from jinja2 import TemplateError

from services.notification.channels import Address, DeliveryChannel, Message, PermanentFailure, TemporaryFailure
from services.notification.directory import AgencyDirectory
from services.notification.domain import NEEDS_ACK, DeliveryPolicy, Notification, Recipient, now_utc
from services.notification.messages import Meanings
from services.notification.rendering import Templates
from services.notification.repository import NotificationRepository
from shared.clock import VIETNAM, Clock
from shared.events import Envelope, EventPayload
from shared.observability import metrics

log = logging.getLogger(__name__)


class NotificationStore(Protocol):
    async def create(self, notifications: list[Notification], lease: timedelta) -> list[Notification]: ...
    async def due(self, limit: int = 100) -> list[Notification]: ...
    async def claim(self, notification_id: str, lease: timedelta) -> bool: ...
    async def save(self, notification: Notification) -> bool: ...
    async def unacknowledged(self, sent_before: datetime, limit: int = 100) -> list[Notification]: ...
    async def get(self, notification_id: str) -> Notification | None: ...
    async def search(self, query: dict[str, Any], limit: int = 500) -> list[dict[str, Any]]: ...


class WebhookSecrets(Protocol):
    async def webhook_secret(self, agency_id: str) -> str | None: ...


class AckLinks:
    """The signed link in an agency's mail that confirms receipt without an account."""

    def __init__(self, secret: str, public_url: str) -> None:
        self._secret = secret.encode()
        self._public_url = public_url.rstrip("/")

    def token(self, notification_id: str) -> str:
        return hmac.new(self._secret, notification_id.encode(), hashlib.sha256).hexdigest()[:32]

    def valid(self, notification_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token(notification_id).encode(), token.encode())

    def url(self, notification_id: str) -> str:
        return f"{self._public_url}/api/v1/notifications/{notification_id}/ack?token={self.token(notification_id)}"


class Delivery:
    def __init__(
        self,
        store: NotificationStore,
        secrets: WebhookSecrets,
        templates: Templates,
        channels: dict[str, DeliveryChannel],
        policy: DeliveryPolicy,
        acks: AckLinks,
        *,
        clock: Clock,
        poll_s: float = 1.0,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.templates = templates
        self.channels = channels
        self.policy = policy
        self.acks = acks
        self.clock = clock
        self.poll_s = poll_s

    async def send(
        self, event: Envelope[EventPayload], kind: str, recipient: Recipient, variables: dict[str, Any]
    ) -> None:
        """Store one notification per channel of the recipient, then try to deliver those that are new."""
        addresses = recipient.addresses or ({"email": ""} if recipient.kind == "agency" else {})
        if not addresses:
            return  # a citizen who left no contact
        payload: Any = event.payload
        fresh = [
            Notification.new(
                cause_id=str(event.event_id),
                correlation_id=event.correlation_id,
                kind=kind,
                recipient=recipient,
                channel=channel,
                address=address,
                opinion_id=getattr(payload, "opinion_id", None),
                tracking_code=getattr(payload, "tracking_code", None),
                variables=variables,
                now=self.clock.now(),
            )  # fmt: skip
            for channel, address in addresses.items()
        ]
        for notification in await self.store.create(fresh, self.policy.lease):
            await self.attempt(notification)

    async def attempt(self, n: Notification) -> None:
        """One delivery attempt of a notification this process holds the lease of."""
        kind, channel_name, address = n.doc["type"], n.doc["channel"], n.doc["recipient"]["address"]
        labels = {**metrics.base(), "channel": channel_name, "type": kind}
        ack_url = self.acks.url(n.doc.get("ack_for") or n.id) if n.for_agency else None
        try:
            rendered = self.templates.render(kind, {**n.doc["variables"], "ack_url": ack_url})
        except TemplateError as exc:
            await self._fail(n, f"template {kind}.j2 cannot be rendered: {exc}", attempted=False)
            return
        channel = self.channels.get(channel_name)
        if channel is None or not address:
            await self._fail(n, f"no way to reach {n.doc['recipient']['name']} by {channel_name!r}", attempted=False)
            return
        secret = None
        if channel_name == "webhook":
            secret = await self.secrets.webhook_secret(n.doc["recipient"]["agency_id"])
        message = Message(
            notification_id=n.id,
            type=kind,
            subject=rendered.subject,
            body=rendered.body,
            sms=rendered.sms,
            tracking_code=n.doc.get("tracking_code"),
            opinion_id=n.doc.get("opinion_id"),
            ack_url=ack_url,
            data={k: v for k, v in n.doc["variables"].items() if isinstance(v, str | int | float | bool | None)},
        )
        try:
            delivered = await channel.deliver(message, Address(address, secret))
        except TemporaryFailure as exc:
            attempts = n.doc["attempts"] + 1
            if attempts >= self.policy.max_attempts:
                await self._fail(n, f"{exc} (gave up after {attempts} attempts)", attempted=True)
                return
            retry_at = now_utc() + self.policy.next_attempt(attempts)
            n.retry_later(error=str(exc), at=self.clock.now(), retry_at=retry_at)
            await self.store.save(n)
            metrics.NOTIFICATIONS.labels(**labels, outcome="retry").inc()
            log.warning("%s %s to %s failed (%s); attempt %d at %s", channel_name, kind, address, exc, attempts + 1,
                        retry_at.isoformat(timespec="seconds"))  # fmt: skip
            return
        except PermanentFailure as exc:
            await self._fail(n, str(exc), attempted=True)
            return
        awaiting_ack = n.for_agency and kind in NEEDS_ACK and not delivered.acknowledged
        n.sent(subject=rendered.subject, awaiting_ack=awaiting_ack, at=self.clock.now())
        await self.store.save(n)
        metrics.NOTIFICATIONS.labels(**labels, outcome="sent").inc()
        log.info("%s %s sent to %s for %s", channel_name, kind, address, n.doc.get("tracking_code"))
        if n.for_agency and delivered.acknowledged:  # the receiver confirmed in its answer
            await self._acknowledge(n, via=channel_name)

    async def _fail(self, n: Notification, error: str, *, attempted: bool) -> None:
        n.fail(error=error, at=self.clock.now(), attempted=attempted)
        if await self.store.save(n):
            metrics.NOTIFICATIONS.labels(
                **metrics.base(), channel=n.doc["channel"], type=n.doc["type"], outcome="failed"
            ).inc()
            log.error(
                "%s %s for %s failed for good: %s", n.doc["channel"], n.doc["type"], n.doc.get("tracking_code"), error
            )

    async def deliver_due(self) -> int:
        """Retry what is due (and what a dead process left leased); returns how many were tried."""
        tried = 0
        for notification in await self.store.due():
            if await self.store.claim(notification.id, self.policy.lease):
                await self.attempt(notification)
                tried += 1
        return tried

    # ---- acknowledgements, reminders, retries ---------------------------------------------------

    async def get(self, notification_id: str) -> Notification | None:
        return await self.store.get(notification_id)

    async def search(
        self, *, tracking_code: str | None, opinion_id: str | None, agency_id: str | None, status: str | None
    ) -> list[dict[str, Any]]:
        """Delivery status, by opinion, agency or status (oldest first)."""
        query: dict[str, Any] = {}
        if tracking_code:
            query["tracking_code"] = tracking_code.strip().upper()
        if opinion_id:
            query["opinion_id"] = opinion_id
        if agency_id:
            query["recipient.agency_id"] = agency_id
        if status:
            query["status"] = status
        return await self.store.search(query)

    async def _load(self, notification_id: str) -> Notification:
        notification = await self.store.get(notification_id)
        if notification is None:
            raise KeyError(notification_id)
        return notification

    async def _acknowledge(self, n: Notification, *, via: str, actor: Any = None) -> None:
        if n.acknowledge(via=via, at=self.clock.now(), actor=actor) and await self.store.save(n):
            labels = {**metrics.base(), "channel": n.doc["channel"], "type": n.doc["type"]}
            metrics.NOTIFICATIONS.labels(**labels, outcome="acknowledged").inc()

    async def acknowledge(self, notification_id: str, *, via: str, actor: Any) -> Notification:
        """A person of the agency (or its signed link) confirms receipt; raises NotAcknowledgeable."""
        notification = await self._load(notification_id)
        await self._acknowledge(notification, via=via, actor=actor)
        return notification

    async def retry(self, notification_id: str, actor: Any) -> tuple[Notification, bool]:
        """An operator sends a failed notification again; False (and nothing changed) unless it failed."""
        notification = await self._load(notification_id)
        retried = notification.requeue(actor) and await self.store.save(notification)
        return notification, retried

    async def remind_unacknowledged(self) -> int:
        """One reminder for every agency notice left unacknowledged for too long."""
        reminded = 0
        # `sent_at` is the service clock's time, like the rule: two days after it was sent.
        for notice in await self.store.unacknowledged(self.clock.now() - self.policy.ack_reminder_after):
            sent_at = notice.doc["sent_at"].astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")
            for reminder in await self.store.create([notice.reminder(self.clock.now(), sent_at)], self.policy.lease):
                await self.attempt(reminder)
            notice.reminded()
            await self.store.save(notice)
            reminded += 1
        return reminded

    async def run(self) -> None:
        ticks = 0
        while True:
            try:
                await self.deliver_due()
                if ticks % 30 == 0:
                    await self.remind_unacknowledged()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery pass failed; will try again")
            ticks += 1
            await asyncio.sleep(self.poll_s)


@dataclass
class Notifications:
    """The notification service's parts, wired once: what the consumers, the loops and the API call."""

    meanings: Meanings
    delivery: Delivery
    directory: AgencyDirectory
    repository: NotificationRepository
    level: str
