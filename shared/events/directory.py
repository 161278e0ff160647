"""Contracts about agencies and about delivering to them: the directory's changes, delivery outcomes."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventPayload
from shared.events.vocabulary import FieldCodes, Level


class AgencyUpdatedV1(EventPayload):
    """An agency of the directory was added or changed (what routing needs; no contacts, no secrets)."""

    event_type = "agency.updated.v1"

    agency_id: str
    name: str
    level: Level
    fields: FieldCodes
    default: bool = False
    active: bool = True
    version: int = Field(description="Increases with every change; an older version never overwrites a newer.")


class NotificationOutcome(EventPayload):
    notification_id: str
    type: str = Field(description="assignment_notice, reminder, citizen_answer, …")
    channel: str = Field(description="email, webhook, sms, …")
    recipient_kind: str = Field(description="agency or citizen")
    agency_id: str | None = None
    agency_name: str | None = None
    opinion_id: str | None = None
    tracking_code: str | None = None


class NotificationFailedV1(NotificationOutcome):
    """A notification could not be delivered after every retry; it waits for an operator."""

    event_type = "notification.failed.v1"

    attempts: int
    error: str
    failed_at: AwareDatetime


class NotificationAcknowledgedV1(NotificationOutcome):
    """The agency confirmed it received the notification."""

    event_type = "notification.acknowledged.v1"

    acknowledged_at: AwareDatetime
    via: str = Field(description="link (in the mail), webhook (its reply) or api")
