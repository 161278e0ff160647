"""Assignment's domain: an opinion's life at this instance as one aggregate, with its rules as methods.

An `Assignment` is placed here (given to an agency with a deadline) or escalated to the parent;
it is answered, promised a written answer, given to another agency, redirected as a complaint, or
sent up by hand; news from above (accepted there, sent further up, answered) is taken in and passed
down. Each method checks its rule, changes the state and records the events the change causes;
nothing here does I/O. The repository saves state and events in one document write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from services.assignment.jurisdiction import Authority
from shared.clock import VIETNAM
from shared.deadlines import DayCount, DeadlinePolicy, due_after
from shared.domain import Aggregate, Story
from shared.events import (
    FIELDS,
    HOP_LIMIT,
    LEVEL_RANKS,
    AgencyRef,
    AnswerKind,
    Conference,
    ConferenceStatus,
    Envelope,
    EscalationAcknowledgedV1,
    EscalationAnsweredV1,
    EscalationForwardedV1,
    EscalationRequestedV1,
    EscalationState,
    Head,
    OpinionAnswerCorrectedV1,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionDueChangedV1,
    OpinionEscalatedV1,
    OpinionEscalationUpdatedV1,
    OpinionMergedV1,
    OpinionReceivedV1,
    OpinionRedirectedV1,
    OpinionTabledV1,
    RedirectKind,
)
from shared.events.vocabulary import LEVEL_LABELS

Progress = EscalationAcknowledgedV1 | EscalationForwardedV1 | EscalationAnsweredV1


def answer_due_at(received_at: datetime, days: int, count: DayCount = DayCount.CALENDAR) -> datetime:
    """'Within N days at the latest': the end of the Nth day after receipt, Vietnam time."""
    return due_after(received_at, DeadlinePolicy(days=days, count=count))


def days_between(start: datetime, end: datetime) -> int:
    """Whole days from receipt to answer (0 for an answer given the same day, e.g. at the conference)."""
    return max(0, int((end - start).total_seconds() // 86400))


class Status(StrEnum):
    TABLED = "tabled"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    ANSWERED = "answered"
    REDIRECTED = "redirected"
    MERGED = "merged"

    @property
    def label(self) -> str:
        return {
            Status.TABLED: "Chờ trả lời tại hội nghị đối thoại",
            Status.ASSIGNED: "Đang chờ trả lời",
            Status.ESCALATED: "Đã chuyển lên cấp trên",
            Status.ANSWERED: "Đã trả lời",
            Status.REDIRECTED: "Chuyển quy trình khiếu nại, tố cáo",
            Status.MERGED: "Đã gộp vào ý kiến cùng nội dung",
        }[self]


ALLOWED = {
    # On a conference's agenda: answered there, given to an agency in writing, sent up, or redirected.
    Status.TABLED: {Status.ANSWERED, Status.ASSIGNED, Status.ESCALATED, Status.REDIRECTED, Status.MERGED},
    Status.ASSIGNED: {Status.ANSWERED, Status.ESCALATED, Status.REDIRECTED, Status.MERGED},
    Status.REDIRECTED: set(),
    Status.MERGED: set(),  # its answer is the one of the opinion it was merged into
    Status.ESCALATED: {Status.ANSWERED},  # answered by the level above
    Status.ANSWERED: set(),
}


class TransitionRefused(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in ALLOWED[current]:
        raise TransitionRefused(current, wanted)


class NoParent(Exception):
    pass


class NotReceivedHere(Exception):
    pass


class SameAgency(Exception):
    pass


class SameClassification(Exception):
    pass


class HopLimit(Exception):
    pass


class MergeRefused(Exception):
    """Why two opinions cannot be merged, as a code the API words for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OnTheSpotRefused(Exception):
    """An on-the-spot answer outside the conference: `not_on_agenda` or `not_in_session`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def in_session(conference: Conference, now: datetime) -> bool:
    """Open, or closed the same day (the secretary records what was said once the room has emptied)."""
    if conference.status is ConferenceStatus.OPEN:
        return True
    if conference.status is not ConferenceStatus.CLOSED:
        return False
    ended = conference.closed_at or conference.starts_at
    return ended.astimezone(VIETNAM).date() == now.astimezone(VIETNAM).date()


def conference_end(conference: Conference) -> datetime:
    """The day the conference ended: written answers are due 30 days from it (before it closes, its date)."""
    return conference.closed_at or conference.starts_at


class PromiseRefused(Exception):
    def __init__(self, reason: str, limit: datetime) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


def progress_rank(state: str, holder_level: str) -> int:
    """Order of news from above, so a late message never undoes a newer one: sent further up <
    accepted there, a higher level after a lower one, and the answer last."""
    if state == "answered":
        return 1000
    return LEVEL_RANKS[holder_level] * 10 + (2 if state == "accepted" else 1)


def outcome(doc: dict[str, object]) -> str:
    """How an opinion received here ended (or stands), in the categories summaries count."""
    if doc.get("status") == Status.REDIRECTED:
        return "redirected_complaint"
    if doc.get("status") == Status.MERGED:
        return "merged"  # raised again by another citizen: a co-signer of the matter it joined
    if doc.get("off_topic"):
        return "off_topic"  # received, answered separately in writing: its own outcome
    level = doc.get("holder_level") or doc.get("escalated_to_level")
    if doc.get("status") == Status.ESCALATED or (level and doc.get("status") == Status.ANSWERED):
        rank = LEVEL_RANKS.get(str(level), 2)
        return "escalated_to_district" if rank == 2 else "escalated_to_city"
    if doc.get("status") == Status.ANSWERED:
        return "answered_on_the_spot" if doc.get("kind") == "on_the_spot" else "answered_in_writing"
    return "pending"


@dataclass(frozen=True)
class Place:
    """Where the rules run: this instance, and the level above it if any."""

    instance: str
    name: str
    level: str
    parent: str | None = None
    parent_name: str | None = None
    parent_level: str | None = None


class Escalation(TypedDict):
    to: str
    to_name: str | None
    to_level: str
    reason: str
    by: str
    at: datetime


class Holder(TypedDict, total=False):
    instance: str
    name: str
    level: str
    state: str
    agency_name: str | None


class Answer(TypedDict, total=False):
    kind: str
    text: str
    answered_by: str
    head: str
    document_number: str | None
    document_media_id: str | None
    answered_at: datetime
    on_time: bool
    days: int
    recorded_by: str
    answering_instance: str


# The document's fields, as MongoDB keeps them (other queries read them by these names); three are kept
# under other attribute names, since `answer`, `promise` and `redirect` are what the aggregate does.
ATTRIBUTE = {"answer": "answered", "promise": "promised", "redirect": "redirected"}
DOCUMENT = {attribute: key for key, attribute in ATTRIBUTE.items()}
FIELD_DEFAULTS: dict[str, Any] = {
    "tracking_code": "",
    "origin_instance": "",
    "correlation_id": "",
    "came_from": None,
    "chain": [],
    "channel": "",
    "text": "",
    "address": None,
    "conference_id": None,
    "counted_at": None,  # the day it counts in reports: its conference's date, else its receipt
    "tabled_at": None,
    "complaint_suspected": False,
    "submitted_at": None,
    "field": "",
    "head": "",
    "method": "",
    "matched_keywords": [],
    "escalation_reason": None,
    "status": None,
    "agency": None,
    "assigned_at": None,
    "due_at": None,
    "rule_due_at": None,
    "escalation": None,
    "holder": None,
    "progress": None,
    "answer": None,
    "promise": None,
    "reassigned": None,
    "reclassified": None,
    "redirect": None,
    "corrections": [],
    "merged_into": None,  # {"opinion_id", "tracking_code", "reason", "by", "at"}: answered with that opinion
    "cosigners": [],  # opinions merged into this one: {"opinion_id", "tracking_code"}, told of its answer
    "processed": [],
}


class Assignment(Aggregate):
    opinion_id: str
    tracking_code: str
    origin_instance: str
    correlation_id: str
    came_from: str | None
    chain: list[str]
    channel: str
    text: str
    address: str | None
    conference_id: str | None
    counted_at: datetime | None
    tabled_at: datetime | None
    complaint_suspected: bool
    submitted_at: datetime
    field: str
    head: str
    method: str
    matched_keywords: list[str]
    escalation_reason: str | None
    status: str | None
    agency: dict[str, Any] | None
    assigned_at: datetime | None
    due_at: datetime | None
    rule_due_at: datetime | None
    escalation: Escalation | None
    holder: Holder | None
    progress: int | None
    answered: Answer | None
    promised: dict[str, Any] | None
    reassigned: dict[str, Any] | None
    reclassified: dict[str, Any] | None
    redirected: dict[str, Any] | None
    corrections: list[dict[str, Any]]
    merged_into: dict[str, Any] | None
    cosigners: list[dict[str, str]]
    processed: list[str]

    def __init__(self, opinion_id: str, **fields: Any) -> None:
        super().__init__()
        self.opinion_id = opinion_id
        for name, default in FIELD_DEFAULTS.items():
            value = fields.get(name, default)
            setattr(self, ATTRIBUTE.get(name, name), list(value) if isinstance(value, list) else value)
        self.loaded_status: str | None = None  # as stored when loaded: saving is a compare-and-set on it

    # ---- to and from the document ---------------------------------------------------------------

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Assignment:
        assignment = cls(doc["_id"], **{k: v for k, v in doc.items() if k in FIELD_DEFAULTS})
        assignment.loaded_status = doc.get("status")
        return assignment

    def document(self) -> dict[str, Any]:
        return {"_id": self.opinion_id, **{name: getattr(self, ATTRIBUTE.get(name, name)) for name in FIELD_DEFAULTS}}

    def changes(self) -> dict[str, Any]:
        return {DOCUMENT.get(name, name): getattr(self, name) for name in sorted(self.changed)}

    @property
    def story(self) -> Story:
        """A change made by a person, not caused by an event, still continues the opinion's story."""
        return Story(self.correlation_id)

    @property
    def current(self) -> Status:
        return Status(self.status)

    def agency_ref(self) -> AgencyRef:
        assert self.agency is not None
        return AgencyRef(**self.agency)

    # ---- arrivals ----------------------------------------------------------------------------------

    @classmethod
    def received(
        cls,
        event: Envelope[OpinionReceivedV1],
        *,
        field: str,
        head: Head,
        method: str,
        matched_keywords: tuple[str, ...],
        complaint_suspected: bool,
    ) -> Assignment:
        """An opinion received at this instance, classified: recorded as such, not placed yet."""
        p = event.payload
        assignment = cls(
            p.opinion_id,
            tracking_code=p.tracking_code,
            origin_instance=p.origin_instance,
            correlation_id=event.correlation_id,
            channel=p.channel.value,
            text=p.text,
            address=p.location.address if p.location else None,
            conference_id=p.conference_id,
            counted_at=p.submitted_at,
            complaint_suspected=complaint_suspected,
            submitted_at=p.submitted_at,
            field=field,
            head=head.value,
            method=method,
            matched_keywords=list(matched_keywords),
        )
        assignment.record(
            OpinionClassifiedV1(
                opinion_id=p.opinion_id,
                tracking_code=p.tracking_code,
                field=field,
                head=head,
                method=method,
                matched_keywords=list(matched_keywords),
            ),
            Story.caused_by(event),
        )
        return assignment

    @classmethod
    def from_child(cls, event: Envelope[EscalationRequestedV1]) -> Assignment:
        """An opinion a child sent up (already checked to come from that child)."""
        p = event.payload
        return cls(
            p.opinion_id,
            tracking_code=p.tracking_code,
            origin_instance=p.origin_instance,
            correlation_id=event.correlation_id,
            came_from=p.from_instance,
            chain=list(p.chain),
            channel=p.channel.value,
            text=p.text,
            address=p.address,
            submitted_at=p.submitted_at,
            counted_at=p.submitted_at,
            field=p.field,
            head=p.head.value,
            method="escalated",
            escalation_reason=p.reason,
        )

    def must_go_up(self, place: Place, within_authority: bool) -> bool:
        """Beyond this level's authority, with a level above, and not past the hop limit."""
        return place.parent is not None and not within_authority and len(self.chain) + 1 <= HOP_LIMIT

    def deadline_from(self, now: datetime) -> datetime:
        """The written answer's clock starts when this level received it: the citizen was told 30 days."""
        return now if self.came_from else self.submitted_at

    # ---- put before a conference, placed here, or sent up ---------------------------------------------

    def count_on(self, day: datetime) -> None:
        """Reports count it on its conference's date, whenever it was entered."""
        self.set(counted_at=day)

    def table(self, now: datetime, story: Story) -> None:
        """Collected for a conference: its heads answer it there; no agency, no deadline, no reminder before."""
        assert self.conference_id is not None
        self.set(status=Status.TABLED.value, tabled_at=now)
        self.record(
            OpinionTabledV1(
                opinion_id=self.opinion_id,
                tracking_code=self.tracking_code,
                conference_id=self.conference_id,
                field=self.field,
                head=Head(self.head),
                tabled_at=now,
            ),
            story,
        )

    def put_on_agenda(self, conference_id: str) -> None:
        """Given to this level (from below, or here), its heads answer it at their own conference."""
        self._waiting_here(Status.ASSIGNED)
        self.set(conference_id=conference_id)

    def leave_conference(self) -> None:
        """Its conference was called off: it is placed again as received outside one."""
        if self.status != Status.TABLED:
            raise TransitionRefused(self.current, Status.ASSIGNED)
        self.set(conference_id=None, counted_at=self.submitted_at)

    def commit_in_writing(
        self,
        agency: AgencyRef,
        *,
        due: datetime,
        rule_due: datetime,
        off_topic: bool,
        by: str,
        now: datetime,
        conference_title: str | None = None,
    ) -> None:
        """The conference's outcome for a tabled opinion: a written answer by `agency` (or, off the topic, answered
        separately), due `rule_due` (30 days from the conference's end) or sooner if the heads said so."""
        if self.status != Status.TABLED:
            raise TransitionRefused(self.current, Status.ASSIGNED)
        if due > rule_due:
            raise PromiseRefused("later_than_rule", rule_due)
        if due < now:
            raise PromiseRefused("in_the_past", now)
        promised = {"off_topic": off_topic, "due_at": due, "by": by, "at": now}
        self.set(
            status=Status.ASSIGNED.value, agency=agency.model_dump(), assigned_at=now, due_at=due,
            rule_due_at=rule_due, promised=promised,
        )  # fmt: skip
        assigned = self._assigned(agency, now, due, off_topic=off_topic)
        self.record(assigned.model_copy(update={"conference_title": conference_title}), self.story)

    # ---- placed here, or sent up -------------------------------------------------------------------

    def assign(self, agency: AgencyRef, due: datetime, now: datetime, place: Place, story: Story) -> None:
        self.set(status=Status.ASSIGNED.value, agency=agency.model_dump(), assigned_at=now, due_at=due)
        self.record(self._assigned(agency, now, due), story)
        if self.came_from:
            self.record(
                EscalationAcknowledgedV1(
                    **self._progress_fields(place, self.came_from),
                    holder_instance=place.instance,
                    holder_name=place.name,
                    holder_level=place.level,
                    agency_name=agency.name,
                    due_at=due,
                    acknowledged_at=now,
                ),
                story,
                to=self.came_from,
            )

    def escalate(self, reason: str, by: str, now: datetime, place: Place, story: Story) -> None:
        assert place.parent is not None and place.parent_level is not None
        parent_name = place.parent_name or place.parent
        escalation: Escalation = {
            "to": place.parent,
            "to_name": parent_name,
            "to_level": place.parent_level,
            "reason": reason,
            "by": by,
            "at": now,
        }
        self.set(status=Status.ESCALATED.value, escalation=escalation, progress=0)
        self.record(
            OpinionEscalatedV1(
                opinion_id=self.opinion_id,
                tracking_code=self.tracking_code,
                origin_instance=self.origin_instance,
                to_instance=place.parent,
                to_name=parent_name,
                reason=reason,
                by=by,
                escalated_at=now,
            ),
            story,
        )
        self.record(
            EscalationRequestedV1(
                from_instance=place.instance,
                to_instance=place.parent,
                opinion_id=self.opinion_id,
                tracking_code=self.tracking_code,
                origin_instance=self.origin_instance,
                chain=[*self.chain, place.instance],
                field=self.field,
                head=Head(self.head),
                channel=self.channel,
                text=self.text,
                address=self.address,
                submitted_at=self.submitted_at,
                reason=reason,
                requested_at=now,
            ),
            story,
            to=place.parent,
        )
        if self.came_from:
            self.record(
                EscalationForwardedV1(
                    **self._progress_fields(place, self.came_from),
                    holder_instance=place.parent,
                    holder_name=parent_name,
                    holder_level=place.parent_level,
                    reason=reason,
                    forwarded_at=now,
                ),
                story,
                to=self.came_from,
            )

    def escalation_reason_for(self, place: Place, authority: Authority) -> str:
        """Why it goes up, in words for the citizen and the parent: which level decides, why, on what basis."""
        matter = f"nội dung về {authority.matched}" if authority.matched else f"lĩnh vực {FIELDS[self.field].name}"
        reason = f"Ý kiến thuộc {matter}, thẩm quyền của cấp {LEVEL_LABELS[authority.level]}"
        if authority.reason:
            reason += f": {authority.reason.rstrip('.')}"
        if authority.basis:
            reason += f" (căn cứ {authority.basis})"
        return f"{reason}. {place.name} chuyển lên {place.parent_name or place.parent}."

    # ---- changes made by people --------------------------------------------------------------------

    def escalate_by_hand(self, reason: str, by: str, now: datetime, place: Place) -> None:
        """Sent up by an operator or the secretary: only while it waits for an answer here."""
        check_transition(self.current, Status.ESCALATED)
        if place.parent is None:
            raise NoParent(place.instance)
        if len(self.chain) + 1 > HOP_LIMIT:
            raise HopLimit(self.chain)
        self.escalate(reason, f"operator {by}", now, place, self.story)

    def _waiting_here(self, wanted: Status) -> None:
        if self.status != Status.ASSIGNED:
            raise TransitionRefused(self.current, wanted)

    def _check_on_the_spot(self, conference: Conference | None, now: datetime) -> None:
        if self.conference_id is None or conference is None or conference.conference_id != self.conference_id:
            raise OnTheSpotRefused("not_on_agenda")
        if not in_session(conference, now):
            raise OnTheSpotRefused("not_in_session")

    def answer(
        self,
        *,
        kind: AnswerKind,
        text: str,
        answered_by: str | None,
        head: Head | None,
        document_number: str | None,
        recorded_by: str,
        now: datetime,
        place: Place,
        conference: Conference | None = None,
        head_title: str | None = None,
        document_media_id: str | None = None,
    ) -> None:
        """This level's answer: on the spot by a head while its conference is in session, or in writing by the
        agency it was given to; only while the opinion waits for one here. A written answer may name the PDF the
        agency attached to the opinion, only where the opinion was received (that is where the PDF is kept)."""
        if document_media_id and self.came_from:
            raise NotReceivedHere(self.origin_instance)
        if kind is AnswerKind.ON_THE_SPOT:
            if self.status not in (Status.TABLED, Status.ASSIGNED):
                raise TransitionRefused(self.current, Status.ANSWERED)
            self._check_on_the_spot(conference, now)
        else:
            self._waiting_here(Status.ANSWERED)
        agency = self.agency_ref() if self.agency else None
        head = head or Head(self.head)
        if answered_by is None:
            answered_by = (
                (head_title or head.label) if kind is AnswerKind.ON_THE_SPOT or agency is None else agency.name
            )
        answer: Answer = {
            "kind": kind.value,
            "text": text,
            "answered_by": answered_by,
            "head": head.value,
            "document_number": document_number,
            "document_media_id": document_media_id,
            "answered_at": now,
            "on_time": self.due_at is None or now <= self.due_at,
            "days": days_between(self.submitted_at, now),
            "recorded_by": recorded_by,
        }
        self.set(status=Status.ANSWERED.value, answered=answer)
        self.record(
            OpinionAnsweredV1(
                opinion_id=self.opinion_id,
                tracking_code=self.tracking_code,
                kind=kind,
                text=text,
                answered_by=answered_by,
                head=head,
                agency=agency,
                document_number=document_number,
                document_media_id=document_media_id,
                answered_at=now,
                origin_instance=self.origin_instance,
                answering_instance=place.instance,
                answering_name=place.name,
            ),
            self.story,
        )
        self._tell_cosigners()
        if self.came_from:
            self.record(
                EscalationAnsweredV1(
                    **self._progress_fields(place, self.came_from),
                    holder_instance=place.instance,
                    holder_name=place.name,
                    holder_level=place.level,
                    kind=kind,
                    text=text,
                    answered_by=answered_by,
                    document_number=document_number,
                    answered_at=now,
                ),
                self.story,
                to=self.came_from,
            )

    def correct_answer(self, *, text: str, document_number: str | None, reason: str, by: str, now: datetime) -> None:
        """An answer recorded wrongly, corrected: the earlier one stays in the history; the citizen is told."""
        if self.status != Status.ANSWERED or self.answered is None or self.answered.get("answering_instance"):
            raise TransitionRefused(self.current, Status.ANSWERED)
        if self.came_from:
            raise NotReceivedHere(self.origin_instance)
        previous = {k: self.answered.get(k) for k in ("text", "document_number", "answered_at", "recorded_by")}
        corrections = [*self.corrections, {**previous, "reason": reason, "by": by, "at": now}]
        self.set(answered={**self.answered, "text": text, "document_number": document_number}, corrections=corrections)
        self.record(
            OpinionAnswerCorrectedV1(
                opinion_id=self.opinion_id, tracking_code=self.tracking_code, text=text,
                document_number=document_number, reason=reason, corrected_at=now, origin_instance=self.origin_instance,
            ),
            self.story,
        )  # fmt: skip
        corrected = self.events[-1].payload
        for cosigner in self.cosigners:  # their citizens were given the same answer
            self.record(corrected.model_copy(update=cosigner), self.story)

    def promise(self, *, due: datetime | None, off_topic: bool, by: str, now: datetime) -> None:
        """A written answer promised at the conference (or an off-topic question answered separately in
        writing), by `due` at the latest, which may be sooner than the rule's deadline."""
        self._waiting_here(Status.ASSIGNED)
        assert self.due_at is not None
        rule_due = self.rule_due_at or self.due_at
        due = due or rule_due
        if due > rule_due:
            raise PromiseRefused("later_than_rule", rule_due)
        if due < now:
            raise PromiseRefused("in_the_past", now)
        reason = "ngoài nội dung hội nghị, trả lời riêng bằng văn bản" if off_topic else "hẹn trả lời bằng văn bản"
        self.set(
            due_at=due, rule_due_at=rule_due, promised={"off_topic": off_topic, "due_at": due, "by": by, "at": now}
        )
        self.record(
            OpinionDueChangedV1(
                opinion_id=self.opinion_id,
                tracking_code=self.tracking_code,
                agency=self.agency_ref(),
                due_at=due,
                reason=reason,
            ),
            self.story,
        )

    # ---- the same matter raised by several citizens -------------------------------------------------

    def merge_into(self, primary: Assignment, *, reason: str | None, by: str, now: datetime) -> None:
        """This opinion raises the matter `primary` raises: it waits for that answer, its own clock stops, and its
        citizen is kept as a co-signer (`primary.take_cosigner`). Both must be open here, at this instance."""
        if primary.opinion_id == self.opinion_id:
            raise MergeRefused("same_opinion")
        if self.merged_into and self.merged_into["opinion_id"] == primary.opinion_id:
            return  # merged already: the caller completes what a crash may have left (the co-signer)
        for one in (self, primary):
            if one.status not in (Status.TABLED, Status.ASSIGNED):
                raise MergeRefused("not_open")
            if one.came_from:
                raise MergeRefused("from_below")
        if self.cosigners:
            raise MergeRefused("has_cosigners")
        self.set(
            status=Status.MERGED.value,
            merged_into={"opinion_id": primary.opinion_id, "tracking_code": primary.tracking_code, "reason": reason,
                         "by": by, "at": now},
        )  # fmt: skip
        self.record(
            OpinionMergedV1(
                opinion_id=self.opinion_id, tracking_code=self.tracking_code, into_opinion_id=primary.opinion_id,
                into_tracking_code=primary.tracking_code, reason=reason, merged_by=by, merged_at=now,
                origin_instance=self.origin_instance,
            ),
            self.story,
        )  # fmt: skip

    def take_cosigner(self, other: Assignment) -> None:
        """`other` was merged into this opinion: its citizen is told of this answer (kept once)."""
        if any(c["opinion_id"] == other.opinion_id for c in self.cosigners):
            return
        if self.status not in (Status.TABLED, Status.ASSIGNED):
            raise MergeRefused("not_open")
        self.set(cosigners=[*self.cosigners, {"opinion_id": other.opinion_id, "tracking_code": other.tracking_code}])

    def _tell_cosigners(self, story: Story | None = None) -> None:
        """The answer just recorded, once more for each co-signer's opinion: its citizen, its status page and
        the statistics see it answered."""
        answered = next((e for e in reversed(self.events) if isinstance(e.payload, OpinionAnsweredV1)), None)
        if answered is None:
            return
        for cosigner in self.cosigners:
            # Not the answer's PDF: it is attached to this opinion, which a co-signer's citizen may not open.
            copy = answered.payload.model_copy(
                update={**cosigner, "cosigner_of": self.tracking_code, "origin_instance": self.origin_instance,
                        "document_media_id": None}
            )  # fmt: skip
            self.record(copy, story or self.story)

    def reclassify(self, *, field: str, head: Head, reason: str, by: str, now: datetime) -> None:
        """A person corrects the field (and head) the rules chose: kept with the rules' choice, counted, and
        announced so the citizen's page says it; the agency stays until someone gives it to another."""
        if self.status not in (Status.TABLED, Status.ASSIGNED):
            raise TransitionRefused(self.current, Status(self.status))
        if field == self.field and head.value == self.head:
            raise SameClassification(field)
        correction = {"from_field": self.field, "from_head": self.head, "method": self.method, "to_field": field,
                      "to_head": head.value, "reason": reason, "by": by, "at": now}  # fmt: skip
        self.set(field=field, head=head.value, method="corrected", reclassified=correction)
        self.record(
            OpinionClassifiedV1(
                opinion_id=self.opinion_id, tracking_code=self.tracking_code, field=field, head=head,
                method="corrected", matched_keywords=[],
            ),
            self.story,
        )  # fmt: skip

    def reassign(self, agency: AgencyRef, *, reason: str, by: str, now: datetime) -> None:
        """Given to another agency, keeping the deadline; the new agency is told."""
        self._waiting_here(Status.ASSIGNED)
        previous = self.agency_ref()
        if agency.id == previous.id:
            raise SameAgency(agency.id)
        assert self.due_at is not None
        self.set(
            agency=agency.model_dump(),
            assigned_at=now,
            reassigned={"from": previous.id, "to": agency.id, "reason": reason, "by": by, "at": now},
        )
        self.record(self._assigned(agency, now, self.due_at), self.story)

    def redirect(self, kind: RedirectKind, *, reason: str, by: str, now: datetime) -> None:
        """A complaint or denunciation, not a dialogue opinion: to its own procedure; the citizen is told."""
        check_transition(self.current, Status.REDIRECTED)
        if self.came_from:
            raise NotReceivedHere(self.origin_instance)
        self.set(
            status=Status.REDIRECTED.value,
            redirected={"kind": kind.value, "reason": reason, "by": by, "at": now},
        )
        self.record(
            OpinionRedirectedV1(
                opinion_id=self.opinion_id,
                tracking_code=self.tracking_code,
                origin_instance=self.origin_instance,
                kind=kind,
                reason=reason,
                redirected_at=now,
            ),
            self.story,
        )

    # ---- news from the parent ----------------------------------------------------------------------

    def escalated_to(self) -> str | None:
        return (self.escalation or {}).get("to")

    def take_news(self, event: Envelope[Progress], place: Place) -> int:
        """What the parent reports (accepted there, sent further up, answered): kept, passed down to the child
        it came from or turned into news for the citizen here; returns the news' rank (newer wins)."""
        p = event.payload
        story = Story.caused_by(event)
        state = (
            "answered"
            if isinstance(p, EscalationAnsweredV1)
            else ("accepted" if isinstance(p, EscalationAcknowledgedV1) else "forwarded")
        )
        holder: Holder = {"instance": p.holder_instance, "name": p.holder_name, "level": p.holder_level, "state": state}
        if isinstance(p, EscalationAcknowledgedV1):
            holder["agency_name"] = p.agency_name
            self.set(due_at=p.due_at)
        self.set(holder=holder)
        if isinstance(p, EscalationAnsweredV1):
            answer: Answer = {
                "kind": p.kind.value,
                "text": p.text,
                "answered_by": p.answered_by,
                "document_number": p.document_number,
                "answered_at": p.answered_at,
                "on_time": self.due_at is None or p.answered_at <= self.due_at,
                "days": days_between(self.submitted_at, p.answered_at),
                "answering_instance": p.holder_instance,
            }
            self.set(status=Status.ANSWERED.value, answered=answer)
        if self.came_from:
            relayed = p.model_copy(update={"from_instance": place.instance, "to_instance": self.came_from})
            self.record(relayed, story, to=self.came_from)
        else:
            self.record(self._news_for_citizen(p), story)
            if isinstance(p, EscalationAnsweredV1):
                self._tell_cosigners(story)
        return progress_rank(state, p.holder_level)

    def _news_for_citizen(self, p: Progress) -> Any:
        common = {"opinion_id": self.opinion_id, "tracking_code": self.tracking_code}
        if isinstance(p, EscalationAnsweredV1):
            return OpinionAnsweredV1(
                **common,
                kind=p.kind,
                text=p.text,
                answered_by=p.answered_by,
                document_number=p.document_number,
                answered_at=p.answered_at,
                origin_instance=self.origin_instance,
                answering_instance=p.holder_instance,
                answering_name=p.holder_name,
            )
        accepted = isinstance(p, EscalationAcknowledgedV1)
        return OpinionEscalationUpdatedV1(
            **common,
            origin_instance=self.origin_instance,
            state=EscalationState.ACCEPTED if accepted else EscalationState.FORWARDED,
            holder_instance=p.holder_instance,
            holder_name=p.holder_name,
            holder_level=p.holder_level,
            agency_name=p.agency_name if accepted else None,  # type: ignore[union-attr]
            due_at=p.due_at if accepted else None,  # type: ignore[union-attr]
            updated_at=p.acknowledged_at if accepted else p.forwarded_at,  # type: ignore[union-attr]
        )

    # ---- helpers -----------------------------------------------------------------------------------

    def _assigned(
        self, agency: AgencyRef, at: datetime, due: datetime, *, off_topic: bool = False
    ) -> OpinionAssignedV1:
        return OpinionAssignedV1(
            conference_id=self.conference_id,
            off_topic=off_topic,
            origin_instance=self.origin_instance,
            opinion_id=self.opinion_id,
            tracking_code=self.tracking_code,
            field=self.field,
            head=Head(self.head),
            agency=agency,
            channel=self.channel,
            text=self.text,
            submitted_at=self.submitted_at,
            assigned_at=at,
            due_at=due,
        )

    def _progress_fields(self, place: Place, to: str) -> dict[str, Any]:
        return {
            "from_instance": place.instance,
            "to_instance": to,
            "opinion_id": self.opinion_id,
            "tracking_code": self.tracking_code,
        }
