"""Contracts of the dialogue conference (hội nghị đối thoại): its plan and state, its dossiers,
its conclusions; and the outcomes recorded for opinions raised there."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, EmailStr, Field

from shared.events.envelope import EventPayload
from shared.events.opinions import AgencyRef, Contract, OpinionEvent
from shared.events.vocabulary import Head


class ConferenceStatus(StrEnum):
    PLANNED = "planned"
    ANNOUNCED = "announced"
    OPEN = "open"
    CLOSED = "closed"
    CONCLUDED = "concluded"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"

    @property
    def label(self) -> str:
        return CONFERENCE_STATUS_LABELS[self]


CONFERENCE_STATUS_LABELS = {
    ConferenceStatus.PLANNED: "Đã lên kế hoạch",
    ConferenceStatus.ANNOUNCED: "Đã thông báo",
    ConferenceStatus.OPEN: "Đang họp",
    ConferenceStatus.CLOSED: "Đã bế mạc",
    ConferenceStatus.CONCLUDED: "Đã ban hành kết luận",
    ConferenceStatus.CANCELLED: "Đã hủy",
    ConferenceStatus.POSTPONED: "Đã hoãn",
}

# Opinions may be attached while the conference has not been concluded or called off.
ACCEPTS_OPINIONS = {
    ConferenceStatus.PLANNED,
    ConferenceStatus.ANNOUNCED,
    ConferenceStatus.OPEN,
    ConferenceStatus.CLOSED,
    ConferenceStatus.POSTPONED,
}


class Invitee(Contract):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    group: str | None = Field(default=None, max_length=200, description="Participant group (MTTQ, tổ dân phố…).")


class Conference(Contract):
    """A conference as planned, and where it stands."""

    conference_id: str
    title: str
    starts_at: AwareDatetime
    venue: str
    chairs: list[Head] = Field(min_length=1)
    secretary: str | None = None
    expected_attendance: int | None = None
    participant_groups: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    plan_year: int
    complete_by: date | None = Field(default=None, description="Completion deadline set by the level above.")
    status: ConferenceStatus
    urgent: bool = False
    urgent_reason: str | None = None
    status_reason: str | None = Field(default=None, description="Why it was cancelled or postponed.")
    announce_at: AwareDatetime | None = None
    invitees: list[Invitee] = Field(default_factory=list)
    opened_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = Field(default=None, description="When it ended: written answers count from it.")
    attendance: int | None = Field(default=None, description="People actually present, recorded at closing.")
    speakers: int | None = Field(default=None, description="People who spoke, recorded at closing.")
    remarks: str | None = Field(default=None, description="The chairs' concluding remarks, recorded at closing.")


class ConferenceUpdatedV1(EventPayload):
    """A conference was planned or changed state; the whole conference, versioned."""

    event_type = "conference.updated.v1"

    change: str = Field(description="planned, announced, opened, closed, concluded, cancelled, postponed, changed")
    version: int
    conference: Conference
    previous_starts_at: AwareDatetime | None = Field(default=None, description="The date it had before a reschedule.")


class ConferenceDossierDueV1(EventPayload):
    """Time to send each chair the opinions addressed to them (a timer of scheduling)."""

    event_type = "conference.dossier_due.v1"

    conference_id: str
    starts_at: AwareDatetime
    round: int = Field(default=1, description="1: the dossier; 2: what arrived since, just before the conference.")


class DossierItem(Contract):
    tracking_code: str
    field: str
    channel: str
    text: str
    group: str | None = Field(
        default=None, description="Opinions raising one matter (merged or alike) share this: the first one's code."
    )
    group_label: str | None = Field(default=None, description='Why they are one matter: "cùng tổ dân phố 5; …".')


class ConferenceDossierV1(EventPayload):
    """The opinions collected for a conference that one head must answer, grouped by field."""

    event_type = "conference.dossier_ready.v1"

    conference_id: str
    title: str
    starts_at: AwareDatetime
    venue: str
    head: Head
    groups: dict[str, list[DossierItem]] = Field(description="Field code → opinions of that field.")
    round: int = Field(default=1, description="1: the dossier; 2: what arrived since the first one.")


class ConferenceResultsV1(EventPayload):
    """A concluded conference's results, for its chairs: how each opinion ended, and where the documents are."""

    event_type = "conference.results_ready.v1"

    conference_id: str
    title: str
    starts_at: AwareDatetime
    chairs: list[Head]
    counts: dict[str, int] = Field(description="raised, on_the_spot, written, escalated, redirected")
    by_head: dict[str, dict[str, int]] = Field(default_factory=dict, description="Head → outcome → count.")
    documents_url: str


class ConclusionItem(Contract):
    tracking_code: str
    field: str
    text: str
    outcome: str = Field(description="written_promised, off_topic, pending")
    due_at: AwareDatetime | None = None


class ConclusionIssuedV1(EventPayload):
    """The conclusion notice (thông báo kết luận) for one responsible agency."""

    event_type = "conference.conclusion_issued.v1"

    conference_id: str
    title: str
    agency: AgencyRef
    document_id: str
    document_url: str
    items: list[ConclusionItem]
    issued_at: AwareDatetime


class OpinionDueChangedV1(OpinionEvent):
    """A written answer was promised at the conference, due by this date (sooner than the rule)."""

    event_type = "opinion.due_changed.v1"

    agency: AgencyRef
    due_at: AwareDatetime
    reason: str


class RedirectKind(StrEnum):
    COMPLAINT = "complaint"
    DENUNCIATION = "denunciation"

    @property
    def label(self) -> str:
        return "khiếu nại" if self is RedirectKind.COMPLAINT else "tố cáo"


class OpinionRedirectedV1(OpinionEvent):
    """Not a dialogue opinion but a complaint or denunciation: it goes to the complaint procedure."""

    event_type = "opinion.redirected.v1"

    origin_instance: str
    kind: RedirectKind
    reason: str
    redirected_at: AwareDatetime
