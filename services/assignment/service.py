"""Assignment's use cases: classify, assign or escalate, record answers, pass news down the chain.

An opinion reaches this instance either from a citizen (through intake) or from a child
instance that lacked the authority. Either way the jurisdiction table decides: if this level
has the authority (or there is no level above, or the hop limit is reached) a local agency gets
it with a deadline; otherwise it goes up to the parent. News from above (accepted, sent further
up, answered) is passed down to the child it came from, or, at the instance where the citizen
raised it, turned into internal events so intake and notification tell the citizen.

Every change is one document write carrying its outgoing events (internal ones and link
messages for neighbours) in the outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from services.assignment.classification import RuleTable, looks_like_complaint
from services.assignment.directory import Agency, Directory, NoAgency
from services.assignment.domain import (
    Status,
    TransitionRefused,
    answer_due_at,
    check_transition,
    days_between,
    progress_rank,
)
from services.assignment.jurisdiction import JurisdictionTable
from services.assignment.repository import AssignmentRepository
from shared.deadlines import DayCount
from shared.events import (
    FIELDS,
    HOP_LIMIT,
    AgencyRef,
    AnswerKind,
    Envelope,
    EscalationAcknowledgedV1,
    EscalationAnsweredV1,
    EscalationForwardedV1,
    EscalationRequestedV1,
    EscalationState,
    EventPayload,
    Head,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionDueChangedV1,
    OpinionEscalatedV1,
    OpinionEscalationUpdatedV1,
    OpinionReceivedV1,
    OpinionRedirectedV1,
    RedirectKind,
)
from shared.events.vocabulary import LEVEL_LABELS
from shared.messaging.consumer import TransientError
from shared.messaging.links import LinkRefused
from shared.messaging.publisher import Route
from shared.observability import metrics
from shared.runtime import Runtime
from shared.storage.outbox import OUTBOX, Outgoing, outbox_entries

log = logging.getLogger(__name__)

Progress = EscalationAcknowledgedV1 | EscalationForwardedV1 | EscalationAnsweredV1
# How a new event continues the opinion's story: {"cause": envelope} or {"correlation_id": …}.
Story = dict[str, Any]


class AssignmentService:
    def __init__(
        self,
        runtime: Runtime,
        repository: AssignmentRepository,
        directory: Directory,
        rules: RuleTable,
        jurisdiction: JurisdictionTable,
        *,
        answer_days: int,
        answer_day_count: DayCount = DayCount.CALENDAR,
    ) -> None:
        self.runtime = runtime
        self.repository = repository
        self.directory = directory
        self.rules = rules
        self.jurisdiction = jurisdiction
        self.answer_days = answer_days
        self.answer_day_count = answer_day_count
        settings = runtime.settings
        self.me = settings.instance_id
        self.my_name = settings.instance_name
        self.my_level = settings.level
        self.parent = settings.parent_id
        self.parent_name = settings.parent_name or settings.parent_id
        self.parent_level = settings.parent_level

    # ---- arrivals: from a citizen (through intake) or from a child ----------------------------

    async def assign(self, event: Envelope[OpinionReceivedV1]) -> None:
        """An opinion received at this instance: classify it, then assign it here or escalate it."""
        p = event.payload
        c = self.rules.classify(p.text, field=p.field, head=p.head)
        doc = {
            "_id": p.opinion_id,
            "tracking_code": p.tracking_code,
            "origin_instance": p.origin_instance,
            "correlation_id": event.correlation_id,
            "came_from": None,
            "chain": [],
            "channel": p.channel.value,
            "text": p.text,
            "address": p.location.address if p.location else None,
            "conference_id": p.conference_id,
            "complaint_suspected": looks_like_complaint(p.text),
            "submitted_at": p.submitted_at,
            "field": c.field,
            "head": c.head.value,
            "method": c.method,
            "matched_keywords": list(c.matched_keywords),
        }
        classified = self.runtime.envelope(
            OpinionClassifiedV1(
                opinion_id=p.opinion_id,
                tracking_code=p.tracking_code,
                field=c.field,
                head=c.head,
                method=c.method,
                matched_keywords=list(c.matched_keywords),
            ),
            cause=event,
        )
        outgoing = await self._place(doc, story={"cause": classified})
        await self._store_new(doc, [classified, *outgoing], method=c.method)

    async def accept_escalation(self, event: Envelope[EscalationRequestedV1]) -> None:
        """A child sent up an opinion beyond its authority (already checked to come from that child)."""
        p = event.payload
        doc = {
            "_id": p.opinion_id,
            "tracking_code": p.tracking_code,
            "origin_instance": p.origin_instance,
            "correlation_id": event.correlation_id,
            "came_from": p.from_instance,
            "chain": list(p.chain),
            "channel": p.channel.value,
            "text": p.text,
            "address": p.address,
            "conference_id": None,
            "submitted_at": p.submitted_at,
            "field": p.field,
            "head": p.head.value,
            "method": "escalated",
            "matched_keywords": [],
            "escalation_reason": p.reason,
        }
        metrics.ESCALATIONS.labels(**metrics.base(), direction="received").inc()
        outgoing = await self._place(doc, story={"cause": event})
        await self._store_new(doc, outgoing, method="escalated")

    def _must_escalate(self, field: str, chain: list[str]) -> bool:
        return (
            self.parent is not None
            and not self.jurisdiction.within(self.my_level, field)
            and len(chain) + 1 <= HOP_LIMIT
        )

    async def _place(self, doc: dict[str, Any], *, story: Story) -> list[Outgoing]:
        """Fill `doc` with a local assignment or an escalation; return the events that announce it."""
        if self._must_escalate(doc["field"], doc["chain"]):
            needed = self.jurisdiction.level_for(doc["field"])
            reason = (
                f"Lĩnh vực {FIELDS[doc['field']].name} thuộc thẩm quyền cấp {LEVEL_LABELS[needed]}"
                f" ({needed}); {self.my_name} chuyển lên {self.parent_name}."
            )
            doc["status"] = Status.ESCALATED.value
            return self._escalate(doc, reason=reason, by="jurisdiction", story=story)
        return await self._assign_here(doc, story=story)

    async def _assign_here(self, doc: dict[str, Any], *, story: Story) -> list[Outgoing]:
        try:
            agency = await self.directory.for_field(doc["field"])
        except NoAgency as exc:
            raise TransientError(
                f"no agency handles field {exc.field!r} and none is marked default; fix the directory"
            ) from exc
        now = self.runtime.clock.now()
        # The deadline runs from the moment this level received it: the citizen was told 30 days.
        due = answer_due_at(now if doc["came_from"] else doc["submitted_at"], self.answer_days, self.answer_day_count)
        doc.update(status=Status.ASSIGNED.value, agency=agency.ref().model_dump(), assigned_at=now, due_at=due)
        assigned = self.runtime.envelope(_assigned(doc, agency, now, due), **story)
        outgoing: list[Outgoing] = [assigned]
        if doc["came_from"]:
            ack = EscalationAcknowledgedV1(
                **self._progress_fields(doc, to=doc["came_from"]),
                holder_instance=self.me,
                holder_name=self.my_name,
                holder_level=self.my_level,
                agency_name=agency.name,
                due_at=due,
                acknowledged_at=now,
            )
            outgoing.append(self._to(doc["came_from"], ack, story))
        return outgoing

    def _escalate(self, doc: dict[str, Any], *, reason: str, by: str, story: Story) -> list[Outgoing]:
        assert self.parent is not None and self.parent_level is not None
        now = self.runtime.clock.now()
        doc["escalation"] = {
            "to": self.parent,
            "to_name": self.parent_name,
            "to_level": self.parent_level,
            "reason": reason,
            "by": by,
            "at": now,
        }
        doc["progress"] = 0
        escalated = self.runtime.envelope(
            OpinionEscalatedV1(
                opinion_id=doc["_id"],
                tracking_code=doc["tracking_code"],
                origin_instance=doc["origin_instance"],
                to_instance=self.parent,
                to_name=self.parent_name or self.parent,
                reason=reason,
                by=by,
                escalated_at=now,
            ),
            **story,
        )
        request = EscalationRequestedV1(
            from_instance=self.me,
            to_instance=self.parent,
            opinion_id=doc["_id"],
            tracking_code=doc["tracking_code"],
            origin_instance=doc["origin_instance"],
            chain=[*doc["chain"], self.me],
            field=doc["field"],
            head=Head(doc["head"]),
            channel=doc["channel"],
            text=doc["text"],
            address=doc.get("address"),
            submitted_at=doc["submitted_at"],
            reason=reason,
            requested_at=now,
        )
        outgoing: list[Outgoing] = [escalated, self._to(self.parent, request, story)]
        if doc["came_from"]:
            forwarded = EscalationForwardedV1(
                **self._progress_fields(doc, to=doc["came_from"]),
                holder_instance=self.parent,
                holder_name=self.parent_name or self.parent,
                holder_level=self.parent_level,
                reason=reason,
                forwarded_at=now,
            )
            outgoing.append(self._to(doc["came_from"], forwarded, story))
        metrics.ESCALATIONS.labels(**metrics.base(), direction="sent").inc()
        log.info("opinion %s escalated to %s: %s", doc["tracking_code"], self.parent, reason)
        return outgoing

    def _progress_fields(self, doc: dict[str, Any], *, to: str) -> dict[str, Any]:
        return {
            "from_instance": self.me,
            "to_instance": to,
            "opinion_id": doc["_id"],
            "tracking_code": doc["tracking_code"],
        }

    def _to(self, neighbour: str, payload: EventPayload, story: Story) -> Outgoing:
        return self.runtime.envelope(payload, **story), Route.to_neighbour(neighbour, payload.event_type)

    async def _store_new(self, doc: dict[str, Any], outgoing: list[Outgoing], *, method: str) -> None:
        doc[OUTBOX] = outbox_entries(*outgoing)
        doc["processed"] = []
        stored, created = await self.repository.insert(doc)
        if created:
            labels = metrics.base()
            metrics.OPINIONS_CLASSIFIED.labels(**labels, field=doc["field"], head=doc["head"], method=method).inc()
            if doc["status"] == Status.ASSIGNED:
                seconds = (doc["assigned_at"] - doc["submitted_at"]).total_seconds()
                metrics.RECEIPT_TO_ASSIGNMENT.labels(**labels).observe(seconds)
                log.info("opinion %s: %s → %s", doc["tracking_code"], doc["field"], doc["agency"]["id"])
        else:
            log.info("opinion %s was already placed; finishing what it left to publish", doc["tracking_code"])
        if stored.get(OUTBOX):
            await self.runtime.outbox.flush(self.repository.assignments, stored["_id"], stored[OUTBOX])

    # ---- changes made by people -------------------------------------------------------------

    async def escalate_by_hand(self, doc: dict[str, Any], *, reason: str, by: str) -> dict[str, Any]:
        """An operator sends an assigned opinion up; raises TransitionRefused unless it is assigned."""
        check_transition(Status(doc["status"]), Status.ESCALATED)
        if self.parent is None:
            raise NoParent(self.me)
        if len(doc["chain"]) + 1 > HOP_LIMIT:
            raise HopLimit(doc["chain"])
        changed = dict(doc)
        outgoing = self._escalate(changed, reason=reason, by=f"operator {by}", story=_story(doc))
        changes = {"status": Status.ESCALATED.value, "escalation": changed["escalation"], "progress": 0}
        entries = outbox_entries(*outgoing)
        if not await self.repository.transition(doc["_id"], Status.ASSIGNED, changes, entries):
            raise TransitionRefused(Status(doc["status"]), Status.ESCALATED)
        await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)
        return {**doc, **changes}

    async def answer(
        self,
        doc: dict[str, Any],
        *,
        kind: AnswerKind,
        text: str,
        answered_by: str | None,
        head: Head | None,
        document_number: str | None,
        recorded_by: str,
    ) -> dict[str, Any]:
        """Record this level's answer; raises TransitionRefused unless the opinion is assigned here."""
        if doc["status"] != Status.ASSIGNED:
            raise TransitionRefused(Status(doc["status"]), Status.ANSWERED)
        now = self.runtime.clock.now()
        agency = AgencyRef(**doc["agency"])
        head = head or Head(doc["head"])
        if answered_by is None:
            answered_by = head.label if kind is AnswerKind.ON_THE_SPOT else agency.name
        story = _story(doc)
        answered = self.runtime.envelope(
            OpinionAnsweredV1(
                opinion_id=doc["_id"],
                tracking_code=doc["tracking_code"],
                kind=kind,
                text=text,
                answered_by=answered_by,
                head=head,
                agency=agency,
                document_number=document_number,
                answered_at=now,
                origin_instance=doc["origin_instance"],
                answering_instance=self.me,
                answering_name=self.my_name,
            ),
            **story,
        )
        outgoing: list[Outgoing] = [answered]
        if doc["came_from"]:
            down = EscalationAnsweredV1(
                **self._progress_fields(doc, to=doc["came_from"]),
                holder_instance=self.me,
                holder_name=self.my_name,
                holder_level=self.my_level,
                kind=kind,
                text=text,
                answered_by=answered_by,
                document_number=document_number,
                answered_at=now,
            )
            outgoing.append(self._to(doc["came_from"], down, story))
        answer = {
            "kind": kind.value,
            "text": text,
            "answered_by": answered_by,
            "head": head.value,
            "document_number": document_number,
            "answered_at": now,
            "on_time": now <= doc["due_at"],
            "days": days_between(doc["submitted_at"], now),
            "recorded_by": recorded_by,
        }
        changes = {"status": Status.ANSWERED.value, "answer": answer}
        entries = outbox_entries(*outgoing)
        if not await self.repository.transition(doc["_id"], Status.ASSIGNED, changes, entries):
            raise TransitionRefused(Status.ANSWERED, Status.ANSWERED)
        labels = metrics.base()
        metrics.OPINIONS_ANSWERED.labels(**labels, kind=kind.value).inc()
        metrics.RECEIPT_TO_ANSWER.labels(**labels).observe((now - doc["submitted_at"]).total_seconds())
        await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)
        return {**doc, **changes}

    async def promise(self, doc: dict[str, Any], *, due: datetime | None, off_topic: bool, by: str) -> dict[str, Any]:
        """At the conference: a written answer is promised (or the opinion is off-topic and answered
        separately in writing), by `due` at the latest, which may be sooner than the rule's deadline."""
        if doc["status"] != Status.ASSIGNED:
            raise TransitionRefused(Status(doc["status"]), Status.ASSIGNED)
        now = self.runtime.clock.now()
        rule_due = doc.get("rule_due_at") or doc["due_at"]
        due = due or rule_due
        if due > rule_due:
            raise PromiseRefused("later_than_rule", rule_due)
        if due < now:
            raise PromiseRefused("in_the_past", now)
        reason = "ngoài nội dung hội nghị, trả lời riêng bằng văn bản" if off_topic else "hẹn trả lời bằng văn bản"
        event = self.runtime.envelope(
            OpinionDueChangedV1(
                opinion_id=doc["_id"],
                tracking_code=doc["tracking_code"],
                agency=AgencyRef(**doc["agency"]),
                due_at=due,
                reason=reason,
            ),
            **_story(doc),
        )
        changes = {
            "due_at": due,
            "rule_due_at": rule_due,
            "promise": {"off_topic": off_topic, "due_at": due, "by": by, "at": now},
        }
        entries = outbox_entries(event)
        if not await self.repository.transition(doc["_id"], Status.ASSIGNED, changes, entries):
            raise TransitionRefused(Status(doc["status"]), Status.ASSIGNED)
        await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)
        return {**doc, **changes}

    async def reassign(self, doc: dict[str, Any], *, agency_id: str, reason: str, by: str) -> dict[str, Any]:
        """Give an opinion waiting for an answer to another agency; same deadline, the new agency is told."""
        if doc["status"] != Status.ASSIGNED:
            raise TransitionRefused(Status(doc["status"]), Status.ASSIGNED)
        agency = next((a for a in await self.directory.all() if a.id == agency_id), None)
        if agency is None:
            raise UnknownAgency(agency_id)
        if agency.id == doc["agency"]["id"]:
            raise SameAgency(agency_id)
        now = self.runtime.clock.now()
        assigned = self.runtime.envelope(_assigned(doc, agency, now, doc["due_at"]), **_story(doc))
        changes = {
            "agency": agency.ref().model_dump(),
            "assigned_at": now,
            "reassigned": {"from": doc["agency"]["id"], "to": agency.id, "reason": reason, "by": by, "at": now},
        }
        entries = outbox_entries(assigned)
        if not await self.repository.transition(doc["_id"], Status.ASSIGNED, changes, entries):
            raise TransitionRefused(Status(doc["status"]), Status.ASSIGNED)
        await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)
        return {**doc, **changes}

    async def redirect(self, doc: dict[str, Any], *, kind: RedirectKind, reason: str, by: str) -> dict[str, Any]:
        """A complaint or denunciation, not a dialogue opinion: off to its own procedure, told to the citizen."""
        check_transition(Status(doc["status"]), Status.REDIRECTED)
        if doc["came_from"]:
            raise NotReceivedHere(doc["origin_instance"])
        now = self.runtime.clock.now()
        event = self.runtime.envelope(
            OpinionRedirectedV1(
                opinion_id=doc["_id"],
                tracking_code=doc["tracking_code"],
                origin_instance=doc["origin_instance"],
                kind=kind,
                reason=reason,
                redirected_at=now,
            ),
            **_story(doc),
        )
        changes = {
            "status": Status.REDIRECTED.value,
            "redirect": {"kind": kind.value, "reason": reason, "by": by, "at": now},
        }
        entries = outbox_entries(event)
        if not await self.repository.transition(doc["_id"], Status.ASSIGNED, changes, entries):
            raise TransitionRefused(Status(doc["status"]), Status.REDIRECTED)
        await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)
        return {**doc, **changes}

    # ---- news from the parent ---------------------------------------------------------------

    async def on_progress(self, event: Envelope[Progress]) -> None:
        """The parent reports on an opinion this instance escalated: pass it down, or tell the citizen."""
        p = event.payload
        doc = await self.repository.get(p.opinion_id)
        if doc is not None and str(event.event_id) in doc.get("processed", []):
            return
        escalation = (doc or {}).get("escalation") or {}
        if doc is None or escalation.get("to") != p.from_instance:
            raise LinkRefused(
                "unknown_opinion", f"{p.from_instance!r} reports on {p.opinion_id}, which was not escalated to it"
            )
        state = (
            "answered"
            if isinstance(p, EscalationAnsweredV1)
            else ("accepted" if isinstance(p, EscalationAcknowledgedV1) else "forwarded")
        )
        holder = {"instance": p.holder_instance, "name": p.holder_name, "level": p.holder_level, "state": state}
        changes: dict[str, Any] = {"holder": holder}
        if isinstance(p, EscalationAcknowledgedV1):
            holder["agency_name"] = p.agency_name
            changes["due_at"] = p.due_at
        if isinstance(p, EscalationAnsweredV1):
            due = doc.get("due_at")
            changes["status"] = Status.ANSWERED.value
            changes["answer"] = {
                "kind": p.kind.value,
                "text": p.text,
                "answered_by": p.answered_by,
                "document_number": p.document_number,
                "answered_at": p.answered_at,
                "on_time": due is None or p.answered_at <= due,
                "days": days_between(doc["submitted_at"], p.answered_at),
                "answering_instance": p.holder_instance,
            }
        if doc["came_from"]:
            relayed = p.model_copy(update={"from_instance": self.me, "to_instance": doc["came_from"]})
            outgoing: list[Outgoing] = [self._to(doc["came_from"], relayed, {"cause": event})]
        else:
            outgoing = [self._news_for_citizen(doc, p, event)]
        entries = outbox_entries(*outgoing)
        rank = progress_rank(state, p.holder_level)
        if await self.repository.apply_progress(doc["_id"], str(event.event_id), rank, changes, entries):
            if isinstance(p, EscalationAcknowledgedV1):
                metrics.ESCALATIONS.labels(**metrics.base(), direction="acknowledged").inc()
            log.info("opinion %s: %s at %s", doc["tracking_code"], state, p.holder_instance)
            await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)

    def _news_for_citizen(self, doc: dict[str, Any], p: Progress, cause: Envelope[Any]) -> Envelope[Any]:
        common = {"opinion_id": doc["_id"], "tracking_code": doc["tracking_code"]}
        if isinstance(p, EscalationAnsweredV1):
            return self.runtime.envelope(
                OpinionAnsweredV1(
                    **common,
                    kind=p.kind,
                    text=p.text,
                    answered_by=p.answered_by,
                    document_number=p.document_number,
                    answered_at=p.answered_at,
                    origin_instance=doc["origin_instance"],
                    answering_instance=p.holder_instance,
                    answering_name=p.holder_name,
                ),
                cause=cause,
            )
        accepted = isinstance(p, EscalationAcknowledgedV1)
        return self.runtime.envelope(
            OpinionEscalationUpdatedV1(
                **common,
                origin_instance=doc["origin_instance"],
                state=EscalationState.ACCEPTED if accepted else EscalationState.FORWARDED,
                holder_instance=p.holder_instance,
                holder_name=p.holder_name,
                holder_level=p.holder_level,
                agency_name=p.agency_name if accepted else None,  # type: ignore[union-attr]
                due_at=p.due_at if accepted else None,  # type: ignore[union-attr]
                updated_at=p.acknowledged_at if accepted else p.forwarded_at,  # type: ignore[union-attr]
            ),
            cause=cause,
        )


def _assigned(doc: dict[str, Any], agency: Agency, at: datetime, due: datetime) -> OpinionAssignedV1:
    return OpinionAssignedV1(
        opinion_id=doc["_id"],
        tracking_code=doc["tracking_code"],
        field=doc["field"],
        head=Head(doc["head"]),
        agency=agency.ref(),
        channel=doc["channel"],
        text=doc["text"],
        submitted_at=doc["submitted_at"],
        assigned_at=at,
        due_at=due,
    )


def _story(doc: dict[str, Any]) -> Story:
    """A change made by a person, not caused by an event, still continues the opinion's story."""
    return {"correlation_id": doc["correlation_id"]}


class NoParent(Exception):
    pass


class NotReceivedHere(Exception):
    pass


class UnknownAgency(Exception):
    pass


class SameAgency(Exception):
    pass


class PromiseRefused(Exception):
    def __init__(self, reason: str, limit: datetime) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class HopLimit(Exception):
    pass
