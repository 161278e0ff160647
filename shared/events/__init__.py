"""Versioned event contracts; a breaking change is a new version, never an edit of an old one."""

from shared.events.envelope import Envelope, EventPayload, Source
from shared.events.opinions import (
    AgencyRef,
    AnswerKind,
    CitizenContact,
    Location,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionDueSoonV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
)
from shared.events.vocabulary import FIELDS, OTHER_FIELD, Channel, Head

CATALOG: dict[str, type[EventPayload]] = {
    cls.event_type: cls
    for cls in (
        OpinionReceivedV1,
        OpinionClassifiedV1,
        OpinionAssignedV1,
        OpinionAnsweredV1,
        OpinionDueSoonV1,
        OpinionOverdueV1,
    )
}

__all__ = [
    "CATALOG",
    "FIELDS",
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
