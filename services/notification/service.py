"""Notification's use cases: tell agencies what they must do and citizens what became of their opinion.

Every notification has an id derived from its cause (event id, recipient, type) and is stored
before it is sent, so a redelivered event never sends it again. The one window left: the SMTP
server accepted the mail and the process died before recording `sent`; the redelivery then
sends it a second time (with the same Message-ID, so the duplicate is recognisable).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

import aiosmtplib

from services.notification.mailer import SmtpMailer
from services.notification.rendering import Templates
from services.notification.repository import QUEUED, SENT, NotificationRepository
from shared.clock import VIETNAM
from shared.events import (
    FIELDS,
    AnswerKind,
    Channel,
    Envelope,
    EscalationState,
    EventPayload,
    Head,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueSoonV1,
    OpinionEscalationUpdatedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
)
from shared.messaging.consumer import TransientError
from shared.observability import metrics
from shared.runtime import Runtime

log = logging.getLogger(__name__)

EMAIL = "email"


def notification_id(event_id: str, recipient: str, kind: str) -> str:
    return hashlib.sha256(f"{event_id}|{recipient.lower()}|{kind}".encode()).hexdigest()[:32]


def _date(moment: Any) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def _datetime(moment: Any) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


class NotificationService:
    def __init__(
        self,
        runtime: Runtime,
        repository: NotificationRepository,
        templates: Templates,
        mailer: SmtpMailer,
        *,
        public_base_url: str,
    ) -> None:
        self.runtime = runtime
        self.repository = repository
        self.templates = templates
        self.mailer = mailer
        self.public_base_url = public_base_url.rstrip("/")
        # Longer than one SMTP attempt can take, so a live sender is never overtaken.
        self.lease = timedelta(seconds=mailer.timeout_s * 2 + 5)

    def _common(self, tracking_code: str) -> dict[str, Any]:
        return {
            "instance_name": self.runtime.settings.instance_name,
            "tracking_code": tracking_code,
            "status_url": f"{self.public_base_url}/api/v1/opinions/{tracking_code}",
        }

    async def on_received(self, event: Envelope[OpinionReceivedV1]) -> None:
        p = event.payload
        citizen = p.citizen
        await self.repository.save_contact(
            p.opinion_id,
            {
                "tracking_code": p.tracking_code,
                "name": citizen.name if citizen else None,
                "email": str(citizen.email) if citizen and citizen.email else None,
            },
        )
        if citizen and citizen.email:
            await self.send(
                event,
                kind="citizen_ack",
                to=str(citizen.email),
                variables={
                    **self._common(p.tracking_code),
                    "citizen_name": citizen.name,
                    "channel_label": Channel(p.channel).label,
                    "submitted_at": _datetime(p.submitted_at),
                    "text": p.text,
                },
            )

    async def on_assigned(self, event: Envelope[OpinionAssignedV1]) -> None:
        p = event.payload
        if not p.agency.email:
            log.warning("agency %s has no email; assignment of %s not notified", p.agency.id, p.tracking_code)
            return
        await self.send(
            event,
            kind="assignment_notice",
            to=str(p.agency.email),
            variables={
                **self._common(p.tracking_code),
                "agency_name": p.agency.name,
                "field_name": FIELDS[p.field].name,
                "head_label": Head(p.head).label,
                "channel_label": Channel(p.channel).label,
                "submitted_at": _datetime(p.submitted_at),
                "due_date": _date(p.due_at),
                "text": p.text,
            },
        )

    async def on_answered(self, event: Envelope[OpinionAnsweredV1]) -> None:
        p = event.payload
        if not self._received_here(p.origin_instance):
            return  # the instance that received it tells the citizen
        contact = await self.repository.contact(p.opinion_id)
        if contact is None:
            # opinion.received.v1 is on its way on another queue; come back to this one later.
            raise TransientError(f"contact of opinion {p.opinion_id} not known yet")
        if not contact.get("email"):
            return
        await self.send(
            event,
            kind="citizen_answer",
            to=contact["email"],
            variables={
                **self._common(p.tracking_code),
                "citizen_name": contact.get("name"),
                "answer_kind_label": AnswerKind(p.kind).label,
                "answered_by": p.answered_by,
                "document_number": p.document_number,
                "answered_at": _date(p.answered_at),
                "answer_text": p.text,
            },
        )

    async def on_escalation_updated(self, event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        """Tell the citizen which level and agency now hold the opinion, and when to expect the answer."""
        p = event.payload
        if p.state is not EscalationState.ACCEPTED or not self._received_here(p.origin_instance):
            return
        contact = await self.repository.contact(p.opinion_id)
        if contact is None:
            raise TransientError(f"contact of opinion {p.opinion_id} not known yet")
        if not contact.get("email"):
            return
        await self.send(
            event,
            kind="escalation_notice",
            to=contact["email"],
            variables={
                **self._common(p.tracking_code),
                "citizen_name": contact.get("name"),
                "holder_name": p.holder_name,
                "agency_name": p.agency_name,
                "due_date": _date(p.due_at) if p.due_at else None,
            },
        )

    def _received_here(self, origin: str | None) -> bool:
        return origin is None or origin == self.runtime.settings.instance_id

    async def on_deadline(self, event: Envelope[OpinionDueSoonV1] | Envelope[OpinionOverdueV1]) -> None:
        p = event.payload
        if not p.agency.email:
            return
        variables = {**self._common(p.tracking_code), "agency_name": p.agency.name, "due_date": _date(p.due_at)}
        if isinstance(p, OpinionDueSoonV1):
            await self.send(
                event, kind="reminder", to=str(p.agency.email), variables={**variables, "days_left": p.days_left}
            )
        else:
            await self.send(event, kind="overdue_notice", to=str(p.agency.email), variables=variables)

    async def send(self, event: Envelope[EventPayload], *, kind: str, to: str, variables: dict[str, Any]) -> None:
        payload: Any = event.payload
        nid = notification_id(str(event.event_id), to, kind)
        labels = {**metrics.base(), "channel": EMAIL, "type": kind}
        rendered = self.templates.render(kind, variables)
        now = self.runtime.clock.now()
        claim = await self.repository.claim(
            {
                "_id": nid,
                "event_id": str(event.event_id),
                "type": kind,
                "channel": EMAIL,
                "recipient": to,
                "opinion_id": payload.opinion_id,
                "tracking_code": payload.tracking_code,
                "subject": rendered.subject,
                "body": rendered.body,
                "status": QUEUED,
                "attempts": 0,
                "created_at": now,
            },
            self.lease,
        )
        if claim.doc["status"] == SENT:
            metrics.NOTIFICATIONS.labels(**labels, outcome="duplicate").inc()
            log.info("%s to %s for %s was sent already", kind, to, payload.tracking_code)
            return
        if not claim.owned:
            # Another delivery of the same event is sending it right now; look again later.
            raise TransientError(f"{kind} to {to} for {payload.tracking_code} is being sent by another delivery")
        try:
            await self.mailer.send(self.mailer.message(to, rendered, nid))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.repository.mark_attempt_failed(nid, repr(exc), now)
            metrics.NOTIFICATIONS.labels(**labels, outcome="failed").inc()
            raise TransientError(f"SMTP delivery of {kind} to {to} failed: {exc!r}") from exc
        await self.repository.mark_sent(nid, self.runtime.clock.now())
        metrics.NOTIFICATIONS.labels(**labels, outcome="sent").inc()
        log.info("%s sent to %s for %s", kind, to, payload.tracking_code)
