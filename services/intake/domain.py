"""Intake's domain: an opinion as received (the `Opinion` aggregate: its receipt and the citizen's word on
the answer), tracking codes, and how each later event changes what the citizen sees (a projection:
`change_for`, applied by the repository in one conditional write per event)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from shared.clock import VIETNAM
from shared.domain import Aggregate, Story
from shared.events import (
    AnswerKind,
    EscalationState,
    EventPayload,
    Head,
    NotificationAcknowledgedV1,
    NotificationFailedV1,
    OpinionAnswerCorrectedV1,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionDueChangedV1,
    OpinionDueSoonV1,
    OpinionEscalatedV1,
    OpinionEscalationUpdatedV1,
    OpinionMergedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
    OpinionRedirectedV1,
    OpinionTabledV1,
    RedirectKind,
)
from shared.events.vocabulary import FIELDS
from shared.units import Unit

# Crockford's base32: no I, L, O, U, so a code read over the phone is not misheard.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_PREFIX = "YK"


def new_tracking_code(prefix: str = TRACKING_PREFIX) -> str:
    """E.g. `YK-7F3K-9QX2`: 40 random bits, unique per instance by a database index."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


def normalize_tracking_code(code: str) -> str:
    """Accept what people type: lower case, spaces, O for 0, I/L for 1."""
    cleaned = code.strip().upper().replace(" ", "")
    if "-" in cleaned:
        prefix, _, rest = cleaned.partition("-")
        rest = rest.replace("O", "0").replace("I", "1").replace("L", "1")
        cleaned = f"{prefix}-{rest}"
    return cleaned


class Stage(IntEnum):
    """Ordered, so events arriving out of order never move an opinion backwards."""

    RECEIVED = 1
    CLASSIFIED = 2
    ASSIGNED = 3
    ESCALATED = 4
    ACCEPTED = 5  # by the level above
    REDIRECTED = 8  # a complaint or denunciation, gone to its own procedure
    CLOSED = 9

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.RECEIVED: "Đã tiếp nhận",
    Stage.CLASSIFIED: "Đã phân loại",
    Stage.ASSIGNED: "Đã giao cơ quan xử lý",
    Stage.ESCALATED: "Đã chuyển lên cấp trên",
    Stage.ACCEPTED: "Cấp trên đã tiếp nhận, đang xử lý",
    Stage.REDIRECTED: "Chuyển sang giải quyết theo quy trình khiếu nại, tố cáo",
    Stage.CLOSED: "Đã trả lời, kết thúc",
}
TABLED_LABEL = "Chờ trả lời tại hội nghị đối thoại"
MERGED_LABEL = "Đã gộp với ý kiến cùng nội dung, chờ trả lời chung"


def status_of(doc: dict[str, Any]) -> tuple[str, str]:
    """What the citizen and staff read: the stage, or "tabled" while it waits for its conference."""
    stage = Stage(doc["stage"])
    if stage < Stage.REDIRECTED and doc.get("merged_into"):
        return "merged", f"{MERGED_LABEL} ({doc['merged_into']})"
    if stage is Stage.CLASSIFIED and doc.get("tabled"):
        return "tabled", TABLED_LABEL
    return stage.name.lower(), stage.label


@dataclass
class Change:
    """How one downstream event changes the read model.

    `before`: apply only while the opinion has not reached that stage, so news that arrives
    late (an overdue notice after the answer, a local assignment after an escalation) does
    not overwrite what is newer.
    """

    stage: Stage | None
    note: str
    set: dict[str, Any] = field(default_factory=dict)
    before: Stage | None = None


def _when(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def change_for(payload: EventPayload, unit: Unit | None = None) -> Change:
    """The read-model change an event causes (titles as `unit` names them); unknown events are a programming
    error."""
    title = unit.title if unit else (lambda head: head.label)
    match payload:
        case OpinionClassifiedV1():
            head = Head(payload.head)
            corrected = "Cán bộ sửa phân loại. " if payload.method == "corrected" else ""
            return Change(
                Stage.CLASSIFIED,
                f"{corrected}Lĩnh vực: {FIELDS[payload.field].name}; người trả lời: {title(head)}",
                {"field": payload.field, "head": head.value},
            )
        case OpinionTabledV1():
            return Change(
                None,
                f"Đưa ra hội nghị đối thoại để {title(Head(payload.head))} trả lời trực tiếp",
                {"tabled": {"conference_id": payload.conference_id, "at": payload.tabled_at}},
                before=Stage.ASSIGNED,
            )
        case OpinionAnswerCorrectedV1():
            return Change(
                None,
                f"Đính chính câu trả lời: {payload.reason}",
                {"answer.text": payload.text, "answer.document_number": payload.document_number},
            )
        case OpinionAssignedV1():
            how = (
                "Ngoài nội dung hội nghị, "
                if payload.off_topic
                else ("Kết luận hội nghị: " if payload.conference_id else "")
            )
            return Change(
                Stage.ASSIGNED,
                f"{how}giao {payload.agency.name} trả lời bằng văn bản, hạn {_when(payload.due_at)}"
                if how
                else f"Giao {payload.agency.name} xử lý, hạn trả lời {_when(payload.due_at)}",
                {
                    "field": payload.field,
                    "head": Head(payload.head).value,
                    "agency": {"id": payload.agency.id, "name": payload.agency.name},
                    "due_at": payload.due_at,
                },
                before=Stage.ESCALATED,
            )
        case OpinionEscalatedV1():
            return Change(
                Stage.ESCALATED,
                f"Chuyển lên {payload.to_name}: {payload.reason}",
                {"holder": payload.to_name, "agency": None, "due_at": None, "overdue": False},
                before=Stage.ACCEPTED,
            )
        case OpinionEscalationUpdatedV1(state=EscalationState.FORWARDED):
            return Change(
                None, f"Chuyển tiếp lên {payload.holder_name}", {"holder": payload.holder_name}, before=Stage.ACCEPTED
            )
        case OpinionEscalationUpdatedV1():
            due = payload.due_at
            return Change(
                Stage.ACCEPTED,
                f"{payload.holder_name} tiếp nhận, giao {payload.agency_name} xử lý"
                + (f", hạn trả lời {_when(due)}" if due else ""),
                {
                    "holder": payload.holder_name,
                    "agency": {"id": None, "name": f"{payload.agency_name} ({payload.holder_name})"},
                    "due_at": due,
                },
                before=Stage.CLOSED,
            )
        case OpinionMergedV1():
            return Change(
                None,
                f"Gộp với ý kiến {payload.into_tracking_code} cùng nội dung: một việc trả lời, câu trả lời cũng gửi "
                "cho người nêu ý kiến này",
                {"merged_into": payload.into_tracking_code, "agency": None, "due_at": None, "overdue": False},
                before=Stage.CLOSED,
            )
        case OpinionAnsweredV1():
            by = payload.answered_by
            if payload.answering_name and payload.answering_instance != payload.origin_instance:
                by = f"{by}, {payload.answering_name}"
            common = f", trả lời chung với ý kiến {payload.cosigner_of}" if payload.cosigner_of else ""
            return Change(
                Stage.CLOSED,
                f"{AnswerKind(payload.kind).label} ({by}{common})",
                {
                    "answer": {
                        "kind": AnswerKind(payload.kind).value,
                        "text": payload.text,
                        "answered_by": by,
                        "document_number": payload.document_number,
                        "document_media_id": payload.document_media_id,
                        "answered_at": payload.answered_at,
                    },
                    "overdue": False,
                },
            )
        case OpinionDueChangedV1():
            return Change(
                None,
                f"Hẹn trả lời bằng văn bản trước {_when(payload.due_at)} ({payload.reason})",
                {"due_at": payload.due_at},
                before=Stage.ESCALATED,
            )
        case OpinionRedirectedV1():
            return Change(
                Stage.REDIRECTED,
                f"Là đơn {RedirectKind(payload.kind).label}, chuyển giải quyết theo quy trình riêng: {payload.reason}",
                {"due_at": None, "overdue": False},
                before=Stage.CLOSED,
            )
        case NotificationAcknowledgedV1():
            return Change(
                None, f"{payload.agency_name or 'Cơ quan'} đã xác nhận nhận được thông báo", before=Stage.CLOSED
            )
        case NotificationFailedV1():
            return Change(
                None, f"Chưa gửi được thông báo tới {payload.agency_name or 'cơ quan'}; cán bộ vận hành đang xử lý"
            )
        case OpinionDueSoonV1():
            return Change(
                None, f"Còn {payload.days_left} ngày đến hạn trả lời ({_when(payload.due_at)})", before=Stage.CLOSED
            )
        case OpinionOverdueV1():
            return Change(None, f"Quá hạn trả lời ({_when(payload.due_at)})", {"overdue": True}, before=Stage.CLOSED)
    raise TypeError(f"intake has no read-model rule for {type(payload).__name__}")


def is_open(doc: dict[str, Any]) -> bool:
    return Stage(doc["stage"]) < Stage.REDIRECTED


class NotAnswered(Exception):
    pass


class Opinion(Aggregate):
    """One opinion as intake keeps it: the citizen's submission and what the citizen sees of its life."""

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__()
        self.doc = doc
        self.history: list[dict[str, Any]] = []  # entries this change adds

    @property
    def opinion_id(self) -> str:
        return str(self.doc["_id"])

    @property
    def tracking_code(self) -> str:
        return str(self.doc["tracking_code"])

    @classmethod
    def receive(cls, payload: OpinionReceivedV1, *, correlation_id: str, entered_by: dict[str, Any] | None) -> Opinion:
        """A new opinion, with the `opinion.received.v1` that announces it (its id also marks it processed)."""
        event_id = uuid.uuid4()
        p = payload
        opinion = cls(
            {
                "_id": p.opinion_id,
                "tracking_code": p.tracking_code,
                "origin_instance": p.origin_instance,
                "channel": p.channel.value,
                "text": p.text,
                "field": p.field,
                "head": p.head.value if p.head else None,
                "location": p.location.model_dump() if p.location else None,
                "citizen": p.citizen.model_dump() if p.citizen else None,
                "conference_id": p.conference_id,
                "correlation_id": correlation_id,
                "submitted_at": p.submitted_at,
                "updated_at": p.submitted_at,
                "stage": int(Stage.RECEIVED),
                "overdue": False,
                "entered_by": entered_by,  # who typed it in (the audit trail of a submission lives here)
                "history": [{"at": p.submitted_at, "stage": int(Stage.RECEIVED), "note": "Tiếp nhận ý kiến"}],
                "processed": [str(event_id)],
            }
        )
        opinion.record(p, Story(correlation_id), event_id=event_id)
        return opinion

    def give_feedback(self, *, satisfied: bool, reason: str | None, now: datetime, by: Any) -> None:
        """The citizen's word on the answer: only once answered; the latest one counts. Not satisfied: the
        Front considers it again."""
        if self.doc["stage"] != Stage.CLOSED:
            raise NotAnswered(self.tracking_code)
        note = (
            "Người dân hài lòng với câu trả lời"
            if satisfied
            else f"Người dân chưa hài lòng với câu trả lời: {reason}; đề nghị Mặt trận xem xét lại"
        )
        self.set(feedback={"satisfied": satisfied, "reason": reason, "at": now}, updated_at=now)
        self.history.append({"at": now, "stage": None, "note": note})
        self.note(by, "opinion.feedback", self.tracking_code, {"satisfied": satisfied})

    def set(self, **values: Any) -> None:  # the state is the document itself
        self.doc.update(values)
        self.changed.update(values)

    def changes(self) -> dict[str, Any]:
        return {name: self.doc[name] for name in sorted(self.changed)}
