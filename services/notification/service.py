"""Notification's use cases: tell agencies what they must do and citizens what became of their opinion.

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
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError

from services.notification.channels import (
    Address,
    DeliveryChannel,
    Message,
    PermanentFailure,
    TemporaryFailure,
)
from services.notification.directory import AgencyDirectory
from services.notification.rendering import Templates
from services.notification.repository import ACKNOWLEDGED, SENT, NotificationRepository, now_utc
from shared.agencies import Official
from shared.clock import VIETNAM
from shared.events import (
    FIELDS,
    AgencyRef,
    AnswerKind,
    Channel,
    ConclusionIssuedV1,
    Conference,
    ConferenceDossierV1,
    ConferenceUpdatedV1,
    Envelope,
    EscalationState,
    EventPayload,
    Head,
    NotificationAcknowledgedV1,
    NotificationFailedV1,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueSoonV1,
    OpinionEscalationUpdatedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
    OpinionRedirectedV1,
    RedirectKind,
)
from shared.messaging.consumer import TransientError
from shared.observability import metrics
from shared.runtime import Runtime
from shared.storage.outbox import outbox_entries

log = logging.getLogger(__name__)

# What an agency is asked to confirm it received; unconfirmed ones bring a reminder.
NEEDS_ACK = {"assignment_notice", "overdue_notice", "conclusion_notice"}


def notification_id(cause: str, recipient: str, kind: str, channel: str) -> str:
    return hashlib.sha256(f"{cause}|{recipient.lower()}|{kind}|{channel}".encode()).hexdigest()[:32]


def _date(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def _datetime(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def _official(email: str, name: str | None) -> Recipient:
    return Recipient("official", email, name, {"email": email})


@dataclass
class Recipient:
    kind: str  # agency, citizen, or official (a head, an invitee, the announcement desk)
    id: str  # agency id, the opinion id for a citizen, the address of an official
    name: str | None
    addresses: dict[str, str] = field(default_factory=dict)  # channel → address, in order of preference


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int
    backoff_s: float
    backoff_max_s: float
    lease: timedelta
    ack_reminder_after: timedelta

    def next_attempt(self, attempts: int) -> timedelta:
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=delay * random.uniform(0.5, 1.5))


class NotAcknowledgeable(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class NotificationService:
    def __init__(
        self,
        runtime: Runtime,
        repository: NotificationRepository,
        directory: AgencyDirectory,
        templates: Templates,
        channels: dict[str, DeliveryChannel],
        policy: DeliveryPolicy,
        *,
        console_url: str,
        public_url: str,
        ack_secret: str,
        heads: dict[Head, Official] | None = None,
        announcement_recipients: list[str] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self.runtime = runtime
        self.repository = repository
        self.directory = directory
        self.templates = templates
        self.channels = channels
        self.policy = policy
        self.console_url = console_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.ack_secret = ack_secret.encode()
        self.poll_s = poll_s
        self.heads = heads or {}
        self.announcement_recipients = announcement_recipients or []

    # ---- what each event means for whom ------------------------------------------------------

    def _common(self, tracking_code: str) -> dict[str, Any]:
        return {
            "instance_name": self.runtime.settings.instance_name,
            "tracking_code": tracking_code,
            "status_url": f"{self.console_url}/theo-doi/{tracking_code}",
            "inbox_url": f"{self.console_url}/hop-thu/{tracking_code}",
        }

    async def on_received(self, event: Envelope[OpinionReceivedV1]) -> None:
        p = event.payload
        citizen = p.citizen
        contact = {
            "tracking_code": p.tracking_code,
            "name": citizen.name if citizen else None,
            "email": str(citizen.email) if citizen and citizen.email else None,
            "phone": citizen.phone if citizen else None,
        }
        await self.repository.save_contact(p.opinion_id, contact)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact["name"],
            "channel_label": Channel(p.channel).label,
            "submitted_at": _datetime(p.submitted_at),
            "text": p.text,
        }
        await self.notify(event, "citizen_ack", self._citizen(p.opinion_id, contact), variables)

    async def on_assigned(self, event: Envelope[OpinionAssignedV1]) -> None:
        p = event.payload
        variables = {
            **self._common(p.tracking_code),
            "agency_name": p.agency.name,
            "field_name": FIELDS[p.field].name,
            "head_label": Head(p.head).label,
            "channel_label": Channel(p.channel).label,
            "submitted_at": _datetime(p.submitted_at),
            "due_date": _date(p.due_at),
            "text": p.text,
        }
        await self.notify(event, "assignment_notice", await self._agency(p.agency), variables)

    async def on_answered(self, event: Envelope[OpinionAnsweredV1]) -> None:
        p = event.payload
        if not self._received_here(p.origin_instance):
            return  # the instance that received it tells the citizen
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "answer_kind_label": AnswerKind(p.kind).label,
            "answered_by": p.answered_by if not p.answering_name else f"{p.answered_by}, {p.answering_name}",
            "document_number": p.document_number,
            "answered_at": _date(p.answered_at),
            "answer_text": p.text,
        }
        await self.notify(event, "citizen_answer", self._citizen(p.opinion_id, contact), variables)

    async def on_escalation_updated(self, event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        """Tell the citizen which level and agency now hold the opinion, and when to expect the answer."""
        p = event.payload
        if p.state is not EscalationState.ACCEPTED or not self._received_here(p.origin_instance):
            return
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "holder_name": p.holder_name,
            "agency_name": p.agency_name,
            "due_date": _date(p.due_at) if p.due_at else None,
        }
        await self.notify(event, "escalation_notice", self._citizen(p.opinion_id, contact), variables)

    async def on_deadline(self, event: Envelope[OpinionDueSoonV1] | Envelope[OpinionOverdueV1]) -> None:
        p = event.payload
        variables = {**self._common(p.tracking_code), "agency_name": p.agency.name, "due_date": _date(p.due_at)}
        if isinstance(p, OpinionDueSoonV1):
            await self.notify(event, "reminder", await self._agency(p.agency), {**variables, "days_left": p.days_left})
            return
        await self.notify(event, "overdue_notice", await self._agency(p.agency), variables)
        head = self.heads.get(p.head) if p.head else None
        if head is not None:  # the head who must answer is told too
            assert p.head is not None
            variables |= {"head_name": head.name, "head_label": p.head.label}
            await self.notify(event, "overdue_head", _official(str(head.email), head.name), variables)

    async def on_redirected(self, event: Envelope[OpinionRedirectedV1]) -> None:
        p = event.payload
        if not self._received_here(p.origin_instance):
            return
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "kind_label": RedirectKind(p.kind).label,
            "reason": p.reason,
        }
        await self.notify(event, "citizen_redirect", self._citizen(p.opinion_id, contact), variables)

    # ---- conferences ---------------------------------------------------------------------------

    def _conference(self, c: Conference) -> dict[str, Any]:
        return {
            "instance_name": self.runtime.settings.instance_name,
            "title": c.title,
            "starts_at": _datetime(c.starts_at),
            "venue": c.venue,
            "chairs": ", ".join(Head(h).label for h in c.chairs),
            "topics": "; ".join(c.topics),
        }

    async def on_conference_updated(self, event: Envelope[ConferenceUpdatedV1]) -> None:
        """The announcement and the invitations; news of a cancellation, postponement or new date."""
        change, c = event.payload.change, event.payload.conference
        variables = self._conference(c)
        if change == "announced":
            for email in self.announcement_recipients:
                await self.notify(event, "announcement", _official(email, "Bộ phận thông tin"), variables)
            kind = "invitation"
        elif change in ("cancelled", "postponed", "rescheduled"):
            labels = {"cancelled": "Hủy hội nghị", "postponed": "Hoãn hội nghị", "rescheduled": "Dời lịch hội nghị"}
            variables |= {
                "change_label": labels[change],
                "reason": c.status_reason,
                "original": variables["starts_at"],
                "new_time": variables["starts_at"] if change == "rescheduled" else None,
            }
            kind = "conference_changed"
        else:
            return
        for invitee in c.invitees:
            if invitee.email:
                recipient = _official(str(invitee.email), invitee.name)
                await self.notify(
                    event, kind, recipient, {**variables, "invitee_name": invitee.name, "invitee_group": invitee.group}
                )

    async def on_dossier(self, event: Envelope[ConferenceDossierV1]) -> None:
        p = event.payload
        head = self.heads.get(p.head)
        if head is None:
            log.warning("no contact for %s: dossier of %s not sent", p.head.value, p.conference_id)
            return
        groups = [
            {
                "field_name": FIELDS[field].name,
                "opinions": [{**i.model_dump(), "channel_label": Channel(i.channel).label} for i in items],
            }
            for field, items in sorted(p.groups.items())
        ]
        variables = {
            **self._conference(
                Conference.model_construct(
                    title=p.title, starts_at=p.starts_at, venue=p.venue, chairs=[p.head], topics=[]
                )
            ),  # fmt: skip
            "head_name": head.name,
            "head_label": p.head.label,
            "groups": groups,
            "total": sum(len(g["opinions"]) for g in groups),
        }
        await self.notify(event, "dossier", _official(str(head.email), head.name), variables)

    async def on_conclusion(self, event: Envelope[ConclusionIssuedV1]) -> None:
        p = event.payload
        items = [
            {
                "tracking_code": i.tracking_code,
                "text": i.text,
                "task": "giải quyết, trả lời riêng bằng văn bản"
                if i.outcome == "off_topic"
                else "trả lời bằng văn bản",
                "due": _date(i.due_at) if i.due_at else "—",
            }
            for i in p.items
        ]
        variables = {
            "instance_name": self.runtime.settings.instance_name,
            "title": p.title,
            "agency_name": p.agency.name,
            "items": items,
            "document_url": p.document_url,
            "tracking_code": ", ".join(i.tracking_code for i in p.items),
        }
        await self.notify(event, "conclusion_notice", await self._agency(p.agency), variables)

    def _received_here(self, origin: str | None) -> bool:
        return origin is None or origin == self.runtime.settings.instance_id

    async def _contact(self, opinion_id: str) -> dict[str, Any]:
        contact = await self.repository.contact(opinion_id)
        if contact is None:
            # opinion.received.v1 is on its way on another queue; come back to this one later.
            raise TransientError(f"contact of opinion {opinion_id} not known yet")
        return contact

    def _citizen(self, opinion_id: str, contact: dict[str, Any]) -> Recipient:
        addresses = {}
        if contact.get("email"):
            addresses["email"] = contact["email"]
        elif contact.get("phone") and "sms" in self.channels:
            addresses["sms"] = contact["phone"]
        return Recipient("citizen", opinion_id, contact.get("name"), addresses)

    async def _agency(self, ref: AgencyRef) -> Recipient:
        record = await self.directory.get(ref.id)
        if record is None or not record.active:
            log.warning("agency %s is not in this instance's directory; using what the event says", ref.id)
            return Recipient("agency", ref.id, ref.name, {"email": str(ref.email)} if ref.email else {})
        contacts = {"email": record.email, "webhook": record.webhook_url, "sms": record.phone}
        return Recipient("agency", record.id, record.name, {c: str(contacts[c]) for c in record.channels})

    # ---- storing and delivering ----------------------------------------------------------------

    async def notify(
        self, event: Envelope[EventPayload], kind: str, recipient: Recipient, variables: dict[str, Any]
    ) -> None:
        """Store one notification per channel of the recipient, then try to deliver them."""
        payload: Any = event.payload
        addresses = recipient.addresses or ({"email": ""} if recipient.kind == "agency" else {})
        if not addresses:
            return  # a citizen who left no contact
        now = self.runtime.clock.now()
        docs = [
            {
                "_id": notification_id(str(event.event_id), f"{recipient.kind}:{recipient.id}", kind, channel),
                "cause_event_id": str(event.event_id),
                "correlation_id": event.correlation_id,
                "type": kind,
                "channel": channel,
                "recipient": {
                    "kind": recipient.kind,
                    "agency_id": recipient.id if recipient.kind == "agency" else None,
                    "name": recipient.name,
                    "address": address,
                },
                "opinion_id": getattr(payload, "opinion_id", None),
                "tracking_code": getattr(payload, "tracking_code", None),
                "variables": variables,
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": now_utc(),
                "created_at": now,
            }
            for channel, address in addresses.items()
        ]
        for doc in await self.repository.create(docs, self.policy.lease):
            await self.attempt(doc)

    def ack_token(self, notification_id: str) -> str:
        return hmac.new(self.ack_secret, notification_id.encode(), hashlib.sha256).hexdigest()[:32]

    def ack_url(self, notification_id: str) -> str:
        return f"{self.public_url}/api/v1/notifications/{notification_id}/ack?token={self.ack_token(notification_id)}"

    async def attempt(self, doc: dict[str, Any]) -> None:
        """One delivery attempt of a notification this process holds the lease of."""
        nid, kind, channel_name = doc["_id"], doc["type"], doc["channel"]
        labels = {**metrics.base(), "channel": channel_name, "type": kind}
        is_agency = doc["recipient"]["kind"] == "agency"
        ack_url = self.ack_url(doc.get("ack_for") or nid) if is_agency else None
        try:
            rendered = self.templates.render(kind, {**doc["variables"], "ack_url": ack_url})
        except TemplateError as exc:
            await self._fail(doc, f"template {kind}.j2 cannot be rendered: {exc}", attempted=False)
            return
        channel = self.channels.get(channel_name)
        address = doc["recipient"]["address"]
        if channel is None or not address:
            await self._fail(doc, f"no way to reach {doc['recipient']['name']} by {channel_name!r}", attempted=False)
            return
        secret = None
        if channel_name == "webhook":
            record = await self.directory.get(doc["recipient"]["agency_id"])
            secret = record.webhook_secret if record else None
        message = Message(
            notification_id=nid,
            type=kind,
            subject=rendered.subject,
            body=rendered.body,
            sms=rendered.sms,
            tracking_code=doc.get("tracking_code"),
            opinion_id=doc.get("opinion_id"),
            ack_url=ack_url,
            data={k: v for k, v in doc["variables"].items() if isinstance(v, str | int | float | bool | None)},
        )
        try:
            delivered = await channel.deliver(message, Address(address, secret))
        except TemporaryFailure as exc:
            attempts = doc["attempts"] + 1
            if attempts >= self.policy.max_attempts:
                await self._fail(doc, f"{exc} (gave up after {attempts} attempts)", attempted=True)
                return
            retry_at = now_utc() + self.policy.next_attempt(attempts)
            await self.repository.schedule_retry(nid, str(exc), self.runtime.clock.now(), retry_at)
            metrics.NOTIFICATIONS.labels(**labels, outcome="retry").inc()
            log.warning("%s %s to %s failed (%s); attempt %d at %s", channel_name, kind, address, exc, attempts + 1,
                        retry_at.isoformat(timespec="seconds"))  # fmt: skip
            return
        except PermanentFailure as exc:
            await self._fail(doc, str(exc), attempted=True)
            return
        awaiting_ack = is_agency and kind in NEEDS_ACK and not delivered.acknowledged
        await self.repository.mark_sent(
            nid, self.runtime.clock.now(), subject=rendered.subject, awaiting_ack=awaiting_ack
        )
        metrics.NOTIFICATIONS.labels(**labels, outcome="sent").inc()
        log.info("%s %s sent to %s for %s", channel_name, kind, address, doc.get("tracking_code"))
        if is_agency and delivered.acknowledged:
            await self.acknowledge(nid, via=channel_name)

    async def _fail(self, doc: dict[str, Any], error: str, *, attempted: bool) -> None:
        now = self.runtime.clock.now()
        event = self.runtime.envelope(
            NotificationFailedV1(
                notification_id=doc["_id"],
                type=doc["type"],
                channel=doc["channel"],
                recipient_kind=doc["recipient"]["kind"],
                agency_id=doc["recipient"].get("agency_id"),
                agency_name=doc["recipient"].get("name") if doc["recipient"]["kind"] == "agency" else None,
                opinion_id=doc.get("opinion_id"),
                tracking_code=doc.get("tracking_code"),
                attempts=doc["attempts"] + (1 if attempted else 0),
                error=error,
                failed_at=now,
            ),
            correlation_id=doc.get("correlation_id") or doc["_id"],
        )
        entries = outbox_entries(event)
        if await self.repository.mark_failed(doc["_id"], error, now, entries, attempted=attempted):
            metrics.NOTIFICATIONS.labels(
                **metrics.base(), channel=doc["channel"], type=doc["type"], outcome="failed"
            ).inc()
            log.error("%s %s for %s failed for good: %s", doc["channel"], doc["type"], doc.get("tracking_code"), error)
            await self.runtime.outbox.flush(self.repository.notifications, doc["_id"], entries)

    async def deliver_due(self) -> int:
        """Retry what is due (and what a dead process left leased); returns how many were tried."""
        tried = 0
        for doc in await self.repository.due():
            if await self.repository.claim(doc["_id"], self.policy.lease):
                await self.attempt(doc)
                tried += 1
        return tried

    # ---- acknowledgements, reminders, retries ---------------------------------------------------

    async def acknowledge(self, notification_id: str, *, via: str) -> dict[str, Any]:
        doc = await self.repository.get(notification_id)
        if doc is None:
            raise KeyError(notification_id)
        if doc["status"] == ACKNOWLEDGED:
            return doc
        if doc["status"] != SENT or doc["recipient"]["kind"] != "agency":
            raise NotAcknowledgeable(doc["status"])
        now = self.runtime.clock.now()
        event = self.runtime.envelope(
            NotificationAcknowledgedV1(
                notification_id=notification_id,
                type=doc["type"],
                channel=doc["channel"],
                recipient_kind="agency",
                agency_id=doc["recipient"].get("agency_id"),
                agency_name=doc["recipient"].get("name"),
                opinion_id=doc.get("opinion_id"),
                tracking_code=doc.get("tracking_code"),
                acknowledged_at=now,
                via=via,
            ),
            correlation_id=doc.get("correlation_id") or notification_id,
        )
        entries = outbox_entries(event)
        if await self.repository.mark_acknowledged(notification_id, now, via, entries):
            labels = {**metrics.base(), "channel": doc["channel"], "type": doc["type"]}
            metrics.NOTIFICATIONS.labels(**labels, outcome="acknowledged").inc()
            await self.runtime.outbox.flush(self.repository.notifications, notification_id, entries)
        return {**doc, "status": ACKNOWLEDGED, "acknowledged_at": now, "acknowledged_via": via}

    async def retry(self, notification_id: str) -> bool:
        return await self.repository.requeue(notification_id)

    async def remind_unacknowledged(self) -> int:
        """One reminder for every agency notice left unacknowledged for too long."""
        reminded = 0
        for doc in await self.repository.unacknowledged(now_utc() - self.policy.ack_reminder_after):
            variables = {
                **doc["variables"],
                "original_subject": doc.get("subject") or doc["type"],
                "sent_at": _datetime(doc["sent_at"]),
            }
            reminder = {
                "_id": notification_id(
                    f"ack-reminder:{doc['_id']}", doc["recipient"]["address"], "ack_reminder", doc["channel"]
                ),  # fmt: skip
                "cause_event_id": f"ack-reminder:{doc['_id']}",
                "correlation_id": doc.get("correlation_id"),
                "type": "ack_reminder",
                "channel": doc["channel"],
                "recipient": doc["recipient"],
                "opinion_id": doc.get("opinion_id"),
                "tracking_code": doc.get("tracking_code"),
                "variables": variables,
                "ack_for": doc["_id"],
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": now_utc(),
                "created_at": self.runtime.clock.now(),
            }
            for new in await self.repository.create([reminder], self.policy.lease):
                await self.attempt(new)
            await self.repository.stop_waiting_for_ack(doc["_id"])
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
