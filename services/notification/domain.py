"""Notification's domain: one notification's delivery as an aggregate (queued → sent → acknowledged, or
retried later, or failed), its id, and the retry policy; without I/O.

A notification is one message to one recipient on one channel for one cause (an event, or an
unacknowledged notice). Its id derives from those, so the same cause never makes it twice.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain import Aggregate, Story
from shared.events import NotificationAcknowledgedV1, NotificationFailedV1

QUEUED, SENT, FAILED, ACKNOWLEDGED = "queued", "sent", "failed", "acknowledged"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
# What an agency is asked to confirm it received; unconfirmed ones bring a reminder.
NEEDS_ACK = {"assignment_notice", "overdue_notice", "conclusion_notice"}


def notification_id(cause: str, recipient: str, kind: str, channel: str) -> str:
    return hashlib.sha256(f"{cause}|{recipient.lower()}|{kind}|{channel}".encode()).hexdigest()[:32]


def now_utc() -> datetime:
    # Leases and retry times are about this machine's processes, not the domain's (injected) clock.
    return datetime.now(UTC)


@dataclass
class Recipient:
    kind: str  # agency, citizen, or official (a head, an invitee, the announcement desk)
    id: str  # agency id, the opinion id for a citizen, the address of an official
    name: str | None
    addresses: dict[str, str] = field(default_factory=dict)  # channel → address, in order of preference


def official(email: str, name: str | None) -> Recipient:
    return Recipient("official", email, name, {"email": email})


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int
    backoff_s: float
    backoff_max_s: float
    lease: timedelta
    ack_reminder_after: timedelta

    def next_attempt(self, attempts: int, jitter: float | None = None) -> timedelta:
        """After `attempts` tries: the first delay doubled each time, ±50 % jitter, then capped (the cap
        holds whatever the jitter: it is applied last)."""
        delay = self.backoff_s * 2 ** max(attempts - 1, 0)
        delay *= random.uniform(0.5, 1.5) if jitter is None else jitter
        return timedelta(seconds=min(self.backoff_max_s, delay))


class NotAcknowledgeable(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class Notification(Aggregate):
    """One notification, as its document: each method is a step of its delivery."""

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__()
        self.doc = doc
        self.loaded_status: str = doc.get("status", QUEUED)

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    @property
    def status(self) -> str:
        return str(self.doc["status"])

    @property
    def for_agency(self) -> bool:
        return self.doc["recipient"]["kind"] == "agency"

    @property
    def story(self) -> Story:
        return Story(self.doc.get("correlation_id") or self.id)

    @classmethod
    def new(
        cls,
        *,
        cause_id: str,
        correlation_id: str | None,
        kind: str,
        recipient: Recipient,
        channel: str,
        address: str,
        opinion_id: str | None,
        tracking_code: str | None,
        variables: dict[str, Any],
        now: datetime,
        ack_for: str | None = None,
    ) -> Notification:
        doc: dict[str, Any] = {
            "_id": notification_id(cause_id, address if ack_for else f"{recipient.kind}:{recipient.id}", kind, channel),
            "cause_event_id": cause_id,
            "correlation_id": correlation_id,
            "type": kind,
            "channel": channel,
            "recipient": {
                "kind": recipient.kind,
                "agency_id": recipient.id if recipient.kind == "agency" else None,
                "name": recipient.name,
                "address": address,
            },
            "opinion_id": opinion_id,
            "tracking_code": tracking_code,
            "variables": variables,
            "status": QUEUED,
            "attempts": 0,
            "next_attempt_at": now_utc(),
            "created_at": now,
        }
        if ack_for:
            doc["ack_for"] = ack_for
        return cls(doc)

    def reminder(self, now: datetime, sent_at_text: str) -> Notification:
        """One reminder of this notice, left unacknowledged too long (its id derives from this one)."""
        cause = f"ack-reminder:{self.id}"
        variables = {
            **self.doc["variables"],
            "original_subject": self.doc.get("subject") or self.doc["type"],
            "sent_at": sent_at_text,
        }
        recipient = self.doc["recipient"]
        to = Recipient(recipient["kind"], recipient.get("agency_id") or recipient["address"], recipient["name"])
        reminder = Notification.new(
            cause_id=cause, correlation_id=self.doc.get("correlation_id"), kind="ack_reminder", recipient=to,
            channel=self.doc["channel"], address=recipient["address"], opinion_id=self.doc.get("opinion_id"),
            tracking_code=self.doc.get("tracking_code"), variables=variables, now=now, ack_for=self.id,
        )  # fmt: skip
        reminder.doc["recipient"] = dict(recipient)  # the same person at the same address
        return reminder

    def _set(self, **values: Any) -> None:
        self.doc.update(values)
        self.changed.update(values)

    def changes(self) -> dict[str, Any]:
        return {name: self.doc[name] for name in sorted(self.changed)}

    # ---- delivery ----------------------------------------------------------------------------------

    def sent(self, *, subject: str, awaiting_ack: bool, at: datetime) -> None:
        self._set(
            status=SENT,
            sent_at=at,
            subject=subject,
            awaiting_ack=awaiting_ack,
            lease_until=NEVER,
            attempts=self.doc["attempts"] + 1,
        )

    def retry_later(self, *, error: str, at: datetime, retry_at: datetime) -> None:
        self._set(
            last_error=error,
            last_attempt_at=at,
            next_attempt_at=retry_at,
            lease_until=NEVER,
            attempts=self.doc["attempts"] + 1,
        )

    def fail(self, *, error: str, at: datetime, attempted: bool) -> None:
        """Given up (or impossible): failed, waiting for an operator; `notification.failed.v1` tells intake."""
        attempts = self.doc["attempts"] + (1 if attempted else 0)
        self._set(status=FAILED, last_error=error, failed_at=at, lease_until=NEVER, attempts=attempts)
        recipient = self.doc["recipient"]
        self.record(
            NotificationFailedV1(
                notification_id=self.id,
                type=self.doc["type"],
                channel=self.doc["channel"],
                recipient_kind=recipient["kind"],
                agency_id=recipient.get("agency_id"),
                agency_name=recipient.get("name") if self.for_agency else None,
                opinion_id=self.doc.get("opinion_id"),
                tracking_code=self.doc.get("tracking_code"),
                attempts=attempts,
                error=error,
                failed_at=at,
            ),
            self.story,
        )

    def acknowledge(self, *, via: str, at: datetime, actor: Any = None) -> bool:
        """The agency confirms receipt (a person's confirmation is audited); False if it already had
        (nothing recorded twice)."""
        if self.status == ACKNOWLEDGED:
            return False
        if self.status != SENT or not self.for_agency:
            raise NotAcknowledgeable(self.status)
        self._set(status=ACKNOWLEDGED, acknowledged_at=at, acknowledged_via=via, awaiting_ack=False)
        if actor is not None:
            self.note(actor, "notification.acknowledged", self.id, {"type": self.doc["type"], "via": via})
        recipient = self.doc["recipient"]
        self.record(
            NotificationAcknowledgedV1(
                notification_id=self.id,
                type=self.doc["type"],
                channel=self.doc["channel"],
                recipient_kind="agency",
                agency_id=recipient.get("agency_id"),
                agency_name=recipient.get("name"),
                opinion_id=self.doc.get("opinion_id"),
                tracking_code=self.doc.get("tracking_code"),
                acknowledged_at=at,
                via=via,
            ),
            self.story,
        )
        return True

    def reminded(self) -> None:
        """Its one reminder is on its way: no second one."""
        self._set(awaiting_ack=False)

    def requeue(self, actor: Any) -> bool:
        """An operator's retry of a failed notification, from scratch; False unless it failed."""
        if self.status != FAILED:
            return False
        self._set(status=QUEUED, attempts=0, next_attempt_at=NEVER, lease_until=NEVER)
        self.note(actor, "notification.retried", self.id, {"type": self.doc["type"]})
        return True
