"""Contracts of the opinion's story: received, classified, assigned, answered, due soon, overdue."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.events.envelope import EventPayload
from shared.events.vocabulary import FIELDS, Channel, Head

TRACKING_CODE_PATTERN = r"^[A-Z0-9]{2,12}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"


def known_field(value: str | None) -> str | None:
    """Validator: a field code from the vocabulary (error type `unknown_field`)."""
    if value is not None and value not in FIELDS:
        raise PydanticCustomError(
            "unknown_field",
            "unknown field code '{value}'; known codes: {known}",
            {"value": value, "known": ", ".join(FIELDS)},
        )
    return value


class Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CitizenContact(Contract):
    """Personal data: stays at the instance that received the opinion."""

    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=30)


class Location(Contract):
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class AgencyRef(Contract):
    """The responsible agency (cơ quan chịu trách nhiệm) as events name it."""

    id: str
    name: str
    email: EmailStr | None = None


class AnswerKind(StrEnum):
    ON_THE_SPOT = "on_the_spot"
    WRITTEN = "written"

    @property
    def label(self) -> str:
        return "Trả lời trực tiếp tại hội nghị" if self is AnswerKind.ON_THE_SPOT else "Trả lời bằng văn bản"


class OpinionEvent(EventPayload):
    opinion_id: str = Field(description="Global id of the opinion (UUID).")
    tracking_code: str = Field(description="Code the citizen uses to follow the opinion.")


class OpinionReceivedV1(OpinionEvent):
    """A citizen's opinion or petition (ý kiến, kiến nghị) was received."""

    event_type = "opinion.received.v1"

    origin_instance: str = Field(description="Instance that received it from the citizen.")
    channel: Channel
    text: str = Field(min_length=1, max_length=5000)
    field: str | None = Field(default=None, description="Field code if the submitter classified it.")
    head: Head | None = Field(default=None, description="Answering head if the submitter chose one.")
    location: Location | None = None
    citizen: CitizenContact | None = None
    conference_id: str | None = None
    submitted_at: AwareDatetime

    _field = field_validator("field")(known_field)


class OpinionClassifiedV1(OpinionEvent):
    """The opinion was given a field and the head who must answer it."""

    event_type = "opinion.classified.v1"

    field: str
    head: Head
    method: str = Field(description="submitted, rules or default: where the classification came from.")
    matched_keywords: list[str] = Field(default_factory=list)

    _field = field_validator("field")(known_field)


class OpinionAssignedV1(OpinionEvent):
    """A responsible agency must act and answer by `due_at`."""

    event_type = "opinion.assigned.v1"

    field: str
    head: Head
    agency: AgencyRef
    channel: Channel
    text: str
    submitted_at: AwareDatetime
    assigned_at: AwareDatetime
    due_at: AwareDatetime
    conference_id: str | None = Field(
        default=None, description="The conference that concluded on a written answer (its 30 days count from its end)."
    )
    off_topic: bool = Field(default=False, description="Outside the conference's topic, answered separately.")
    conference_title: str | None = None
    origin_instance: str | None = Field(default=None, description="Instance that received it from the citizen.")

    _field = field_validator("field")(known_field)


class OpinionAnsweredV1(OpinionEvent):
    """The opinion was answered, on the spot or in writing; it is closed."""

    event_type = "opinion.answered.v1"

    kind: AnswerKind
    text: str = Field(min_length=1, max_length=20000)
    answered_by: str = Field(description="Who answered, as shown to the citizen.")
    head: Head | None = None
    agency: AgencyRef | None = None
    document_number: str | None = Field(default=None, description="Number of the written answer, if any.")
    document_media_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="The written answer as a PDF the agency attached to the opinion (intake's media id), if any.",
    )
    answered_at: AwareDatetime
    origin_instance: str | None = Field(
        default=None, description="Instance that received the opinion; only it tells the citizen."
    )
    answering_instance: str | None = Field(default=None, description="Instance whose agency or head answered.")
    answering_name: str | None = Field(default=None, description="Name of that instance.")
    cosigner_of: str | None = Field(
        default=None,
        description="Set when this opinion was merged into another (tracking code given): its answer is that "
        "opinion's, sent to this opinion's citizen too.",
    )


class OpinionTabledV1(OpinionEvent):
    """Collected for a conference: put before its heads there; no agency and no deadline until its outcome."""

    event_type = "opinion.tabled.v1"

    conference_id: str
    field: str
    head: Head
    tabled_at: AwareDatetime

    _field = field_validator("field")(known_field)


class OpinionAnswerCorrectedV1(OpinionEvent):
    """An answer recorded wrongly, corrected with a reason (the earlier text stays in the history)."""

    event_type = "opinion.answer_corrected.v1"

    text: str = Field(min_length=1, max_length=20000)
    document_number: str | None = None
    reason: str = Field(min_length=1, max_length=1000)
    corrected_at: AwareDatetime
    origin_instance: str | None = None


class OpinionMergedV1(OpinionEvent):
    """Staff found this opinion raises the same matter as another open one of the instance and merged it: one
    item to answer; this opinion's citizen is kept as a co-signer and gets that answer too."""

    event_type = "opinion.merged.v1"

    into_opinion_id: str
    into_tracking_code: str
    reason: str | None = Field(default=None, max_length=1000)
    merged_by: str = Field(description="Who merged them, as the audit trail names the person.")
    merged_at: AwareDatetime
    origin_instance: str | None = None


class OpinionEscalatedV1(OpinionEvent):
    """This instance sent the opinion to the level above, which has the authority."""

    event_type = "opinion.escalated.v1"

    origin_instance: str
    to_instance: str
    to_name: str
    reason: str
    by: str = Field(description="jurisdiction (the rule table) or operator (by hand).")
    escalated_at: AwareDatetime


class EscalationState(StrEnum):
    ACCEPTED = "accepted"
    FORWARDED = "forwarded"


class OpinionEscalationUpdatedV1(OpinionEvent):
    """Where an opinion this instance escalated now is: accepted by an agency above, or sent further up."""

    event_type = "opinion.escalation_updated.v1"

    origin_instance: str
    state: EscalationState
    holder_instance: str = Field(description="Instance that now holds the opinion.")
    holder_name: str
    holder_level: str
    agency_name: str | None = Field(default=None, description="Responsible agency there (when accepted).")
    due_at: AwareDatetime | None = Field(default=None, description="Expected answer date (when accepted).")
    updated_at: AwareDatetime


class OpinionDueSoonV1(OpinionEvent):
    """A written answer is due within `days_left` days."""

    event_type = "opinion.due_soon.v1"

    agency: AgencyRef
    due_at: AwareDatetime
    days_left: int


class OpinionOverdueV1(OpinionEvent):
    """The answer deadline passed without an answer."""

    event_type = "opinion.overdue.v1"

    agency: AgencyRef
    due_at: AwareDatetime
    head: Head | None = Field(default=None, description="The head who must answer; told too.")
