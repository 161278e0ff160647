"""Assignment's use cases: classify and assign a received opinion; record its answer."""

from __future__ import annotations

import logging
from typing import Any

from services.assignment.classification import RuleTable
from services.assignment.directory import Directory, NoAgency
from services.assignment.domain import Status, TransitionRefused, answer_due_at, check_transition
from services.assignment.repository import AssignmentRepository
from shared.events import (
    AgencyRef,
    AnswerKind,
    Envelope,
    Head,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionClassifiedV1,
    OpinionReceivedV1,
)
from shared.messaging.consumer import TransientError
from shared.observability import metrics
from shared.runtime import Runtime
from shared.storage.outbox import OUTBOX, outbox_entries

log = logging.getLogger(__name__)


class AssignmentService:
    def __init__(
        self,
        runtime: Runtime,
        repository: AssignmentRepository,
        directory: Directory,
        rules: RuleTable,
        *,
        answer_days: int,
    ) -> None:
        self.runtime = runtime
        self.repository = repository
        self.directory = directory
        self.rules = rules
        self.answer_days = answer_days

    async def assign(self, event: Envelope[OpinionReceivedV1]) -> None:
        p = event.payload
        c = self.rules.classify(p.text, field=p.field, head=p.head)
        try:
            agency = await self.directory.for_field(c.field)
        except NoAgency as exc:
            raise TransientError(
                f"no agency handles field {exc.field!r} and none is marked default; fix the directory"
            ) from exc
        now = self.runtime.clock.now()
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
        assigned = self.runtime.envelope(
            OpinionAssignedV1(
                opinion_id=p.opinion_id,
                tracking_code=p.tracking_code,
                field=c.field,
                head=c.head,
                agency=agency.ref(),
                channel=p.channel,
                text=p.text,
                submitted_at=p.submitted_at,
                assigned_at=now,
                due_at=answer_due_at(p.submitted_at, self.answer_days),
            ),
            cause=classified,
        )
        doc, created = await self.repository.insert(
            {
                "_id": p.opinion_id,
                "tracking_code": p.tracking_code,
                "origin_instance": p.origin_instance,
                "correlation_id": event.correlation_id,
                "channel": p.channel.value,
                "text": p.text,
                "submitted_at": p.submitted_at,
                "field": c.field,
                "head": c.head.value,
                "method": c.method,
                "matched_keywords": list(c.matched_keywords),
                "agency": agency.ref().model_dump(),
                "assigned_at": now,
                "due_at": assigned.payload.due_at,
                "status": Status.ASSIGNED.value,
                OUTBOX: outbox_entries(classified, assigned),
            }
        )
        if created:
            labels = metrics.base()
            metrics.OPINIONS_CLASSIFIED.labels(**labels, field=c.field, head=c.head.value, method=c.method).inc()
            metrics.RECEIPT_TO_ASSIGNMENT.labels(**labels).observe((now - p.submitted_at).total_seconds())
            log.info("opinion %s: %s → %s", p.tracking_code, c.field, agency.id)
        else:
            log.info("opinion %s was already assigned; finishing what it left to publish", p.tracking_code)
        if doc.get(OUTBOX):
            await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], doc[OUTBOX])

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
        """Record the answer and emit `opinion.answered.v1`; raises TransitionRefused if answered."""
        check_transition(Status(doc["status"]), Status.ANSWERED)
        now = self.runtime.clock.now()
        agency = AgencyRef(**doc["agency"])
        head = head or Head(doc["head"])
        if answered_by is None:
            answered_by = head.label if kind is AnswerKind.ON_THE_SPOT else agency.name
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
            ),
            correlation_id=doc["correlation_id"],
        )
        answer = {
            "kind": kind.value,
            "text": text,
            "answered_by": answered_by,
            "head": head.value,
            "document_number": document_number,
            "answered_at": now,
            "recorded_by": recorded_by,
        }
        entries = outbox_entries(answered)
        if not await self.repository.record_answer(doc["_id"], answer, entries):
            raise TransitionRefused(Status.ANSWERED, Status.ANSWERED)
        labels = metrics.base()
        metrics.OPINIONS_ANSWERED.labels(**labels, kind=kind.value).inc()
        metrics.RECEIPT_TO_ANSWER.labels(**labels).observe((now - doc["submitted_at"]).total_seconds())
        await self.runtime.outbox.flush(self.repository.assignments, doc["_id"], entries)
        return {**doc, "status": Status.ANSWERED.value, "answer": answer}
