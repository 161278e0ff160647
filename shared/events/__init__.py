"""Versioned event contracts; a breaking change is a new version, never an edit of an old one."""

from shared.events.directory import AgencyUpdatedV1, NotificationAcknowledgedV1, NotificationFailedV1
from shared.events.envelope import Envelope, EventPayload, Source
from shared.events.links import (
    HOP_LIMIT,
    EscalationAcknowledgedV1,
    EscalationAnsweredV1,
    EscalationForwardedV1,
    EscalationRequestedV1,
    Figures,
    LinkEvent,
    Summary,
    SummaryReportedV1,
)
from shared.events.opinions import (
    AgencyRef,
    AnswerKind,
    CitizenContact,
    EscalationState,
    Location,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionDueSoonV1,
    OpinionEscalatedV1,
    OpinionEscalationUpdatedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
)
from shared.events.vocabulary import FIELDS, LEVEL_RANKS, OTHER_FIELD, Channel, Head

CATALOG: dict[str, type[EventPayload]] = {
    cls.event_type: cls
    for cls in (
        OpinionReceivedV1,
        OpinionClassifiedV1,
        OpinionAssignedV1,
        OpinionAnsweredV1,
        OpinionDueSoonV1,
        OpinionOverdueV1,
        OpinionEscalatedV1,
        OpinionEscalationUpdatedV1,
        EscalationRequestedV1,
        EscalationAcknowledgedV1,
        EscalationForwardedV1,
        EscalationAnsweredV1,
        SummaryReportedV1,
        AgencyUpdatedV1,
        NotificationFailedV1,
        NotificationAcknowledgedV1,
    )
}

__all__ = [
    "CATALOG",
    "AgencyUpdatedV1",
    "NotificationAcknowledgedV1",
    "NotificationFailedV1",
    "FIELDS",
    "HOP_LIMIT",
    "LEVEL_RANKS",
    "EscalationAcknowledgedV1",
    "EscalationAnsweredV1",
    "EscalationForwardedV1",
    "EscalationRequestedV1",
    "EscalationState",
    "Figures",
    "LinkEvent",
    "OpinionEscalatedV1",
    "OpinionEscalationUpdatedV1",
    "Summary",
    "SummaryReportedV1",
    "OTHER_FIELD",
    "AgencyRef",
    "AnswerKind",
    "Channel",
    "CitizenContact",
    "Envelope",
    "EventPayload",
    "Head",
    "Location",
    "OpinionAnsweredV1",
    "OpinionAssignedV1",
    "OpinionClassifiedV1",
    "OpinionDueSoonV1",
    "OpinionOverdueV1",
    "OpinionReceivedV1",
    "Source",
]
